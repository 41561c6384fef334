// REST side by side: `node tools/bench-rest.mjs` (after npm run build and
// `bash tools/mlflow-server.sh venv`). Saves fixtures/nba_points_v1.onnx as an MLflow ONNX model,
// starts `mlflow models serve` (--env-manager local) and our `serve --http --demo` on the same
// model, and drives both with the same keep-alive node:http client in one run: single-row
// latency p50/p99 (sequential), requests/s and p50/p99 with 8 concurrent clients, and rows/s
// for 1 000-row requests. Prediction logging and metrics stay on: the real path.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rest-'));
const SECONDS = Number(process.env.SECONDS_PER_TEST ?? 8);
const children = [];
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

const mlflowPython = execFileSync('bash', [path.join(root, 'tools/mlflow-server.sh'), 'python'], { encoding: 'utf8' }).trim();
const mlflowBin = path.join(path.dirname(mlflowPython), 'mlflow');
execFileSync(mlflowPython, ['-c', 'import sys, mlflow, onnx; mlflow.onnx.save_model(onnx.load(sys.argv[1]), sys.argv[2])', path.join(root, 'fixtures/nba_points_v1.onnx'), path.join(dir, 'model')], {
  stdio: 'inherit',
  env: { ...process.env, GIT_PYTHON_REFRESH: 'quiet' },
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function request(port, route, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port, path: route, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let out = '';
      res.on('data', (d) => (out += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(out) : reject(new Error(`${res.statusCode} ${out.slice(0, 200)}`))));
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function waitFor(port, route) {
  for (let i = 0; i < 600; i++) {
    const ok = await new Promise((r) => http.get({ host: '127.0.0.1', port, path: route }, (res) => (res.resume(), r(res.statusCode === 200))).on('error', () => r(false)));
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`nothing answered ${route} on ${port}`);
}

const csv = fs.readFileSync(path.join(root, 'fixtures/nba_points_reference.csv'), 'utf8').trim().split('\n');
const header = csv[0].split(',');
const features = header.filter((h) => h !== 'points');
const rows = csv.slice(1, 1001).map((l) => {
  const c = l.split(',').map(Number);
  return features.map((f) => c[header.indexOf(f)]);
});
const split = (n) => ({ dataframe_split: { columns: features, data: rows.slice(0, n) } });

const pct = (a, q) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(q * a.length))];

async function measure(port, route) {
  for (let i = 0; i < 200; i++) await request(port, route, split(1)); // warm-up
  const seq = [];
  const end1 = Date.now() + SECONDS * 1000;
  while (Date.now() < end1) {
    const t = performance.now();
    await request(port, route, split(1));
    seq.push(performance.now() - t);
  }
  const conc = [];
  const end2 = Date.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() < end2) {
        const t = performance.now();
        await request(port, route, split(1));
        conc.push(performance.now() - t);
      }
    }),
  );
  const concSeconds = (performance.now() - t0) / 1000;
  const big = [];
  const end3 = Date.now() + SECONDS * 1000;
  const t3 = performance.now();
  while (Date.now() < end3) {
    const t = performance.now();
    await request(port, route, split(1000));
    big.push(performance.now() - t);
  }
  // Rows over wall time, not 1000 / p50: a server that holds some requests back (ours does while
  // its prediction-log writer catches up) must not look faster than it is.
  const bigSeconds = (performance.now() - t3) / 1000;
  return {
    single_p50_ms: pct(seq, 0.5),
    single_p99_ms: pct(seq, 0.99),
    c8_rps: conc.length / concSeconds,
    c8_p50_ms: pct(conc, 0.5),
    c8_p99_ms: pct(conc, 0.99),
    rows1000_per_s: (big.length * 1000) / bigSeconds,
    rows1000_p50_ms: pct(big, 0.5),
    rows1000_p99_ms: pct(big, 0.99),
  };
}

const mlflowPort = 5500 + Math.floor(Math.random() * 400);
process.stderr.write('bench-rest: starting mlflow models serve …\n');
const t0 = Date.now();
const mlflow = spawn(mlflowBin, ['models', 'serve', '-m', path.join(dir, 'model'), '--env-manager', 'local', '-h', '127.0.0.1', '-p', String(mlflowPort)], {
  // mlflow starts uvicorn by name: the venv's bin directory must be on PATH.
  env: { ...process.env, GIT_PYTHON_REFRESH: 'quiet', PATH: `${path.dirname(mlflowBin)}:${process.env.PATH}` },
  stdio: ['ignore', 'ignore', 'ignore'],
  detached: true,
});
children.push(mlflow);
await waitFor(mlflowPort, '/ping');
const mlflowStart = (Date.now() - t0) / 1000;

const ours = spawn(process.execPath, [path.join(root, 'dist/cli.js'), 'serve', '--http', '--demo', '--port', '0'], {
  env: { ...process.env, MLOPS_MCP_HOME: path.join(dir, 'home'), LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'pipe'],
});
children.push(ours);
const ourPort = await new Promise((resolve) => {
  let err = '';
  ours.stderr.on('data', (d) => {
    err += d;
    const m = /listening on http:\/\/[^:]+:(\d+)\/mcp/.exec(err);
    if (m) resolve(Number(m[1]));
  });
});

process.stderr.write('bench-rest: measuring mlflow models serve …\n');
const m = await measure(mlflowPort, '/invocations');
process.stderr.write('bench-rest: measuring mlops-mcp …\n');
const o = await measure(ourPort, '/invocations/nba_points');
const rss = (pid) => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
const f = (x, d = 2) => x.toFixed(d);
console.log(`REST, nba_points v1 (10 features), same keep-alive client, ${SECONDS} s per test:`);
console.log('                        single p50   single p99   8 clients req/s   8c p50   8c p99   1000-row rows/s');
console.log(`mlflow models serve    ${f(m.single_p50_ms).padStart(8)} ms  ${f(m.single_p99_ms).padStart(8)} ms  ${f(m.c8_rps, 0).padStart(14)}  ${f(m.c8_p50_ms).padStart(6)}  ${f(m.c8_p99_ms).padStart(7)}  ${f(m.rows1000_per_s, 0).padStart(14)}`);
console.log(`mlops-mcp              ${f(o.single_p50_ms).padStart(8)} ms  ${f(o.single_p99_ms).padStart(8)} ms  ${f(o.c8_rps, 0).padStart(14)}  ${f(o.c8_p50_ms).padStart(6)}  ${f(o.c8_p99_ms).padStart(7)}  ${f(o.rows1000_per_s, 0).padStart(14)}`);
console.log(`ratio                  ${f(m.single_p50_ms / o.single_p50_ms, 1).padStart(7)}×               ${f(o.c8_rps / m.c8_rps, 1).padStart(14)}×                   ${f(o.rows1000_per_s / m.rows1000_per_s, 1).padStart(14)}×`);
console.log(`peak RSS: mlflow models serve ${f(rss(mlflow.pid), 0)} MB (main process), mlops-mcp ${f(rss(ours.pid), 0)} MB; mlflow start to /ping ${f(mlflowStart, 1)} s`);
console.log(JSON.stringify({ rest_bench: { mlflow: m, ours: o } }));
try {
  process.kill(-mlflow.pid, 'SIGTERM');
} catch {
  // already gone
}
ours.kill('SIGTERM');
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
