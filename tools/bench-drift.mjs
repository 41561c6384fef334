// Drift benchmark: `node tools/bench-drift.mjs` (after npm run build; needs the .venv from
// tools/python-venv.sh for scipy). 10 features × 100 000 rows a side, 3 of them shifted, the
// same float64 data for both: scipy.stats.ks_2samp(method='auto') per feature against our
// ksTwoSample with the reference presorted (as set_drift_reference stores it) and the current
// side sorted once (counted). Prints both timings (median of 5 runs) and the largest p-value
// difference.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ksTwoSample } from '../dist/monitoring/ks.js';

const root = path.resolve(import.meta.dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-drift-'));
const N = Number(process.env.ROWS ?? 100_000);
const FEATURES = 10;
const RUNS = 5;

const python = execFileSync('bash', [path.join(root, 'tools/python-venv.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
const script = `
import json, sys, time
import numpy as np, scipy
from scipy.stats import ks_2samp
n, k, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(20261123)
ref = rng.normal(size=(k, n)); cur = rng.normal(size=(k, n))
cur[0] += 0.05; cur[3] *= 1.1; cur[7] += 0.02
ref.tofile(out + '/ref.f64'); cur.tofile(out + '/cur.f64')
times, ps = [], None
for _ in range(${RUNS}):
    t = time.perf_counter()
    res = [ks_2samp(ref[i], cur[i], method='auto') for i in range(k)]
    times.append(time.perf_counter() - t)
    ps = [float(r.pvalue) for r in res]
print(json.dumps({'scipy': scipy.__version__, 'times': times, 'p': ps}))
`;
process.stderr.write(`bench-drift: scipy on ${FEATURES} features × ${N} rows a side …\n`);
const py = JSON.parse(execFileSync(python, ['-c', script, String(N), String(FEATURES), dir], { encoding: 'utf8', maxBuffer: 1 << 20 }));

const read = (file) => {
  const buf = fs.readFileSync(path.join(dir, file));
  return new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
};
const ref = read('ref.f64');
const cur = read('cur.f64');
const column = (all, i) => all.subarray(i * N, (i + 1) * N);
const refSorted = Array.from({ length: FEATURES }, (_, i) => Float64Array.from(column(ref, i)).sort());

process.stderr.write('bench-drift: mlops-mcp …\n');
const times = [];
let ours = [];
for (let r = 0; r < RUNS + 1; r++) {
  const t = performance.now();
  ours = Array.from({ length: FEATURES }, (_, i) => {
    const curSorted = Float64Array.from(column(cur, i)).sort();
    return ksTwoSample(refSorted[i], curSorted, { method: 'auto', presorted: true }).pValue;
  });
  if (r > 0) times.push((performance.now() - t) / 1000); // the first run warms the JIT
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const worstAbs = Math.max(...ours.map((p, i) => Math.abs(p - py.p[i])));
const worstRel = Math.max(...ours.map((p, i) => (py.p[i] > 0 ? Math.abs(p - py.p[i]) / py.p[i] : p === 0 ? 0 : Infinity)));
const result = {
  rows_per_side: N,
  features: FEATURES,
  scipy_version: py.scipy,
  scipy_s: med(py.times),
  ours_s: med(times),
  speedup: med(py.times) / med(times),
  worst_abs_p_diff: worstAbs,
  worst_rel_p_diff: worstRel,
  p_values: ours,
};
console.log(`KS, ${FEATURES} features × ${N} rows a side (median of ${RUNS}):`);
console.log(`  scipy ${py.scipy} ks_2samp(method='auto'):   ${(result.scipy_s * 1000).toFixed(0)} ms`);
console.log(`  mlops-mcp ksTwoSample (current sorted):  ${(result.ours_s * 1000).toFixed(0)} ms   → ${result.speedup.toFixed(1)}× faster`);
console.log(`  largest p-value difference: ${worstAbs.toExponential(2)} absolute, ${worstRel.toExponential(2)} relative`);
console.log(JSON.stringify({ drift_bench: result }));
fs.rmSync(dir, { recursive: true, force: true });
