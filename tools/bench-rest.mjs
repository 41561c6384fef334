// REST side by side: `npm run bench:rest` (= npm run build, bash tools/mlflow-server.sh venv, node
// tools/bench-rest.mjs). Saves fixtures/nba_points_v1.onnx as an MLflow ONNX model and starts, in one
// run, `mlflow models serve` (--env-manager local), a trivial node:http server answering a constant,
// and our `serve --http --demo models` (the demo models alone, nba_points v1 in production, without
// the demo's simulated week of history; prediction log, metrics, alerts, Host
// and Origin checks on). Each is driven by wrk (2 threads, 8 connections, SECONDS_PER_TEST s) with a
// single-row `inputs` body, a single-row `dataframe_split` body and a 1 000-row `dataframe_split`
// body: req/s, p50/p99, rows/s, the ratios to MLflow and to the trivial server, and peak RSS.
// Without wrk it falls back to a node:http client (and says so): that client then measures itself
// about as much as the servers.
//
//   BENCH_REST_TOKEN=…          run our server with MLOPS_MCP_TOKEN set and send it (token checks on)
//   BENCH_REST_CPU_PROF=DIR     run our server under node --cpu-prof, profile written to DIR at exit
//   BENCH_REST_ONLY=ours        skip mlflow (a quick look at ours and the trivial server)
//   BENCH_REST_BASE=DIR         also measure the build in DIR (DIR/dist/cli.js), e.g. the commit before a change
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rest-'));
const SECONDS = Number(process.env.SECONDS_PER_TEST ?? 8);
const TOKEN = process.env.BENCH_REST_TOKEN;
const PROF = process.env.BENCH_REST_CPU_PROF;
const withMlflow = process.env.BENCH_REST_ONLY !== 'ours';
const BASE = process.env.BENCH_REST_BASE;
const children = [];
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));
const log = (s) => process.stderr.write(`bench-rest: ${s}\n`);

const wrk = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
const haveWrk = wrk.error === undefined;
log(
  haveWrk
    ? `load generator: ${(wrk.stdout + wrk.stderr).split('\n')[0].trim()}`
    : 'wrk not found: falling back to a node:http client (it spends most of the CPU itself; install wrk for figures that measure the servers)',
);

// Bodies: rows of the reference CSV.
const csv = fs.readFileSync(path.join(root, 'fixtures/nba_points_reference.csv'), 'utf8').trim().split('\n');
const header = csv[0].split(',');
const features = header.filter((h) => h !== 'points');
const rows = csv.slice(1, 1001).map((l) => {
  const c = l.split(',').map(Number);
  return features.map((f) => c[header.indexOf(f)]);
});
const BODIES = {
  inputs: JSON.stringify({ inputs: rows.slice(0, 1) }),
  dataframe_split: JSON.stringify({ dataframe_split: { columns: features, data: rows.slice(0, 1) } }),
  split_1000: JSON.stringify({ dataframe_split: { columns: features, data: rows } }),
};
const ROWS = { inputs: 1, dataframe_split: 1, split_1000: 1000 };

