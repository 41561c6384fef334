#!/usr/bin/env node
// The PostgreSQL store against the SQLite store, in one run: `npm run bench:store`
// (= npm run build && node tools/bench-store.mjs). Starts a PostgreSQL server of its own on
// loopback (tools/postgres-server.sh, default durability: fsync and synchronous_commit on) and
// measures, each engine in turn:
//   1. REST scoring with 8 keep-alive connections (wrk -t2 -c8, single-row /invocations), in
//      alternating rounds, every prediction logged: requests/s, p50/p99, and that every request
//      reached the log;
//   2. the prediction log's writer alone: predictions/s it sustains (single-prediction entries
//      and 100-row batch entries), appended as fast as its backpressure lets them go;
//   3. a promotion round trip: the store's changeStages, and promote_model through an MCP client.
// Tables on stdout, then a JSON line; progress on stderr. Needs wrk (apt-get install wrk).
process.env.ORT_DISABLE_TELEMETRY = '1';

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, progress, ROOT, round, scratch, sleep, spawnHttp, stopPid, summarize, table } from './bench/lib.mjs';

const dist = (p) => import(new URL(`../dist/${p}`, import.meta.url).href);
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const WRK_SECONDS = quick ? 3 : 8;
const { dir: tmp, startPostgres } = scratch('store');

if (spawnSync('wrk', ['--version']).error) throw new Error('wrk is not installed: apt-get install wrk');
const adminUrl = startPostgres();
const pg = (await import('pg')).default;
async function createDatabase(name) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  return adminUrl.replace(/\/postgres$/, `/${name}`);
}
async function pgValue(url, sql) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows[0];
  } finally {
    await c.end();
  }
}

const pgVersion = (await pgValue(adminUrl, "SELECT current_setting('server_version') AS v")).v;
const out = {
  machine: {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model?.trim(),
    node: process.version,
    postgres: pgVersion,
    loadAvgAtStart: os.loadavg().map((x) => round(x, 2)),
  },
};
console.log(
  `# PostgreSQL store vs SQLite store\nnode ${process.version} · ${os.cpus().length} × ${out.machine.cpu} · PostgreSQL ${pgVersion} on loopback (fsync on) · load average at start ${out.machine.loadAvgAtStart.join(' ')}${quick ? ' · --quick' : ''}`,
);

// ------------------------------------------------------------------ 1. REST with wrk
const body = JSON.stringify({ inputs: [[1, 2, 24.1, 6.2, 5, 27.4, 5.8, 6.1, 34.5, 112.3]] });
const lua = path.join(tmp, 'post.lua');
fs.writeFileSync(lua, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\n`);

function wrk(url, seconds) {
  const r = spawnSync('wrk', ['-t2', '-c8', `-d${seconds}s`, '--latency', '-s', lua, url], { encoding: 'utf8' });
  const text = r.stdout;
  const ms = (v, unit) => Number(v) * { us: 0.001, ms: 1, s: 1000 }[unit];
  const lat = (q) => {
    const m = new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s)`).exec(text);
    return m ? ms(m[1], m[2]) : NaN;
  };
  const bad = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  if (bad || !Number.isFinite(requests)) throw new Error(`wrk: ${bad} failed responses\n${text}`);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)[1]), p50: lat(50), p99: lat(99), requests };
}

async function startServer(name, env) {
  const home = path.join(tmp, `home-${name}`);
  const srv = await spawnHttp(CLI, ['serve', '--http', '--demo', '--port', '0'], { ...process.env, MLOPS_MCP_HOME: home, LOG_LEVEL: 'warn', ...env });
  return { ...srv, base: srv.url.replace(/\/mcp$/, ''), home };
}

