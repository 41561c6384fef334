#!/usr/bin/env node
// Interleaved A/B of `predict` over stdio between two builds, next to the noop floor.
//
//   node tools/bench/ab.mjs --snapshot /tmp/base     copy this checkout's build (dist/ and
//                                                   package.json; node_modules and fixtures linked)
//   … change the code, npm run build …
//   node tools/bench/ab.mjs /tmp/base . [calls]      A = /tmp/base, B = this checkout
//   node tools/bench/ab.mjs --naive /tmp/base .      also naive_predict, on a floor server of its own
//
// Each build serves its own fresh demo home; calls go in blocks (A, B, noop[, naive]; then the
// reverse order), so a busy moment of this shared machine hits all of them alike. Separate runs of
// the full bench differ by 20–50 µs at p50 here; interleaved, two copies of one build agree
// within ~6 µs. Prints p50/p90/p99 per server, Δ p50 over noop, the server's main-thread CPU per
// call (from /proc, 10 ms ticks) and this client's CPU per call.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NOOP, ROOT, referenceRows, stdioClient, summarize } from './lib.mjs';
import { serverEnv, setupDemo } from './transports.mjs';

const withNaive = process.argv.includes('--naive');
const args = process.argv.slice(2).filter((a) => a !== '--naive');
if (args[0] === '--snapshot') {
  const dir = path.resolve(args[1] ?? '');
  if (!args[1] || fs.existsSync(dir)) throw new Error('usage: --snapshot DIR (a directory that does not exist yet)');
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  for (const link of ['node_modules', 'fixtures']) fs.symlinkSync(path.join(ROOT, link), path.join(dir, link));
  process.stderr.write(`[ab] build snapshot in ${dir}\n`);
  process.exit(0);
}
if (args.length < 2) throw new Error('usage: node tools/bench/ab.mjs A_ROOT B_ROOT [calls]   (or --snapshot DIR)');
const roots = args.slice(0, 2).map((r) => path.resolve(r));
const calls = Number(args[2] ?? 6000);

const { rows } = referenceRows();

/** utime + stime of a process's main thread, in clock ticks. */
function mainThreadTicks(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

const homes = [];
const targets = [];
try {
  for (const [i, root] of roots.entries()) {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-ab-'));
    homes.push(home);
    await setupDemo(home);
    const conn = await stdioClient(path.join(root, 'dist', 'cli.js'), ['serve', '--stdio'], serverEnv(home));
    const call = (k) => conn.client.callTool({ name: 'predict', arguments: { name: 'nba_points', features: rows[k % rows.length] } });
    targets.push({ label: `${'AB'[i]} ${root}`, conn, call, lat: [], ticks: 0 });
  }
  const noop = await stdioClient(NOOP, ['--stdio'], serverEnv(homes[0]));
  targets.push({ label: 'noop', conn: noop, call: () => noop.client.callTool({ name: 'noop', arguments: { text: 'ping' } }), lat: [], ticks: 0 });
  if (withNaive) {
    const naive = await stdioClient(NOOP, ['--stdio'], serverEnv(homes[0]));
    const call = (k) => naive.client.callTool({ name: 'naive_predict', arguments: { name: 'nba_points', features: rows[k % rows.length] } });
    targets.push({ label: 'naive_predict', conn: naive, call, lat: [], ticks: 0 });
  }

  for (const t of targets) {
    for (let k = 0; k < 5000; k++) {
      const r = await t.call(k);
      if (r.isError) throw new Error(`${t.label}: ${r.content?.[0]?.text}`);
    }
  }
  const blocks = 20;
  const per = Math.ceil(calls / blocks);
  for (let b = 0; b < blocks; b++) {
    const order = b % 2 ? [...targets].reverse() : targets;
    for (const t of order) {
      const before = mainThreadTicks(t.conn.pid);
      const cpu = process.cpuUsage();
      for (let k = 0; k < per; k++) {
        const started = performance.now();
        await t.call(k);
        t.lat.push(performance.now() - started);
      }
      t.ticks += mainThreadTicks(t.conn.pid) - before;
      const used = process.cpuUsage(cpu);
      t.clientUs = (t.clientUs ?? 0) + used.user + used.system;
    }
  }
  const floor = summarize(Float64Array.from(targets.find((t) => t.label === 'noop').lat)).p50;
  for (const t of targets) {
    const s = summarize(Float64Array.from(t.lat));
    const delta = t.label === 'noop' ? '' : ` (Δ ${(s.p50 - floor).toFixed(3)})`;
    const cpu = ((t.ticks * (1e6 / 100)) / t.lat.length).toFixed(0);
    const client = (t.clientUs / t.lat.length).toFixed(0);
    console.log(
      `${t.label.padEnd(40)} p50 ${s.p50.toFixed(3)}${delta} p90 ${s.p90.toFixed(3)} p99 ${s.p99.toFixed(3)} ms; server main thread ${cpu} µs CPU/call, client ${client}`,
    );
  }
} finally {
  for (const t of targets) await t.conn.close();
  for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
}
