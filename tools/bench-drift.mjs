// Drift benchmark: `npm run bench:drift` (builds, makes the .venv of tools/python-venv.sh with
// scipy and pandas, then runs this). Two parts, in one run on the same machine:
//
// 1. The KS kernel: 10 features × 100 000 float64 values a side, 3 shifted, the same values for
//    both: scipy.stats.ks_2samp(method='auto') per feature against ksTwoSample with the reference
//    presorted (as set_drift_reference stores it) and the current side sorted once (counted;
//    sortedCopy, as compareFeature sorts).
// 2. End to end: nba_points' 10 features (+ the target column) as CSV files of ROWS rows (a
//    reference and a current file, 3 features shifted), written to a temp dir. On our side the
//    tool calls over stdio to `serve --stdio --demo` (set_drift_reference from the reference CSV;
//    detect_drift on the current CSV; detect_drift over the last 100 000 logged predictions);
//    beside it, what an ML engineer runs instead: pandas.read_csv of both files plus
//    scipy.stats.ks_2samp × 10, in a Python process that stays up, its runs interleaved with
//    ours. Also: predict p99 over stdio while the largest check runs, and the server's peak RSS.
//
// Each size gets a fresh server; one untimed round on the smallest files comes first on both
// sides (threads started, loops compiled, pandas' parser loaded), its times printed apart.
//
// Options (environment): SIZES=100000,1000000 (rows per file), RUNS=5 (timed runs per size; 1M
// uses max(1, RUNS-2)), DECIMALS=6 (digits after the point in the CSV; `repr` writes shortest
// round-trip floats, ~17 digits), KERNEL=0 skips part 1, SIZES= (empty) skips part 2. Data files go to a temp dir, removed at
// the end. Prints tables, then one JSON line with every number.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { ksTwoSample } from '../dist/monitoring/statistics/ks/two-sample.js';
import { sortedCopy } from '../dist/monitoring/sort.js';
import { CLI, ROOT, callOk, cpuTicks, killChildren, memoryOf, median, progress, round, stdioClient, summarize, table, trackPid } from './bench/lib.mjs';