const pgRestUrl = await createDatabase('bench_rest');
let bar = progress(`1. REST, wrk -t2 -c8, ${ROUNDS} × ${WRK_SECONDS} s per engine`);
const servers = { sqlite: await startServer('sqlite', {}), postgresql: await startServer('pg', { MLOPS_MCP_DATABASE_URL: pgRestUrl }) };
const rest = { sqlite: [], postgresql: [] };
for (const s of Object.values(servers)) wrk(`${s.base}/invocations/nba_points`, 2); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const engine of r % 2 ? ['postgresql', 'sqlite'] : ['sqlite', 'postgresql']) {
    rest[engine].push(wrk(`${servers[engine].base}/invocations/nba_points`, WRK_SECONDS));
    await sleep(500);
  }
}
// Every request reached the log: stop each server (it flushes) and count what was stored.
const sent = (engine) => rest[engine].reduce((n, x) => n + x.requests, 0);
for (const s of Object.values(servers)) await stopPid(s.pid, 10_000);
const Database = (await import('better-sqlite3')).default;
const sqliteDb = new Database(path.join(servers.sqlite.home, 'registry.db'), { readonly: true });
const logged = {
  sqlite: sqliteDb.prepare('SELECT coalesce(SUM(row_count), 0) AS n FROM predictions').get().n,
  postgresql: Number((await pgValue(pgRestUrl, 'SELECT coalesce(sum(row_count), 0) AS n FROM predictions')).n),
};
sqliteDb.close();
bar.done();
const med = (xs, k) => summarize(xs.map((x) => x[k])).p50;
const restRow = (engine) => [
  engine,
  round(med(rest[engine], 'rps'), 0),
  round(med(rest[engine], 'p50'), 2),
  round(med(rest[engine], 'p99'), 2),
  `${logged[engine]} of ≥ ${sent(engine)}`,
];
console.log(
  table(
    '1. REST /invocations/nba_points, single row, wrk -t2 -c8 (median of rounds)',
    ['store', 'req/s', 'p50 ms', 'p99 ms', 'predictions logged'],
    [restRow('sqlite'), restRow('postgresql')],
  ),
);
const restRatio = med(rest.postgresql, 'rps') / med(rest.sqlite, 'rps');
console.log(
  `PostgreSQL / SQLite requests/s: ${round(restRatio, 3)} (rounds: sqlite ${rest.sqlite.map((x) => round(x.rps, 0)).join(', ')}; postgresql ${rest.postgresql.map((x) => round(x.rps, 0)).join(', ')})`,
);
out.rest = { rounds: rest, logged, ratio: restRatio };

// ------------------------------------------------------------------ 2. the log's writer alone
const { PredictionLog } = await dist('serving/prediction-log.js');
const { openPostgresStore } = await dist('store/postgres/index.js');
const { openSqliteStore } = await dist('store/sqlite/index.js');
const { createLogger } = await dist('logger.js');
const silent = createLogger('silent');

const matrix = Float64Array.from({ length: 10 }, (_, i) => i * 1.5);
const entry = (i, rows, at) => ({
  id: `e${i}`,
  indices: rows === 1 ? null : Array.from({ length: rows }, (_, j) => j),
  rows,
  name: 'nba_points',
  version: 'v1',
  ok: true,
  error: null,
  matrix: rows === 1 ? matrix : new Float64Array(rows * 10).fill(1.5),
  width: 10,
  rawFeatures: null,
  output: { predictions: Array(rows).fill(25.7), probabilities: null },
  latencyMs: 0.3,
  routingKey: null,
  at,
});

/** Appends entries as fast as the log lets requests go (its backpressure holds them while the writer is behind), for `seconds`. */
async function sustain(store, rows, seconds) {
  const log = new PredictionLog(
    { sink: store.predictions.openSink(), logger: silent },
    { flushMs: 200, maxRows: 1e9, maxAgeMs: 1e12, maxPending: 1e9, highWater: 100_000 },
  );
  const t0 = performance.now();
  let i = 0;
  while (performance.now() - t0 < seconds * 1000) {
    const now = Date.now();
    for (let k = 0; k < 2_000 / rows + 1; k++) log.append(entry(i++, rows, now));
    const held = log.backpressure();
    if (held) await held;
    else await new Promise((r) => setImmediate(r));
  }
  await log.flush();
  const elapsed = (performance.now() - t0) / 1000;
  const status = log.status();
  await log.close();
  return { predictionsPerSecond: status.written / elapsed, written: status.written };
}

