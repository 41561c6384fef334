#!/usr/bin/env node
// Two servers on one PostgreSQL: `npm run bench:replicas` (= npm run build && node
// tools/bench-replicas.mjs). Starts a PostgreSQL of its own on loopback (fsync on) and two
// `serve --http --demo` servers on it (one home: no object storage needed on one machine), then:
//   1. commit → served elsewhere: a promotion through server A's MCP endpoint, then server B's REST
//      answers polled until they name the new version; p50/p99 over the promotions;
//   2. what a logged prediction costs: wrk -t2 -c8 on A's REST scoring for a while, with A's CPU
//      (every thread of the process), PostgreSQL's CPU (every process of its cluster), the WAL it
//      wrote and the bytes its prediction tables grew by, per 1 000 predictions — the figures
//      docs/scale-out.md sizes the guide's 10 pods × 1 000 requests/s with.
// Tables on stdout, then a JSON line; progress on stderr. Needs wrk (apt-get install wrk).
process.env.ORT_DISABLE_TELEMETRY = '1';

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, httpClient, progress, round, scratch, sleep, spawnHttp, summarize, table } from './bench/lib.mjs';

const quick = process.argv.includes('--quick');
const PROMOTIONS = quick ? 20 : 100;
const WRK_SECONDS = quick ? 4 : 15;
const { dir: tmp, pgDir, startPostgres } = scratch('replicas');
if (spawnSync('wrk', ['--version']).error) throw new Error('wrk is not installed: apt-get install wrk');

const url = startPostgres();
const pg = (await import('pg')).default;
const db = new pg.Client({ connectionString: url });
await db.connect();
const one = async (sql) => (await db.query(sql)).rows[0];

const env = { ...process.env, MLOPS_MCP_HOME: path.join(tmp, 'home'), MLOPS_MCP_DATABASE_URL: url, LOG_LEVEL: 'warn' };
let bar = progress('starting two servers on one PostgreSQL');
const a = await spawnHttp(CLI, ['serve', '--http', '--demo', '--port', '0'], env);
const b = await spawnHttp(CLI, ['serve', '--http', '--demo', '--port', '0'], env);
bar.done();
const base = (srv) => srv.url.replace(/\/mcp$/, '');
const features = [1, 2, 24.1, 6.2, 5, 27.4, 5.8, 6.1, 34.5, 112.3];
const body = JSON.stringify({ inputs: [features] });
const servedBy = async (srv) => {
  const r = await fetch(`${base(srv)}/api/v1/predict/nba_points`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ features }),
  });
  return (await r.json()).version;
};