async function waitFor(port, route) {
  for (let i = 0; i < 600; i++) {
    const ok = await new Promise((r) =>
      http.get({ host: '127.0.0.1', port, path: route }, (res) => (res.resume(), r(res.statusCode === 200))).on('error', () => r(false)),
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`nothing answered ${route} on ${port}`);
}

const headers = { 'content-type': 'application/json', ...(TOKEN ? { authorization: `Bearer ${TOKEN}` } : {}) };

/** One wrk run: req/s, p50/p99 (ms), non-2xx count. */
function runWrk(url, body, seconds) {
  const script = path.join(dir, `wrk-${Math.random().toString(36).slice(2)}.lua`);
  const lines = [
    'wrk.method = "POST"',
    `wrk.body = ${luaString(body)}`,
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`),
  ];
  fs.writeFileSync(script, lines.join('\n'));
  const r = spawnSync('wrk', ['-t2', '-c8', `-d${seconds}s`, '--latency', '-s', script, url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const out = r.stdout;
  const ms = (label) => {
    const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
    if (!m) return NaN;
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]];
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors:.*/.exec(out)?.[0] ?? '';
  return { rps, p50: ms('50'), p99: ms('99'), non2xx, errors };
}
const luaString = (s) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The fallback client: 8 keep-alive loops of node:http requests. */
async function runNode(url, body, seconds) {
  const u = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const times = [];
  let non2xx = 0;
  const one = () =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          if (res.statusCode !== 200) non2xx++;
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const end = Date.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() < end) {
        const t = performance.now();
        await one();
        times.push(performance.now() - t);
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  agent.destroy();
  times.sort((a, b) => a - b);
  const pct = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  return { rps: times.length / wall, p50: pct(0.5), p99: pct(0.99), non2xx, errors: '' };
}

const load = (url, body, seconds) => (haveWrk ? runWrk(url, body, seconds) : runNode(url, body, seconds));

// The trivial peer: node:http reading the body and answering a constant.
const trivialSource = `
const http = require('node:http');
const answer = Buffer.from('{"predictions":[0]}');
http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length }); res.end(answer); });
}).listen(0, '127.0.0.1', function () { process.stdout.write(String(this.address().port) + '\\n'); });
`;
const trivial = spawn(process.execPath, ['-e', trivialSource], { stdio: ['ignore', 'pipe', 'inherit'] });
children.push(trivial);
const trivialPort = await new Promise((resolve) => trivial.stdout.once('data', (d) => resolve(Number(String(d).trim()))));

let mlflow = null;
let mlflowPort = 0;
let mlflowStart = NaN;
if (withMlflow) {
  const mlflowPython = execFileSync('bash', [path.join(root, 'tools/mlflow-server.sh'), 'python'], { encoding: 'utf8' }).trim();
  const mlflowBin = path.join(path.dirname(mlflowPython), 'mlflow');
  execFileSync(
    mlflowPython,
    [
      '-c',
      'import sys, mlflow, onnx; mlflow.onnx.save_model(onnx.load(sys.argv[1]), sys.argv[2])',
      path.join(root, 'fixtures/nba_points_v1.onnx'),
      path.join(dir, 'model'),
    ],
    {
      stdio: 'inherit',
      env: { ...process.env, GIT_PYTHON_REFRESH: 'quiet' },
    },
  );
  mlflowPort = 5500 + Math.floor(Math.random() * 400);
  log('starting mlflow models serve …');
  const t0 = Date.now();
  mlflow = spawn(mlflowBin, ['models', 'serve', '-m', path.join(dir, 'model'), '--env-manager', 'local', '-h', '127.0.0.1', '-p', String(mlflowPort)], {
    // mlflow starts uvicorn by name: the venv's bin directory must be on PATH.
    env: { ...process.env, GIT_PYTHON_REFRESH: 'quiet', PATH: `${path.dirname(mlflowBin)}:${process.env.PATH}` },
    stdio: ['ignore', 'ignore', 'ignore'],
    detached: true,
  });
  children.push(mlflow);
  await waitFor(mlflowPort, '/ping');
  mlflowStart = (Date.now() - t0) / 1000;
}

/** Our server from the build in `dir`, on a port of its own; resolves once it listens. */
async function startOurs(dir, home, prof) {
  const child = spawn(
    process.execPath,
    [...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), path.join(dir, 'dist/cli.js'), 'serve', '--http', '--demo', 'models', '--port', '0'],
    {
      env: { ...process.env, MLOPS_MCP_HOME: home, LOG_LEVEL: 'warn', ...(TOKEN ? { MLOPS_MCP_TOKEN: TOKEN } : {}) },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.push(child);
  const port = await new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on http:\/\/[^:]+:(\d+)\/mcp/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`our server in ${dir} exited (${code}): ${err.slice(-2000)}`)));
  });
  return { child, port };
}
const { child: ours, port: ourPort } = await startOurs(root, path.join(dir, 'home'), PROF);
const base = BASE ? await startOurs(path.resolve(BASE), path.join(dir, 'home-base'), undefined) : null;

const servers = [
  { key: 'trivial', label: 'trivial node:http (constant)', url: `http://127.0.0.1:${trivialPort}/invocations` },
  ...(base ? [{ key: 'base', label: `mlops-mcp before (${BASE})`, url: `http://127.0.0.1:${base.port}/invocations/nba_points` }] : []),
  { key: 'ours', label: 'mlops-mcp /invocations/{name}', url: `http://127.0.0.1:${ourPort}/invocations/nba_points` },
  ...(withMlflow ? [{ key: 'mlflow', label: 'mlflow models serve', url: `http://127.0.0.1:${mlflowPort}/invocations` }] : []),
];

