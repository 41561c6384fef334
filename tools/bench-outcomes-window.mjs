#!/usr/bin/env node
// get_model_performance's computation in process, without MCP: `node tools/bench-outcomes-window.mjs
// [ROOT …]` (after `npm run build`). 100 000 outcomes of nba_win_predictor (split 50/50: the A/B
// comparison is computed too) are recorded straight into the store of a fresh home, on SQLite and
// on PostgreSQL (a throwaway server, fsync on, ANALYZE run after loading); then each ROOT's build
// (default: this checkout; give another checkout's path to compare, e.g. the build before a
// change) opens the same data and times PerformanceService.report over the window RUNS times
// (default 15), the builds taking turns, wall and this process's CPU. Every build's last report
// must be identical JSON (it is printed if not). Tables on stdout, then a JSON line.
process.env.ORT_DISABLE_TELEMETRY = '1';

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, round, scratch, summarize, table } from './bench/lib.mjs';

const NAME = 'nba_win_predictor';
const WINDOW = 100_000;
const RUNS = Number(process.env.RUNS ?? 15);
const roots = process.argv.slice(2).length ? process.argv.slice(2).map((r) => path.resolve(r)) : [ROOT];
const { dir: tmp, startPostgres } = scratch('outcomes-window');
const who = { actor: 'bench', reason: 'outcomes window' };

async function open(root, home, url) {
  const load = (m) => import(pathToFileURL(path.join(root, 'dist', m)).href);
  const [{ loadConfig }, { createAppContext }] = await Promise.all([load('config.js'), load('context.js')]);
  const { pino } = await import('pino');
  const env = { MLOPS_MCP_HOME: home, LOG_LEVEL: 'silent', ...(url ? { MLOPS_MCP_DATABASE_URL: url } : {}) };
  return { app: await createAppContext(loadConfig(env, home), pino({ level: 'silent' })), load };
}

/** The demo models, the split, and WINDOW outcomes (a third of them wrong), 10 000 per call. */
async function fill(home, url) {
  const { app, load } = await open(ROOT, home, url);
  await (await load('demo.js')).loadDemo(app, { history: false });
  await app.serving.configureTraffic(NAME, { 'v1.5': 0.5, 'v2.0': 0.5 }, 'random', who, false);
  const t0 = Date.now() - 3 * 86_400_000;
  for (let c = 0; c < WINDOW / 10_000; c++) {
    const rows = Array.from({ length: 10_000 }, (_, i) => {
      const k = c * 10_000 + i;
      const p = ((k * 7919) % 1000) / 1000 + 1e-4;
      const said = p > 0.5 ? 1 : 0;
      const actual = (k * 31) % 3 ? said : 1 - said;
      return {
        predictionId: `bench-${k}`,
        name: NAME,
        version: k % 2 ? 'v1.5' : 'v2.0',
        predictedAt: t0 + k * 2000,
        routingKey: null,
        predicted: null,
        actual: null,
        predictedLabel: String(said),
        actualLabel: String(actual),
        probabilities: Float64Array.from([1 - p, p]),
        pActual: actual ? p : 1 - p,
        brier: (p - actual) ** 2,
        pPositive: p,
      };
    });
    await app.store.outcomes.record(NAME, rows, who, {});
  }
  await app.close();
}

async function engine(name, url) {
  const home = fs.mkdtempSync(path.join(tmp, `${name}-`));
  process.stderr.write(`${name}: recording ${WINDOW} outcomes…\n`);
  await fill(home, url);
  if (url) {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('ANALYZE outcomes');
    await c.end();
  }
  const opened = [];
  for (const root of roots) opened.push({ root, ...(await open(root, home, url)) });
  const wall = opened.map(() => []);
  const cpu = opened.map(() => []);
  const last = [];
  for (let i = 0; i < RUNS; i++)
    for (const [j, { app }] of opened.entries()) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      last[j] = await app.performance.report(NAME, { lastN: WINDOW });
      wall[j].push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[j].push((c.user + c.system) / 1000);
    }
  for (const { app } of opened) await app.close();
  const json = last.map((r) => JSON.stringify(r));
  if (json.some((j) => j !== json[0])) console.log(`${name}: the reports differ:\n${json.join('\n')}`);
  return opened.map(({ root }, j) => ({
    engine: name,
    root,
    outcomes: last[j].outcomes,
    identical: json[j] === json[0],
    wall_ms: { ...summarize(wall[j]), min: Math.min(...wall[j]) },
    cpu_ms: { ...summarize(cpu[j]), min: Math.min(...cpu[j]) },
  }));
}

const adminUrl = startPostgres();
const pg = (await import('pg')).default;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query('CREATE DATABASE bench_window');
await admin.end();
const loadAvgAtStart = os.loadavg().map((x) => round(x, 2));
const results = [...(await engine('sqlite', null)), ...(await engine('postgresql', adminUrl.replace(/\/postgres$/, '/bench_window')))];
console.log(`# get_model_performance's report over ${WINDOW.toLocaleString('en-US')} outcomes, in process (${RUNS} runs)
node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model?.trim()} · load average at start ${loadAvgAtStart.join(' ')}, at end ${os
  .loadavg()
  .map((x) => round(x, 2))
  .join(' ')}`);
console.log(
  table(
    'report (ms)',
    ['engine', 'build', 'wall p50', 'wall min', 'cpu p50', 'cpu min', 'same answer'],
    results.map((r) => [
      r.engine,
      r.root,
      round(r.wall_ms.p50, 1),
      round(r.wall_ms.min, 1),
      round(r.cpu_ms.p50, 1),
      round(r.cpu_ms.min, 1),
      r.identical ? 'yes' : 'NO',
    ]),
  ),
);
console.log(JSON.stringify({ loadAvgAtStart, results }));
process.exit(0);