// ------------------------------------------------------------------ 1. commit → served elsewhere
bar = progress(`1. ${PROMOTIONS} promotions through A, B polled`);
const { client } = await httpClient(a.url);
const lag = [];
for (let i = 0; i < PROMOTIONS; i++) {
  const target = i % 2 ? 'v1' : 'v2';
  const r = await client.callTool({
    name: 'promote_model',
    arguments: { name: 'nba_points', version: target, target_stage: 'production', archive_existing: false },
  });
  if (r.isError) throw new Error(r.content[0].text);
  const t0 = performance.now();
  while ((await servedBy(b)) !== target) if (performance.now() - t0 > 5000) throw new Error('B never served the new version');
  lag.push(performance.now() - t0);
  await sleep(20);
}
bar.done();
const lagS = summarize(lag);
console.log(
  `# Two servers on one PostgreSQL ${(await one("SELECT current_setting('server_version') AS v")).v} (loopback, fsync on) · ${os.cpus().length} × ${os.cpus()[0]?.model?.trim()} · load average ${os
    .loadavg()
    .map((x) => round(x, 2))
    .join(' ')}${quick ? ' · --quick' : ''}`,
);
console.log(
  table(
    '1. a promotion through A, until B serves it (REST answers polled back to back)',
    ['promotions', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
    [[lagS.n, round(lagS.p50, 2), round(lagS.p90, 2), round(lagS.p99, 2), round(lagS.max, 2)]],
  ),
);

// ------------------------------------------------------------------ 2. what a prediction costs
const ticks = (pid) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime of the whole process, in clock ticks
};
const HZ = 100;
const postmaster = Number(fs.readFileSync(path.join(pgDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
const clusterPids = () => [
  postmaster,
  ...fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number),
];
/** CPU ticks of the cluster's processes now alive; the difference over a run counts those alive at both ends plus those started (connections are pooled: they live through the run). */
const clusterTicks = () => clusterPids().reduce((sum, p) => sum + (fs.existsSync(`/proc/${p}`) ? ticks(p) : 0), 0);
const tablesBytes = async () =>
  Number(
    (
      await one(
        "SELECT sum(pg_total_relation_size(c.oid))::bigint AS n FROM pg_class c WHERE c.relkind = 'r' AND (c.relname LIKE 'predictions_p%' OR c.relname IN ('prediction_minutes', 'prediction_seconds', 'prediction_days', 'prediction_log_progress'))",
      )
    ).n,
  );
const lua = path.join(tmp, 'post.lua');
fs.writeFileSync(lua, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\n`);
spawnSync('wrk', ['-t2', '-c8', '-d2s', '-s', lua, `${base(a)}/invocations/nba_points`]); // warm-up
await sleep(1000);
await db.query('CHECKPOINT');
bar = progress(`2. wrk -t2 -c8 ${WRK_SECONDS} s on A's REST scoring`);
const loggedBefore = Number((await one('SELECT coalesce(sum(rows), 0) AS n FROM prediction_days')).n);
const walBefore = (await one('SELECT pg_current_wal_lsn() AS l')).l;
const bytesBefore = await tablesBytes();
const [aBefore, pgBefore] = [ticks(a.pid), clusterTicks()];
const out = spawnSync('wrk', ['-t2', '-c8', `-d${WRK_SECONDS}s`, '-s', lua, `${base(a)}/invocations/nba_points`], { encoding: 'utf8' }).stdout;
await sleep(1000); // the last flush
const [aAfter, pgAfter] = [ticks(a.pid), clusterTicks()];
const logged = Number((await one('SELECT coalesce(sum(rows), 0) AS n FROM prediction_days')).n) - loggedBefore;
const walBytes = Number((await one(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${walBefore}') AS n`)).n);
const tableGrowth = (await tablesBytes()) - bytesBefore;
bar.done();
const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
const perK = (x) => (x / logged) * 1000;
const cost = {
  requestsPerSecond: rps,
  requests,
  logged,
  serverCpuMsPer1000: perK(((aAfter - aBefore) / HZ) * 1000),
  postgresCpuMsPer1000: perK(((pgAfter - pgBefore) / HZ) * 1000),
  walBytesPer1000: perK(walBytes),
  tableBytesPer1000: perK(tableGrowth),
};
console.log(
  table(
    "2. per 1 000 predictions, single-row REST with every prediction logged (A's CPU counts all its threads)",
    ['req/s', 'logged', 'server CPU ms', 'PostgreSQL CPU ms', 'WAL bytes', 'table bytes'],
    [
      [
        round(rps, 0),
        logged,
        round(cost.serverCpuMsPer1000, 1),
        round(cost.postgresCpuMsPer1000, 1),
        round(cost.walBytesPer1000, 0),
        round(cost.tableBytesPer1000, 0),
      ],
    ],
  ),
);
// The guide's 10 pods × 1 000 requests/s, from these figures.
const load = 10 * 1000;
console.log(
  `\nsizing 10 pods × 1 000 req/s: ${round((1000 * cost.serverCpuMsPer1000) / 1000 / 1000, 2)} cores per pod; PostgreSQL ${round((load * cost.postgresCpuMsPer1000) / 1000 / 1000, 2)} cores, ` +
    `${round((load * cost.walBytesPer1000) / 1000 / 1048576, 2)} MiB/s of WAL, ${round((load * 86400 * cost.tableBytesPer1000) / 1000 / 1073741824, 1)} GiB of log a day`,
);
console.log(JSON.stringify({ bench_replicas: { commitToServedMs: lagS, cost } }));
await db.end();
process.exit(0);
