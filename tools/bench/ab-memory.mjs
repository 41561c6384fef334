#!/usr/bin/env node
// In-process A/B of predict (or, with BATCH=10000, batch_predict) between two builds, next to
// noop and naive_predict (or echo_rows), through InMemoryTransport: no pipes and no wake-ups, so
// two copies of one build agree within ~1 µs at p50 here (stdio A/B: ~6 µs). For a change to the
// server's own work; what it is worth over stdio still needs tools/bench/ab.mjs.
//
//   node tools/bench/ab.mjs --snapshot /tmp/base      keep this build
//   … change the code, npm run build …
//   node tools/bench/ab-memory.mjs /tmp/base . [blocks] [calls per block]
//   BATCH=10000 node tools/bench/ab-memory.mjs /tmp/base . 20 5
//   COLD=4 node tools/bench/ab-memory.mjs /tmp/base . 20 300
// COLD=MiB evicts the caches before each call (untimed): over stdio the server's caches go cold
// between calls (p50 here: predict ~190 µs, naive_predict ~165, noop ~95 with COLD=4, close to
// stdio's ratios; hot, in process, the three were 62/58/25). Noisier: A/A differs by ~15 µs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { memoryClient, referenceRows, summarize } from './lib.mjs';
import { createNoopServer } from './noop-server.mjs';
import { setupDemo } from './transports.mjs';

process.env.ORT_DISABLE_TELEMETRY = '1';
const args = process.argv.slice(2);
if (args.length < 2) throw new Error('usage: node tools/bench/ab-memory.mjs A_ROOT B_ROOT [blocks] [calls per block]');
const roots = args.slice(0, 2).map((r) => path.resolve(r));
const batch = Number(process.env.BATCH ?? 0);
const blocks = Number(args[2] ?? 30);
const per = Number(args[3] ?? (batch ? 5 : 1000));
// COLD: before each timed call, write a buffer of that many MiB (this VM's L2 is 2 MiB a core).
const cold = new Float64Array(Number(process.env.COLD ?? 0) * 131072);
const evict = () => {
  for (let i = 0; i < cold.length; i += 8) cold[i] += 1;
};

const { features, rows } = referenceRows();
const arrays = Array.from({ length: batch || 1 }, (_, i) => features.map((f) => rows[i % rows.length][f]));

const targets = [];
const homes = [];
try {
  for (const [i, root] of roots.entries()) {
    const dist = (p) => import(path.join(root, 'dist', p));
    const { loadConfig } = await dist('config.js');
    const { createAppContext } = await dist('context.js');
    const { createMcpServer } = await dist('mcp/server.js');
    const { createLogger } = await dist('logger.js');
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-ab-memory-'));
    homes.push(home);
    await setupDemo(home);
    const app = await createAppContext(loadConfig({ MLOPS_MCP_HOME: home, LOG_LEVEL: 'silent' }, root), createLogger('silent'));
    const c = await memoryClient(() => createMcpServer(app, { readOnly: false, transport: 'memory' }));
    const call = batch
      ? () => c.client.callTool({ name: 'batch_predict', arguments: { name: 'nba_points', rows: arrays } })
      : (k) => c.client.callTool({ name: 'predict', arguments: { name: 'nba_points', features: rows[k % rows.length] } });
    targets.push({ label: `${'AB'[i]} ${root}`, call, lat: [], close: () => app.close() });
  }
  const floor = await memoryClient(createNoopServer);
  if (batch) targets.push({ label: 'echo_rows', call: () => floor.client.callTool({ name: 'echo_rows', arguments: { rows: arrays } }), lat: [] });
  else {
    targets.push({
      label: 'naive_predict',
      call: (k) => floor.client.callTool({ name: 'naive_predict', arguments: { name: 'nba_points', features: rows[k % rows.length] } }),
      lat: [],
    });
    targets.push({ label: 'noop', call: () => floor.client.callTool({ name: 'noop', arguments: { text: 'ping' } }), lat: [] });
  }
  for (const t of targets) {
    for (let k = 0; k < (batch ? 20 : 5000); k++) {
      const r = await t.call(k);
      if (r.isError) throw new Error(`${t.label}: ${r.content?.[0]?.text}`);
    }
  }
  // Blocks in alternating order, so a busy moment of the machine weighs on every target alike.
  for (let b = 0; b < blocks; b++) {
    for (const t of b % 2 ? [...targets].reverse() : targets) {
      for (let k = 0; k < per; k++) {
        if (cold.length) evict();
        const started = performance.now();
        await t.call(k);
        t.lat.push(performance.now() - started);
      }
    }
  }
  const unit = batch ? ['ms', 1] : ['µs', 1000];
  for (const t of targets) {
    const s = summarize(Float64Array.from(t.lat));
    const mean = t.lat.reduce((a, x) => a + x, 0) / t.lat.length;
    const f = (x) => (x * unit[1]).toFixed(batch ? 2 : 1);
    console.log(`${t.label.padEnd(40)} p50 ${f(s.p50)} ${unit[0]}  mean ${f(mean)}  p90 ${f(s.p90)}`);
  }
} finally {
  for (const t of targets) await t.close?.();
  for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
}
process.exit(0);
