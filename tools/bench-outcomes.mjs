#!/usr/bin/env node
// Outcomes end to end, on SQLite and on PostgreSQL: `npm run bench:outcomes`
// (= npm run build && node tools/bench-outcomes.mjs [--quick]). For each engine a server is
// spawned over stdio (`serve --stdio --demo models`, a fresh home; PostgreSQL: a throwaway server
// of its own on loopback via tools/postgres-server.sh, fsync on) and measured through a real MCP
// client:
//   1. record_outcomes with 10 000 outcomes in one call (each of a 10 000-row batch_predict made
//      just before: new outcomes, then the same ids again, which replace them), client-side time;
//   2. get_model_performance over a window of 100 000 outcomes (nba_win_predictor split 50/50, so
//      the A/B comparison is computed too), client-side time;
//   3. predict latency from a second client (a second server on the same home or database, as
//      replicas are) alone, and while 1. and 2. run again back to back (p50, p99).
// 1. and 2. are timed with nothing else running, then again under 3.'s predict load.
// Tables on stdout, then a JSON line; progress on stderr.
process.env.ORT_DISABLE_TELEMETRY = '1';

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { callOk, CLI, round, scratch, stdioClient, summarize, table } from './bench/lib.mjs';

const quick = process.argv.includes('--quick');
const RECORD_CALLS = quick ? 3 : 10;
const WINDOW = 100_000;
const PERFORMANCE_CALLS = quick ? 3 : 10;
const { dir: tmp, startPostgres } = scratch('outcomes');

const WIN = [0.62, 0.48, 114.2, 110.9, 108.5, 112.0, 2, 1];
const rowsOf = (n, shift) => Array.from({ length: n }, (_, i) => WIN.map((x, j) => (j === 0 ? x + ((i * 7 + shift) % 100) / 500 - 0.1 : x)));
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

/** 10 000 predictions of nba_win_predictor and their outcomes (actual: the prediction, every 4th flipped). */
async function predictions(client, shift) {
  const b = await callOk(client, 'batch_predict', { name: 'nba_win_predictor', rows: rowsOf(10_000, shift) });
  return b.predictions.map((p, i) => ({ prediction_id: `${b.batch_id}:${i}`, actual: i % 4 ? Number(p) : 1 - Number(p) }));
}

async function timed(client, name, args) {
  const t0 = process.hrtime.bigint();
  const r = await client.callTool({ name, arguments: args });
  const took = ms(t0);
  if (r.isError) throw new Error(`${name}: ${r.content?.[0]?.text}`);
  return { took, data: r.structuredContent };
}

/** Predict calls from their own client until `stop` resolves; latencies in ms. */
async function predictLoop(client, stop) {
  const out = [];
  let done = false;
  void stop.then(() => (done = true));
  while (!done) {
    const t0 = process.hrtime.bigint();
    await callOk(client, 'predict', { name: 'nba_points', version: 'v1', features: [1, 2, 24.1, 6.2, 5.0, 27.4, 5.8, 6.1, 34.5, 112.3] });
    out.push(ms(t0));
  }
  return out;
}

