#!/usr/bin/env node
// What a hostile model does to everyone else: `/healthz` and another model's predict (REST,
// nba_points) latency while hostile models run, load or allocate, on `serve --http --demo`.
//
//   npm run build && node tools/bench-hostile.mjs [--base DIR] [--seconds S]
//
// --base DIR runs the same scenarios against another build first (a snapshot made with
// `node tools/bench/ab.mjs --snapshot DIR`), e.g. the one before models ran in processes of their
// own. The hostile inputs are finite so that such a build ends them too: a Loop of 3·10^6
// iterations (~5 s here, the issue's 3.7 s), X expanded to 2^28 rows (1 GiB), the 40 000-node
// graph (tools/make-hostile-onnx.sh --big: needs the Python venv). Both builds get
// MODEL_RUN_TIMEOUT_MS=2000 (so the new one kills and replaces a model process every 2 s) and the
// default MODEL_MEMORY_MB (1024). A scenario runs S seconds (default 8): one client alternates
// GET /healthz and POST /api/v1/predict/nba_points on keep-alive connections, sequentially, while
// other clients keep the hostile calls going. Prints one table per build and a JSON line.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const SECONDS = Number(opt('--seconds', 8));
const base = opt('--base', null);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-hostile-'));
const children = new Set();
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

execFileSync('bash', [path.join(root, 'tools/make-hostile-onnx.sh'), '--big', tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
const HOSTILE = path.join(root, 'fixtures/hostile');
const POINTS_ROW = [1, 2, 24.1, 6.2, 5, 27.4, 5.8, 6.1, 34.5, 112.3];

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** Sends again once on a keep-alive connection the server had just closed (its 5 s idle timeout, passed while a build held its event loop). */
async function retried(send) {
  try {
    return await send();
  } catch (e) {
    if (e?.code !== 'ECONNRESET' && e?.code !== 'EPIPE') throw e;
    return send();
  }
}

function request(port, method, route, body) {
  return retried(() => requestOnce(port, method, route, body));
}

function requestOnce(port, method, route, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? '' : JSON.stringify(body);
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) };
    const req = http.request({ host: '127.0.0.1', port, path: route, method, agent, headers }, (res) => {
      let out = '';
      res.on('data', (d) => (out += d));
      res.on('end', () => resolve({ status: res.statusCode, body: out }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** One MCP tools/call over a stateless-enough session: initialize once, then call. */
async function mcpSession(port) {
  const post = (body, sid) =>
    retried(
      () =>
        new Promise((resolve, reject) => {
          const data = JSON.stringify(body);
          const headers = {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'content-length': Buffer.byteLength(data),
            ...(sid ? { 'mcp-session-id': sid } : {}),
          };
          const req = http.request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', agent, headers }, (res) => {
            let out = '';
            res.on('data', (d) => (out += d));
            res.on('end', () => resolve({ sid: res.headers['mcp-session-id'], body: out }));
          });
          req.on('error', reject);
          req.end(data);
        }),
    );
  const init = await post({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench-hostile', version: '1' } },
  });
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, init.sid);
  let id = 1;
  return async (name, args) => {
    const { body } = await post({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name, arguments: args } }, init.sid);
    const line = body.split('\n').find((l) => l.startsWith('data: ')) ?? body;
    return JSON.parse(line.replace(/^data: /, '')).result;
  };
}

function startServer(buildRoot, home) {
  const env = {
    ...process.env,
    MLOPS_MCP_HOME: home,
    MLOPS_MCP_ALLOWED_DIRS: `${path.join(root, 'fixtures')}:${tmp}`,
    MODEL_RUN_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'error',
  };
  const child = spawn(process.execPath, [path.join(buildRoot, 'dist/cli.js'), 'serve', '--http', '--demo', '--port', '0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/.exec(err);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
}

/** Resident MiB of a process and of its children (the model processes, if any). */
function memory(pid) {
  const rss = (p) => {
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))[1]) / 1024;
    } catch {
      return 0;
    }
  };
  let kids = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) kids = Math.max(kids, rss(Number(d)));
    } catch {
      /* ended meanwhile */
    }
  }
  return { server: rss(pid), models: kids };
}

const pct = (a, q) => (a.length ? [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(q * a.length))] : NaN);