const SIZES = (process.env.SIZES ?? '100000,1000000').split(',').filter(Boolean).map(Number);
const RUNS = Number(process.env.RUNS ?? 5);
const DECIMALS = process.env.DECIMALS ?? '6';
const FEATURES = [
  'is_home',
  'days_rest',
  'season_avg_points',
  'season_avg_rebounds',
  'season_avg_assists',
  'last5_avg_points',
  'last5_avg_rebounds',
  'last5_avg_assists',
  'minutes_avg',
  'opponent_def_rating',
];
const LOG_ROWS = 100_000;
/** predict over stdio: the bench's p99 limit (tools/bench, docs/performance.md). */
const PREDICT_P99_LIMIT_MS = 3;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-drift-'));
const cleanup = () => {
  killChildren();
  fs.rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const python = execFileSync('bash', [path.join(ROOT, 'tools/python-venv.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
const med = (a) => median(a);
const ms = (s) => s * 1000;

// ---------------------------------------------------------------- 1. the KS kernel

function kernel() {
  const N = 100_000;
  const K = 10;
  const runs = 5;
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
for _ in range(${runs}):
    t = time.perf_counter()
    res = [ks_2samp(ref[i], cur[i], method='auto') for i in range(k)]
    times.append(time.perf_counter() - t)
    ps = [float(r.pvalue) for r in res]
print(json.dumps({'scipy': scipy.__version__, 'times': times, 'p': ps}))
`;
  const bar = progress(`KS kernel, ${K} features × ${N} rows a side`);
  const py = JSON.parse(execFileSync(python, ['-c', script, String(N), String(K), dir], { encoding: 'utf8', maxBuffer: 1 << 20, killSignal: 'SIGKILL' }));
  const read = (file) => {
    const buf = fs.readFileSync(path.join(dir, file));
    return new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
  };
  const ref = read('ref.f64');
  const cur = read('cur.f64');
  const column = (all, i) => all.subarray(i * N, (i + 1) * N);
  const refSorted = Array.from({ length: K }, (_, i) => sortedCopy(column(ref, i)));
  const times = [];
  let ours = [];
  for (let r = 0; r < runs + 1; r++) {
    const t = performance.now();
    ours = Array.from({ length: K }, (_, i) => {
      const curSorted = sortedCopy(column(cur, i)); // as compareFeature sorts
      return ksTwoSample(refSorted[i], curSorted, { method: 'auto', presorted: true }).pValue;
    });
    if (r > 0) times.push((performance.now() - t) / 1000); // the first run warms the JIT
  }
  bar.done();
  return { scipy_version: py.scipy, scipy_ms: ms(med(py.times)), ours_ms: ms(med(times)), ...pDiff(ours, py.p) };
}

/** Largest absolute and relative difference between our p-values and scipy's. */
function pDiff(ours, theirs) {
  return {
    worst_abs_p_diff: Math.max(...ours.map((p, i) => Math.abs(p - theirs[i]))),
    worst_rel_p_diff: Math.max(...ours.map((p, i) => (theirs[i] > 0 ? Math.abs(p - theirs[i]) / theirs[i] : p === 0 ? 0 : Infinity))),
  };
}

// ---------------------------------------------------------------- 2. end to end

/** A deterministic generator (xorshift) of nba_points-like rows; `shifted` moves 3 features. */
function writeCsv(file, rows, seed, shifted) {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const num = DECIMALS === 'repr' ? (x) => String(x) : (x) => x.toFixed(Number(DECIMALS));
  const fd = fs.openSync(file, 'w');
  let chunk = `${FEATURES.join(',')},points\n`;
  for (let i = 0; i < rows; i++) {
    const season = 12 + 6 * normal() + (shifted ? 0.6 : 0);
    const row = [
      uniform() < 0.5 ? 1 : 0,
      Math.floor(uniform() * 5),
      num(season),
      num(4.5 + 2 * normal()),
      num(2.8 + 1.5 * normal()),
      num(season + 4 * normal() + (shifted ? 0.3 : 0)),
      num(4.5 + 2.5 * normal()),
      num(2.8 + 1.8 * normal()),
      num(24 + 8 * normal()),
      num(112 + 3 * (shifted ? 1.1 : 1) * normal()),
      Math.max(0, Math.round(season + 5 * normal())),
    ];
    chunk += `${row.join(',')}\n`;
    if (chunk.length > 1 << 20) {
      fs.writeSync(fd, chunk);
      chunk = '';
    }
  }
  fs.writeSync(fd, chunk);
  fs.closeSync(fd);
  return fs.statSync(file).size;
}

/** pandas + scipy in one Python process that stays up: one line in ("ref cur"), one JSON line out per run. */
function startPandas() {
  const script = `
import json, sys, time
import pandas as pd, scipy
from scipy.stats import ks_2samp
features = ${JSON.stringify(FEATURES)}
print(json.dumps({'pandas': pd.__version__, 'scipy': scipy.__version__}), flush=True)
for line in sys.stdin:
    ref_path, cur_path = line.split()
    t0 = time.perf_counter(); c0 = time.process_time()
    ref = pd.read_csv(ref_path); cur = pd.read_csv(cur_path)
    t1 = time.perf_counter()
    res = [ks_2samp(ref[f].to_numpy(), cur[f].to_numpy(), method='auto') for f in features]
    t2 = time.perf_counter()
    print(json.dumps({'read_s': t1 - t0, 'ks_s': t2 - t1, 'total_s': t2 - t0, 'cpu_s': time.process_time() - c0, 'p': [float(r.pvalue) for r in res]}), flush=True)
`;
  const child = spawn(python, ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  trackPid(child.pid); // killed at exit with the servers
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value);
  return {
    versions: next(),
    async run(ref, cur) {
      child.stdin.write(`${ref} ${cur}\n`);
      return next();
    },
    close() {
      child.stdin.end();
    },
  };
}

/** A call's wall time, and the CPU time of process `pid` meanwhile (all its threads; /proc, 10 ms ticks). */
async function timed(fn, pid) {
  const ticks = cpuTicks(pid);
  const t = performance.now();
  const out = await fn();
  return { ms: performance.now() - t, cpuMs: (cpuTicks(pid) - ticks) * 10, out };
}

/** The reference and current CSV files of `rows` rows (written once per run of the bench). */
function csvFiles(rows) {
  const ref = path.join(dir, `reference-${rows}.csv`);
  const cur = path.join(dir, `current-${rows}.csv`);
  if (!fs.existsSync(cur)) {
    const bar = progress(`writing the CSV files of ${rows.toLocaleString('en-US')} rows`);
    writeCsv(ref, rows, 20261201, false);
    writeCsv(cur, rows, 20261202, true);
    bar.done(`(${(fs.statSync(ref).size / 1e6).toFixed(1)} MB each)`);
  }
  return { ref, cur, bytes: fs.statSync(ref).size };
}

async function endToEnd(rows, pandas) {
  const runs = rows >= 1_000_000 ? Math.max(1, RUNS - 2) : RUNS;
  const { ref, cur, bytes } = csvFiles(rows);
  const small = csvFiles(Math.min(...SIZES));

  const home = fs.mkdtempSync(path.join(dir, 'home-'));
  const env = { ...process.env, MLOPS_MCP_HOME: home, MLOPS_MCP_ALLOWED_DIRS: dir, LOG_LEVEL: 'warn' };
  const server = await stdioClient(CLI, ['serve', '--stdio', '--demo'], env);
  const { client } = server;
  const out = {
    rows,
    csv_mb: round(bytes / 1e6, 1),
    runs,
    pandas: [],
    set_reference_ms: [],
    set_reference_cpu_ms: [],
    detect_csv_ms: [],
    detect_csv_cpu_ms: [],
    detect_log_ms: [],
    detect_log_cpu_ms: [],
  };
  try {
    // A fresh server's first calls start its drift threads and compile their loops; Python's
    // first read_csv loads pandas' parser. One untimed round on the smallest files for both sides,
    // the first calls' times kept apart.
    const first = { pandas_ms: ms((await pandas.run(small.ref, small.cur)).total_s) };
    first.set_reference_ms = (await timed(() => callOk(client, 'set_drift_reference', { name: 'nba_points', csv_path: small.ref }), server.pid)).ms;
    first.detect_csv_ms = (await timed(() => callOk(client, 'detect_drift', { name: 'nba_points', csv_path: small.cur }), server.pid)).ms;
    out.first_calls = { rows: Math.min(...SIZES), ...first };
    const b = progress(`end to end, ${rows} rows: ${runs} interleaved runs of pandas + scipy and of the tools`);
    let ours = null;
    let theirs = null;
    for (let r = 0; r < runs; r++) {
      const py = await pandas.run(ref, cur);
      out.pandas.push({ read_ms: ms(py.read_s), ks_ms: ms(py.ks_s), total_ms: ms(py.total_s), cpu_ms: ms(py.cpu_s) });
      theirs = py.p;
      const set = await timed(() => callOk(client, 'set_drift_reference', { name: 'nba_points', csv_path: ref }), server.pid);
      if (set.out.rows !== rows) throw new Error(`set_drift_reference read ${set.out.rows} rows, not ${rows}`);
      out.set_reference_ms.push(set.ms);
      out.set_reference_cpu_ms.push(set.cpuMs);
      const det = await timed(() => callOk(client, 'detect_drift', { name: 'nba_points', csv_path: cur }), server.pid);
      out.detect_csv_ms.push(det.ms);
      out.detect_csv_cpu_ms.push(det.cpuMs);
      ours = FEATURES.map((f) => det.out.features.find((x) => x.feature === f).p_value);
      b.update(r + 1, runs);
    }
    b.done();
    Object.assign(out, pDiff(ours, theirs));

    if (rows === Math.max(...SIZES)) out.predict_during_check = await predictDuringCheck(client, cur);
    if (rows === SIZES[0]) Object.assign(out, await logWindow(client, server.pid, cur, runs));
    out.server_peak_rss_mib = memoryOf(server.pid).peakMiB;
  } finally {
    await server.close();
  }
  return out;
}

/** Logs LOG_ROWS predictions (batch_predict of the current CSV's rows), then times detect_drift over the last LOG_ROWS. */
async function logWindow(client, pid, cur, runs) {
  const bar = progress(`detect_drift over the last ${LOG_ROWS} logged predictions`);
  const lines = fs
    .readFileSync(cur, 'utf8')
    .split('\n')
    .slice(1, LOG_ROWS + 1);
  for (let i = 0; i < lines.length; i += 10_000) {
    const rows = lines.slice(i, i + 10_000).map((l) => l.split(',').slice(0, FEATURES.length).map(Number));
    await callOk(client, 'batch_predict', { name: 'nba_points', rows });
  }
  const times = [];
  const cpu = [];
  for (let r = 0; r < runs; r++) {
    const det = await timed(() => callOk(client, 'detect_drift', { name: 'nba_points', window: { last_n: LOG_ROWS } }), pid);
    if (det.out.features[0].n_cur !== LOG_ROWS) throw new Error(`the window held ${det.out.features[0].n_cur} predictions, not ${LOG_ROWS}`);
    times.push(det.ms);
    cpu.push(det.cpuMs);
  }
  bar.done();
  return { detect_log_ms: times, detect_log_cpu_ms: cpu };
}

/** predict over stdio, sequentially, alone and then while a detect_drift on `cur` runs: latencies of each. */
async function predictDuringCheck(client, cur) {
  const bar = progress('predict while the largest check runs');
  const features = Object.fromEntries(FEATURES.map((f, i) => [f, [1, 2, 14.2, 4.1, 3.3, 15.5, 4.8, 2.2, 27.3, 111.4][i]]));
  const predict = () => callOk(client, 'predict', { name: 'nba_points', features });
  for (let i = 0; i < 5000; i++) await predict(); // warm-up (tools/bench: V8 settles after 3 000–4 000 calls)
  const alone = [];
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    await predict();
    alone.push(performance.now() - t);
  }
  const during = [];
  let done = false;
  const started = performance.now();
  const check = callOk(client, 'detect_drift', { name: 'nba_points', csv_path: cur }).finally(() => (done = true));
  while (!done) {
    const t = performance.now();
    await predict();
    during.push(performance.now() - t);
  }
  await check;
  const checkMs = performance.now() - started;
  bar.done();
  const a = summarize(alone);
  const d = summarize(during);
  return { check_ms: checkMs, alone: { n: a.n, p50: a.p50, p99: a.p99, max: a.max }, during: { n: d.n, p50: d.p50, p99: d.p99, max: d.max } };
}

// ---------------------------------------------------------------- run and print

const result = { node: process.version, cpus: os.cpus().length, load_at_start: os.loadavg().map((x) => round(x, 2)), decimals: DECIMALS };
if (process.env.KERNEL !== '0') result.kernel = kernel();
result.end_to_end = [];
if (SIZES.length) {
  const pandas = startPandas();
  result.versions = await pandas.versions;
  for (const rows of SIZES) result.end_to_end.push(await endToEnd(rows, pandas));
  pandas.close();
}
result.load_at_end = os.loadavg().map((x) => round(x, 2));

const lines = [
  `node ${result.node} · ${result.cpus} CPUs · pandas ${result.versions?.pandas ?? '–'} · scipy ${result.versions?.scipy ?? result.kernel?.scipy_version} · CSV numbers with ${DECIMALS} decimals · load average at start ${result.load_at_start.join(' ')}, at end ${result.load_at_end.join(' ')}`,
];
if (result.kernel) {
  const k = result.kernel;
  lines.push(
    table(
      '1. KS kernel, 10 features × 100 000 rows a side (median of 5)',
      ['what', 'ms', '× scipy'],
      [
        [`scipy ${k.scipy_version} ks_2samp(method='auto')`, k.scipy_ms, 1],
        ['mlops-mcp ksTwoSample (current side sorted)', k.ours_ms, k.scipy_ms / k.ours_ms],
      ],
    ),
    `largest p-value difference: ${k.worst_abs_p_diff.toExponential(2)} absolute, ${k.worst_rel_p_diff.toExponential(2)} relative`,
  );
}
const rowsOut = [];
for (const e of result.end_to_end) {
  const pandasMs = med(e.pandas.map((p) => p.total_ms));
  const det = med(e.detect_csv_ms);
  e.pandas_median_ms = pandasMs;
  e.detect_csv_median_ms = det;
  e.set_reference_median_ms = med(e.set_reference_ms);
  e.ratio = pandasMs / det;
  const n = e.rows.toLocaleString('en-US');
  const runsOf = (a) => a.map((x) => x.toFixed(0)).join(' ');
  rowsOut.push([
    `pandas.read_csv × 2 + ks_2samp × 10, ${n} rows`,
    pandasMs,
    med(e.pandas.map((p) => p.cpu_ms)),
    `read ${med(e.pandas.map((p) => p.read_ms)).toFixed(0)} + KS ${med(e.pandas.map((p) => p.ks_ms)).toFixed(0)}`,
    runsOf(e.pandas.map((p) => p.total_ms)),
  ]);
  rowsOut.push([`detect_drift csv_path, ${n} rows`, det, med(e.detect_csv_cpu_ms), `pandas + scipy / this: ${e.ratio.toFixed(2)}×`, runsOf(e.detect_csv_ms)]);
  rowsOut.push([`set_drift_reference csv_path, ${n} rows`, e.set_reference_median_ms, med(e.set_reference_cpu_ms), '', runsOf(e.set_reference_ms)]);
  if (e.detect_log_ms?.length) {
    e.detect_log_median_ms = med(e.detect_log_ms);
    rowsOut.push([
      `detect_drift window last_n ${LOG_ROWS.toLocaleString('en-US')}`,
      e.detect_log_median_ms,
      med(e.detect_log_cpu_ms),
      '',
      runsOf(e.detect_log_ms),
    ]);
  }
}
if (rowsOut.length) {
  lines.push(
    table(
      '2. End to end: tool calls over stdio (median of the runs) beside pandas + scipy on the same files, interleaved; CPU: the whole process, all threads',
      ['what', 'median ms', 'CPU ms', 'note', 'runs ms'],
      rowsOut,
    ),
  );
}
for (const e of result.end_to_end) {
  lines.push(
    `${e.rows.toLocaleString('en-US')} rows (${e.csv_mb} MB a file): p-values against scipy's: ${e.worst_abs_p_diff.toExponential(2)} absolute, ${e.worst_rel_p_diff.toExponential(2)} relative; server peak RSS ${e.server_peak_rss_mib} MiB`,
  );
  const f = e.first_calls;
  lines.push(
    `  untimed first round (${f.rows.toLocaleString('en-US')} rows) on this fresh server: set_drift_reference ${f.set_reference_ms.toFixed(0)} ms, detect_drift ${f.detect_csv_ms.toFixed(0)} ms; pandas + scipy ${f.pandas_ms.toFixed(0)} ms`,
  );
  if (e.predict_during_check) {
    const p = e.predict_during_check;
    lines.push(
      `predict over stdio while detect_drift on ${e.rows.toLocaleString('en-US')} rows ran (${p.check_ms.toFixed(0)} ms): ${p.during.n} calls, p50 ${p.during.p50.toFixed(3)} ms, p99 ${p.during.p99.toFixed(2)} ms, max ${p.during.max.toFixed(1)} ms (alone: p50 ${p.alone.p50.toFixed(3)}, p99 ${p.alone.p99.toFixed(2)}); limit p99 < ${PREDICT_P99_LIMIT_MS} ms: ${p.during.p99 < PREDICT_P99_LIMIT_MS ? 'PASS' : 'FAIL'}`,
    );
  }
}
console.log(lines.join('\n'));
console.log(JSON.stringify({ drift_bench: result }));