const uptime = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const loadBefore = uptime();
const rss = (pid) => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
const results = {};
/** Our peak RSS once each format's load is over (VmHWM only grows: the single-row bodies come first). */
const peakAfter = {};
for (const format of Object.keys(BODIES)) {
  for (const s of servers) {
    log(`${s.key} ${format} …`);
    await load(s.url, BODIES[format], 1); // warm-up
    const r = await load(s.url, BODIES[format], SECONDS);
    (results[s.key] ??= {})[format] = { ...r, rows_per_s: r.rps * ROWS[format] };
    if (r.non2xx) log(`  ${s.key} ${format}: ${r.non2xx} answers were not 2xx`);
  }
  peakAfter[format] = rss(ours.pid);
}
const loadAfter = uptime();

const peak = { ours: rss(ours.pid), trivial: rss(trivial.pid), mlflow: mlflow ? rss(mlflow.pid) : NaN, ...(base ? { base: rss(base.child.pid) } : {}) };

const f = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');
const client = haveWrk ? 'wrk -t2 -c8' : 'node:http client, 8 connections (wrk not installed)';
console.log(
  `REST /invocations, nba_points v1 (10 features), ${client}, ${SECONDS} s per test${TOKEN ? ', bearer token on' : ''}; load average before ${loadBefore}, after ${loadAfter}`,
);
console.log('| server | inputs req/s | p50 / p99 ms | dataframe_split req/s | p50 / p99 ms | 1 000-row split rows/s | p50 / p99 ms |');
console.log('|---|---|---|---|---|---|---|');
for (const s of servers) {
  const r = results[s.key];
  const cell = (x) => `${f(x.rps)} | ${f(x.p50, 2)} / ${f(x.p99, 2)}`;
  console.log(
    `| ${s.label} | ${cell(r.inputs)} | ${cell(r.dataframe_split)} | ${f(r.split_1000.rows_per_s)} | ${f(r.split_1000.p50, 2)} / ${f(r.split_1000.p99, 2)} |`,
  );
}
const o = results.ours;
const ratio = (a, b) => (Number.isFinite(a / b) ? `${(a / b).toFixed(1)}×` : '–');
const share = (a, b) => `${((100 * a) / b).toFixed(0)}%`;
if (withMlflow) {
  const m = results.mlflow;
  console.log(
    `ours / mlflow: inputs ${ratio(o.inputs.rps, m.inputs.rps)}, dataframe_split ${ratio(o.dataframe_split.rps, m.dataframe_split.rps)}, 1 000-row rows/s ${ratio(o.split_1000.rows_per_s, m.split_1000.rows_per_s)} (targets ≥ 10×)`,
  );
}
if (base && withMlflow) {
  const b = results.base;
  const m = results.mlflow;
  console.log(
    `before / mlflow: inputs ${ratio(b.inputs.rps, m.inputs.rps)}, dataframe_split ${ratio(b.dataframe_split.rps, m.dataframe_split.rps)}, 1 000-row rows/s ${ratio(b.split_1000.rows_per_s, m.split_1000.rows_per_s)}; before / trivial: inputs ${share(b.inputs.rps, results.trivial.inputs.rps)}, dataframe_split ${share(b.dataframe_split.rps, results.trivial.dataframe_split.rps)}`,
  );
}
const t = results.trivial;
console.log(
  `ours / trivial node:http: inputs ${share(o.inputs.rps, t.inputs.rps)}, dataframe_split ${share(o.dataframe_split.rps, t.dataframe_split.rps)} (target ≥ 30%)`,
);
console.log(`p99 at 8 connections, ours: inputs ${f(o.inputs.p99, 2)} ms, dataframe_split ${f(o.dataframe_split.p99, 2)} ms (target < 5 ms)`);
console.log(
  `peak RSS: mlops-mcp ${f(peak.ours)} MB (main process; its model processes apart; target ≤ 200 MB), ${base ? `before ${f(peak.base)} MB, ` : ''}trivial ${f(peak.trivial)} MB, mlflow models serve ${f(peak.mlflow)} MB (main process)${withMlflow ? `; mlflow start to /ping ${f(mlflowStart, 1)} s` : ''}`,
);
console.log(
  `peak RSS of ours by the end of each load: ${Object.entries(peakAfter)
    .map(([format, mb]) => `${format} ${f(mb)} MB`)
    .join(', ')}`,
);
console.log(
  JSON.stringify({
    rest_bench: { client, seconds: SECONDS, load_before: loadBefore, load_after: loadAfter, results, peak_rss_mb: peak, ours_peak_rss_mb_after: peakAfter },
  }),
);

if (mlflow) {
  try {
    process.kill(-mlflow.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
trivial.kill('SIGTERM');
base?.child.kill('SIGTERM');
await new Promise((resolve) => {
  ours.once('exit', resolve);
  ours.kill('SIGTERM');
});
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