bar = progress('2. the prediction log writer alone');
const writer = {};
for (const [engine, open] of [
  ['sqlite', () => openSqliteStore(path.join(tmp, 'writer.db'), silent)],
  ['postgresql', async () => openPostgresStore(await createDatabase('bench_writer'), silent, { poolSize: 2 })],
]) {
  const store = await open();
  writer[engine] = {
    single: await sustain(store, 1, quick ? 3 : 10),
    batch100: await sustain(store, 100, quick ? 3 : 10),
    stored: await store.predictions.count(),
  };
  await store.close();
}
bar.done();
const wRow = (engine, kind) => [engine, kind, round(writer[engine][kind].predictionsPerSecond, 0), writer[engine][kind].written];
console.log(
  table(
    '2. prediction log: predictions/s written (requests held back only while the writer is behind)',
    ['store', 'entries', 'predictions/s', 'written'],
    [wRow('sqlite', 'single'), wRow('sqlite', 'batch100'), wRow('postgresql', 'single'), wRow('postgresql', 'batch100')],
  ),
);
out.writer = writer;

// ------------------------------------------------------------------ 3. promotion round trip
const { loadConfig } = await dist('config.js');
const { createAppContext } = await dist('context.js');
const { createMcpServer } = await dist('mcp/server.js');
const { planPromotion } = await dist('registry/rules.js');
const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
const { InMemoryTransport } = await import('@modelcontextprotocol/sdk/inMemory.js');

bar = progress('3. promotion round trips');
const N = quick ? 50 : 400;
const promotions = {};
for (const [engine, env] of [
  ['sqlite', {}],
  ['postgresql', { MLOPS_MCP_DATABASE_URL: await createDatabase('bench_promote') }],
]) {
  const config = loadConfig({ MLOPS_MCP_HOME: path.join(tmp, `promote-${engine}`), LOG_LEVEL: 'silent', ...env }, ROOT);
  const app = await createAppContext(config, silent);
  const { loadDemo } = await dist('demo.js');
  await loadDemo(app);
  const who = { actor: 'bench' };
  const storeTimes = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await app.store.registry.changeStages(
      'nba_points',
      (s) => planPromotion(s, { version: i % 2 ? 'v1' : 'v2', targetStage: 'production', archiveExisting: false }),
      who,
    );
    storeTimes.push(performance.now() - t);
  }
  const server = createMcpServer(app, { readOnly: false, transport: 'memory' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(a);
  const toolTimes = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    const r = await client.callTool({
      name: 'promote_model',
      arguments: { name: 'nba_points', version: i % 2 ? 'v1' : 'v2', target_stage: 'production', archive_existing: false },
    });
    toolTimes.push(performance.now() - t);
    if (r.isError) throw new Error(r.content[0].text);
  }
  await client.close();
  await app.close();
  promotions[engine] = { store: summarize(storeTimes), tool: summarize(toolTimes) };
}
bar.done();
const pRow = (engine, kind) => [engine, kind, round(promotions[engine][kind].p50, 2), round(promotions[engine][kind].p99, 2)];
console.log(
  table(
    `3. promotion round trip, ${N} promotions alternating v1/v2`,
    ['store', 'through', 'p50 ms', 'p99 ms'],
    [pRow('sqlite', 'store'), pRow('sqlite', 'tool'), pRow('postgresql', 'store'), pRow('postgresql', 'tool')],
  ),
);
out.promotions = promotions;

const targets = [
  ['REST req/s on PostgreSQL ≥ 80 % of SQLite (8 connections)', restRatio >= 0.8, round(restRatio, 3)],
  [
    'every REST request logged, both stores',
    logged.sqlite >= sent('sqlite') && logged.postgresql >= sent('postgresql'),
    `${logged.sqlite}/${sent('sqlite')}, ${logged.postgresql}/${sent('postgresql')}`,
  ],
  [
    'prediction log on PostgreSQL ≥ 20 000 predictions/s (single-prediction entries)',
    writer.postgresql.single.predictionsPerSecond >= 20_000,
    round(writer.postgresql.single.predictionsPerSecond, 0),
  ],
  ['promotion round trip on PostgreSQL p50 < 5 ms (through the tool)', promotions.postgresql.tool.p50 < 5, round(promotions.postgresql.tool.p50, 2)],
];
console.log(
  table(
    'targets',
    ['target', 'result', 'value'],
    targets.map(([t, ok, v]) => [t, ok ? 'PASS' : 'FAIL', v]),
  ),
);
console.log(JSON.stringify({ bench_store: out }));
process.exit(0);
