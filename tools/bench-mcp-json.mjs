// MCP `predict` over Streamable HTTP: SSE answers (the SDK's default, what the server sends) against
// JSON answers (`enableJsonResponse`), in one run. `node tools/bench-mcp-json.mjs [calls]` after
// npm run build. The JSON server is this build with the transport option turned on in a copy of
// dist/http/sessions.js (the product does not offer it: see docs/performance.md). Prints per server:
// sequential p50/p99 with one client, calls/s with 8 clients (one session each), and the server's
// CPU per call (utime+stime from /proc), which is what the answer's form changes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const root = path.resolve(import.meta.dirname, '..');
const CALLS = Number(process.argv[2] ?? 2000);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-mcp-json-'));
const children = [];
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

// A copy of dist whose sessions answer JSON.
const jsonDist = path.join(tmp, 'dist');
fs.cpSync(path.join(root, 'dist'), jsonDist, { recursive: true });
const sessionsJs = path.join(jsonDist, 'http/sessions.js');
const src = fs.readFileSync(sessionsJs, 'utf8');
if (!src.includes('sessionIdGenerator: () => randomUUID(),')) throw new Error('sessions.js changed: cannot turn JSON answers on');
fs.writeFileSync(sessionsJs, src.replace('sessionIdGenerator: () => randomUUID(),', 'sessionIdGenerator: () => randomUUID(), enableJsonResponse: true,'));
// The copy finds node_modules and the demo fixtures in the repository.
for (const d of ['node_modules', 'fixtures']) fs.symlinkSync(path.join(root, d), path.join(tmp, d));
fs.copyFileSync(path.join(root, 'package.json'), path.join(tmp, 'package.json'));

async function start(dist, label) {
  const child = spawn(process.execPath, [path.join(dist, 'cli.js'), 'serve', '--http', '--demo', 'models', '--port', '0'], {
    env: { ...process.env, MLOPS_MCP_HOME: path.join(tmp, `home-${label}`), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  const port = await new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on http:\/\/[^:]+:(\d+)\/mcp/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${label} exited ${code}: ${err}`)));
  });
  return { child, url: new URL(`http://127.0.0.1:${port}/mcp`), label };
}

const cpu = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, clock ticks (100 a second on Linux) to ms
};

const features = {
  is_home: 1,
  days_rest: 1,
  season_avg_points: 4.7,
  season_avg_rebounds: 4,
  season_avg_assists: 2.6,
  last5_avg_points: 2.6,
  last5_avg_rebounds: 5.2,
  last5_avg_assists: 1.4,
  minutes_avg: 8,
  opponent_def_rating: 111.8,
};
const call = (client) => client.callTool({ name: 'predict', arguments: { name: 'nba_points', features } });

async function client(url) {
  const c = new Client({ name: 'bench', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(url));
  return c;
}

const pct = (a, q) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(q * a.length))];

async function measure(server) {
  const one = await client(server.url);
  for (let i = 0; i < 300; i++) await call(one);
  const times = [];
  let c0 = cpu(server.child.pid);
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    const r = await call(one);
    if (r.isError) throw new Error(JSON.stringify(r.content));
    times.push(performance.now() - t);
  }
  const seqCpu = (cpu(server.child.pid) - c0) / CALLS;
  const many = await Promise.all(Array.from({ length: 8 }, () => client(server.url)));
  c0 = cpu(server.child.pid);
  const t0 = performance.now();
  let done = 0;
  await Promise.all(
    many.map(async (c) => {
      for (let i = 0; i < CALLS / 4; i++, done++) await call(c);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const concCpu = (cpu(server.child.pid) - c0) / done;
  await Promise.all([one, ...many].map((c) => c.close()));
  return { p50: pct(times, 0.5), p99: pct(times, 0.99), seqCpuMs: seqCpu, rps8: done / seconds, concCpuMs: concCpu };
}

const sse = await start(path.join(root, 'dist'), 'sse');
const json = await start(jsonDist, 'json');
const results = { sse: [], json: [] };
// Alternating rounds: both see the same machine.
for (let round = 0; round < 2; round++) {
  for (const s of [sse, json]) {
    process.stderr.write(`bench-mcp-json: ${s.label} round ${round + 1} …\n`);
    results[s.label].push(await measure(s));
  }
}
const mean = (rs, k) => rs.reduce((a, r) => a + r[k], 0) / rs.length;
console.log(
  `MCP predict over Streamable HTTP, SDK client, ${CALLS} sequential calls + ${CALLS * 2} over 8 sessions per round, 2 rounds alternating; load average ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log('| answers | p50 ms | p99 ms | server CPU ms/call (1 client) | calls/s, 8 clients | server CPU ms/call (8 clients) |');
console.log('|---|---|---|---|---|---|');
for (const k of ['sse', 'json']) {
  const rs = results[k];
  console.log(
    `| ${k === 'sse' ? 'SSE (default)' : 'JSON (enableJsonResponse)'} | ${mean(rs, 'p50').toFixed(3)} | ${mean(rs, 'p99').toFixed(2)} | ${mean(rs, 'seqCpuMs').toFixed(3)} | ${mean(rs, 'rps8').toFixed(0)} | ${mean(rs, 'concCpuMs').toFixed(3)} |`,
  );
}
console.log(JSON.stringify({ mcp_json_bench: results }));
for (const s of [sse, json]) s.child.kill('SIGTERM');
fs.rmSync(tmp, { recursive: true, force: true });
process.exit(0);