/** Runs `hostile` (repeatedly, from `parallel` callers) for SECONDS while one client times /healthz and a predict. */
async function scenario(server, label, hostile, parallel = 1) {
  let stop = false;
  const outcomes = [];
  const attackers = Array.from({ length: hostile ? parallel : 0 }, async () => {
    while (!stop) {
      const t = performance.now();
      const r = await hostile();
      outcomes.push({ ms: performance.now() - t, error: r?.isError ? String(r.content?.[0]?.text ?? '').slice(0, 80) : null });
    }
  });
  const health = [];
  const predict = [];
  const peak = { server: 0, models: 0 };
  const sampler = setInterval(() => {
    const m = memory(server.child.pid);
    peak.server = Math.max(peak.server, m.server);
    peak.models = Math.max(peak.models, m.models);
  }, 50);
  const until = performance.now() + SECONDS * 1000;
  while (performance.now() < until) {
    let t = performance.now();
    await request(server.port, 'GET', '/healthz');
    health.push(performance.now() - t);
    t = performance.now();
    const r = await request(server.port, 'POST', '/api/v1/predict/nba_points', { features: POINTS_ROW });
    if (r.status !== 200) throw new Error(`predict answered ${r.status}: ${r.body}`);
    predict.push(performance.now() - t);
  }
  stop = true;
  clearInterval(sampler);
  await Promise.all(attackers);
  const row = {
    scenario: label,
    healthz: { n: health.length, p50: pct(health, 0.5), p99: pct(health, 0.99), max: Math.max(...health) },
    predict: { n: predict.length, p50: pct(predict, 0.5), p99: pct(predict, 0.99), max: Math.max(...predict) },
    hostile: {
      calls: outcomes.length,
      ms_p50: pct(
        outcomes.map((o) => o.ms),
        0.5,
      ),
      error: outcomes.find((o) => o.error)?.error ?? null,
    },
    peak_rss_mib: { server: Math.round(peak.server), model_process: Math.round(peak.models) },
  };
  process.stderr.write(`[hostile] ${label}: healthz p99 ${row.healthz.p99.toFixed(1)} ms, predict p99 ${row.predict.p99.toFixed(1)} ms\n`);
  return row;
}

async function runBuild(buildRoot) {
  const home = fs.mkdtempSync(path.join(tmp, 'home-'));
  const server = await startServer(buildRoot, home);
  const call = await mcpSession(server.port);
  for (const [name, file] of [
    ['loop', path.join(HOSTILE, 'loop-from-input.onnx')],
    ['expand', path.join(HOSTILE, 'expand-from-input.onnx')],
  ]) {
    const r = await call('register_model', { name, artifact_path: file });
    if (r.isError) throw new Error(`register ${name}: ${r.content[0].text}`);
  }
  for (let i = 0; i < 200; i++) await request(server.port, 'POST', '/api/v1/predict/nba_points', { features: POINTS_ROW });
  const big = path.join(tmp, 'big-graph.onnx');
  const rows = [
    await scenario(server, 'quiet', null),
    await scenario(server, 'one Loop call at a time (3·10^6 iterations)', () => call('predict', { name: 'loop', version: 'v1', features: [3e6] })),
    await scenario(server, 'four Loop calls at a time', () => call('predict', { name: 'loop', version: 'v1', features: [3e6] }), 4),
    await scenario(server, 'Expand to 1 GiB, three at a time', () => call('predict', { name: 'expand', version: 'v1', features: [2 ** 28] }), 3),
    await scenario(server, 'registering a 40 000-node graph (dry run)', () => call('register_model', { name: 'big', artifact_path: big, dry_run: true })),
  ];
  server.child.kill('SIGKILL');
  return rows;
}

function table(label, rows) {
  const f = (x) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 0) : '–');
  const lines = [
    `## ${label}`,
    '',
    '| while | /healthz p50 / p99 / max ms | predict nba_points p50 / p99 / max ms | hostile calls (median ms) | peak RSS MiB: server / a model process |',
    '|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.scenario} | ${f(r.healthz.p50)} / ${f(r.healthz.p99)} / ${f(r.healthz.max)} | ${f(r.predict.p50)} / ${f(r.predict.p99)} / ${f(r.predict.max)} | ${r.hostile.calls} (${f(r.hostile.ms_p50)}) | ${r.peak_rss_mib.server} / ${r.peak_rss_mib.model_process || '–'} |`,
    );
  }
  return lines.join('\n');
}

try {
  const results = {};
  if (base) results.base = await runBuild(path.resolve(base));
  results.this = await runBuild(root);
  if (base) console.log(`${table(`base: ${path.resolve(base)}`, results.base)}\n`);
  console.log(table(`this build: ${root}`, results.this));
  const errors = [...new Set(results.this.map((r) => r.hostile.error).filter(Boolean))];
  if (errors.length) console.log(`\nhostile calls were answered: ${errors.join(' | ')}`);
  console.log(JSON.stringify({ seconds: SECONDS, load: os.loadavg(), ...results }));
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
}