async function engine(name, env) {
  const home = fs.mkdtempSync(path.join(tmp, `${name}-`));
  const server = await stdioClient(CLI, ['serve', '--stdio', '--demo', 'models'], { ...process.env, MLOPS_MCP_HOME: home, LOG_LEVEL: 'warn', ...env });
  const probe = await stdioClient(CLI, ['serve', '--stdio'], { ...process.env, MLOPS_MCP_HOME: home, LOG_LEVEL: 'warn', ...env });
  const c = server.client;
  try {
    await callOk(c, 'configure_ab_test', { name: 'nba_win_predictor', weights: { 'v1.5': 0.5, 'v2.0': 0.5 }, routing: 'random' });
    /** 1. and 2.: RECORD_CALLS new and replacing calls, then the window filled to WINDOW and read PERFORMANCE_CALLS times. */
    let filled = 0;
    const round = async () => {
      const fresh = [];
      const replaced = [];
      for (let i = 0; i < RECORD_CALLS; i++) {
        const outcomes = await predictions(c, filled++);
        const first = await timed(c, 'record_outcomes', { name: 'nba_win_predictor', outcomes });
        if (first.data.matched !== 10_000) throw new Error(`matched ${first.data.matched}`);
        fresh.push(first.took);
        const again = await timed(c, 'record_outcomes', { name: 'nba_win_predictor', outcomes });
        if (again.data.replaced !== 10_000) throw new Error(`replaced ${again.data.replaced}`);
        replaced.push(again.took);
      }
      while (filled < WINDOW / 10_000) await callOk(c, 'record_outcomes', { name: 'nba_win_predictor', outcomes: await predictions(c, filled++) });
      const window = [];
      let last;
      for (let i = 0; i < PERFORMANCE_CALLS; i++) {
        last = await timed(c, 'get_model_performance', { name: 'nba_win_predictor', window: { last_n: WINDOW } });
        if (last.data.outcomes !== WINDOW) throw new Error(`window of ${last.data.outcomes}`);
        window.push(last.took);
      }
      return { fresh, replaced, window, verdict: last.data.comparison?.challengers?.[0]?.verdict };
    };
    process.stderr.write(`${name}: 1. and 2. alone…\n`);
    const quiet = await round();
    // 3.: predict alone, then while 1. and 2. run again.
    for (let i = 0; i < 500; i++)
      await callOk(probe.client, 'predict', { name: 'nba_points', version: 'v1', features: [1, 2, 24.1, 6.2, 5.0, 27.4, 5.8, 6.1, 34.5, 112.3] });
    const alone = await predictLoop(probe.client, new Promise((r) => setTimeout(r, quick ? 2000 : 5000)));
    process.stderr.write(`${name}: 1. and 2. under predict load…\n`);
    let release;
    const during = predictLoop(probe.client, new Promise((r) => (release = r)));
    const loaded = await round();
    release();
    const busy = await during;
    return {
      engine: name,
      record_new_ms: summarize(quiet.fresh),
      record_replace_ms: summarize(quiet.replaced),
      performance_100k_ms: summarize(quiet.window),
      loaded_record_new_ms: summarize(loaded.fresh),
      loaded_performance_100k_ms: summarize(loaded.window),
      predict_alone_ms: summarize(alone),
      predict_during_ms: summarize(busy),
      verdict: quiet.verdict,
    };
  } finally {
    await probe.close();
    await server.close();
  }
}

const adminUrl = startPostgres();
const pg = (await import('pg')).default;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query('CREATE DATABASE bench_outcomes');
const pgVersion = (await admin.query("SELECT current_setting('server_version') AS v")).rows[0].v;
await admin.end();

const machine = {
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model?.trim(),
  node: process.version,
  postgres: pgVersion,
  loadAvgAtStart: os.loadavg().map((x) => round(x, 2)),
};
console.log(
  `# Outcomes over stdio\nnode ${process.version} · ${machine.cpus} × ${machine.cpu} · PostgreSQL ${pgVersion} on loopback (fsync on) · load average at start ${machine.loadAvgAtStart.join(' ')}${quick ? ' · --quick' : ''}`,
);
const results = [await engine('sqlite', {}), await engine('postgresql', { MLOPS_MCP_DATABASE_URL: adminUrl.replace(/\/postgres$/, '/bench_outcomes') })];
const q = (s) => [round(s.p50), round(s.p90), round(s.p99), round(s.max)];
console.log(
  table(
    'record_outcomes, 10 000 outcomes in one call (ms, client side)',
    ['engine', 'kind', 'p50', 'p90', 'p99', 'max', 'n'],
    results.flatMap((r) => [
      [r.engine, 'new', ...q(r.record_new_ms), r.record_new_ms.n],
      [r.engine, 'replace', ...q(r.record_replace_ms), r.record_replace_ms.n],
      [r.engine, 'new, under predict load', ...q(r.loaded_record_new_ms), r.loaded_record_new_ms.n],
    ]),
  ),
);
console.log(
  table(
    `get_model_performance over ${WINDOW.toLocaleString('en-US')} outcomes (ms, client side)`,
    ['engine', 'when', 'p50', 'p90', 'p99', 'max', 'n', 'verdict'],
    results.flatMap((r) => [
      [r.engine, 'alone', ...q(r.performance_100k_ms), r.performance_100k_ms.n, r.verdict],
      [r.engine, 'under predict load', ...q(r.loaded_performance_100k_ms), r.loaded_performance_100k_ms.n, r.verdict],
    ]),
  ),
);
console.log(
  table(
    'predict from another client (ms): alone, and while 1. and 2. run',
    ['engine', 'when', 'p50', 'p90', 'p99', 'max', 'n'],
    results.flatMap((r) => [
      [r.engine, 'alone', ...q(r.predict_alone_ms), r.predict_alone_ms.n],
      [r.engine, 'during', ...q(r.predict_during_ms), r.predict_during_ms.n],
    ]),
  ),
);
console.log(JSON.stringify({ machine, results }));
