// Sections 2–4: the noop floor and mlops-mcp's predict over InMemoryTransport, stdio and
// Streamable HTTP; batch_predict next to echo_rows over stdio.
import {
  CLI,
  NOOP,
  ROOT,
  callOk,
  sleep,
  concurrent,
  httpClient,
  median,
  memoryClient,
  memoryOf,
  progress,
  sequential,
  spawnHttp,
  stdioClient,
  stopPid,
} from './lib.mjs';
import { createNoopServer } from './noop-server.mjs';

const dist = (p) => import(new URL(`../../dist/${p}`, import.meta.url).href);

/** The environment a user would have: no telemetry switch (the server sets it itself). */
export function serverEnv(home) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'ORT_DISABLE_TELEMETRY') env[k] = v;
  return { ...env, MLOPS_MCP_HOME: home, LOG_LEVEL: 'info' };
}

/**
 * A server under test: connect() gives a client. Over stdio there is one connection, and
 * concurrent callers share it (several calls in flight on one pipe).
 */
async function startEndpoint(kind, transport, { home }) {
  if (transport === 'memory') {
    if (kind === 'noop') return { pid: null, connect: () => memoryClient(createNoopServer), close: async () => undefined };
    const { loadConfig } = await dist('config.js');
    const { createAppContext } = await dist('context.js');
    const { createMcpServer } = await dist('mcp/server.js');
    const { createLogger } = await dist('logger.js');
    const config = loadConfig({ MLOPS_MCP_HOME: home, LOG_LEVEL: 'silent' }, ROOT);
    const app = await createAppContext(config, createLogger('silent'));
    return { pid: null, connect: () => memoryClient(() => createMcpServer(app, { readOnly: false, transport: 'memory' })), close: () => app.close() };
  }
  if (transport === 'stdio') {
    const conn = kind === 'noop' ? await stdioClient(NOOP, ['--stdio'], serverEnv(home)) : await stdioClient(CLI, ['serve', '--stdio'], serverEnv(home));
    return { pid: conn.pid, connect: async () => ({ client: conn.client, close: async () => undefined }), close: () => conn.close(), stderr: conn.stderr };
  }
  const srv =
    kind === 'noop'
      ? await spawnHttp(NOOP, ['--http', '--port', '0'], serverEnv(home))
      : await spawnHttp(CLI, ['serve', '--http', '--port', '0'], serverEnv(home));
  return { pid: srv.pid, connect: () => httpClient(srv.url), close: () => stopPid(srv.pid), stderr: srv.stderr };
}

const check = (r, what) => {
  if (r.isError) throw new Error(`${what} failed: ${r.content?.[0]?.text}`);
  return r;
};

/** Registers the demo into a fresh home the way a user would: `serve --stdio --demo`. */
export async function setupDemo(home) {
  const bar = progress('setup: serve --stdio --demo on a fresh MLOPS_MCP_HOME');
  const conn = await stdioClient(CLI, ['serve', '--stdio', '--demo'], serverEnv(home));
  try {
    const m = await callOk(conn.client, 'get_model', { name: 'nba_points', stage: 'production' });
    const version = m.version ?? m.model?.version;
    if (version !== 'v1') throw new Error(`expected nba_points v1 in production, got ${JSON.stringify(m).slice(0, 300)}`);
  } finally {
    await conn.close();
  }
  bar.done();
}

/**
 * Per transport: noop (floor) and predict, sequential latency and calls/s with 1 and 8
 * concurrent clients; over stdio also the batch section. Returns results and peak memory.
 */
export async function runTransport(transport, { home, rows, features, seqN, warmup, durationMs, batch }) {
  const noop = await startEndpoint('noop', transport, { home });
  let ours;
  let naiveHost;
  const opened = [];
  try {
    ours = await startEndpoint('ours', transport, { home });
    // naive_predict gets a floor-server process of its own, so it is measured as predict is: in
    // its own process, in blocks alternating with noop's. Served by noop's process (before
    // 2026-11-24), it looked 40–60 µs faster over stdio than in a process of its own: one process
    // answering both never idled between blocks.
    naiveHost = await startEndpoint('noop', transport, { home });
    const nc = await noop.connect();
    const oc = await ours.connect();
    const vc = await naiveHost.connect();
    opened.push(nc, oc, vc);

    const noopCall = (client) => async () => check(await client.callTool({ name: 'noop', arguments: { text: 'ping' } }), 'noop');
    const serverLatency = [];
    const predictCall = (client, keep) => async (i) => {
      const r = check(await client.callTool({ name: 'predict', arguments: { name: 'nba_points', features: rows[i % rows.length] } }), 'predict');
      if (keep) serverLatency.push(r.structuredContent.latency_ms);
    };

    const res = { transport, floor: {}, predict: {} };
    const naiveCall = (client) => async (i) =>
      check(await client.callTool({ name: 'naive_predict', arguments: { name: 'nba_points', features: rows[i % rows.length] } }), 'naive_predict');
    const seq = await sequential(
      `${transport}: noop and predict, sequential, interleaved`,
      {
        floor: { call: noopCall(nc.client), pid: noop.pid },
        predict: { call: predictCall(oc.client, true), pid: ours.pid },
      },
      { n: seqN, warmup },
    );
    res.floor.sequential = seq.floor;
    // The reference point in a run of its own, beside noop again: as a third target in the run
    // above it moved predict's figures (each server idled through two blocks instead of one;
    // predict's server CPU per call rose ~50 µs and its p99 ~0.7 ms in three runs).
    const ref = await sequential(
      `${transport}: noop and naive_predict, sequential, interleaved`,
      {
        floor: { call: noopCall(nc.client), pid: noop.pid },
        naive: { call: naiveCall(vc.client), pid: naiveHost.pid },
      },
      { n: seqN, warmup },
    );
    res.naive = { sequential: ref.naive, floor: ref.floor };
    res.predict.sequential = { ...seq.predict, serverLatencyMs: median(serverLatency.slice(-seqN)) };

    const eight = async (ep) => {
      if (transport === 'stdio') return { clients: Array(8).fill((await ep.connect()).client), extra: [] };
      const extra = [];
      for (let i = 0; i < 8; i++) extra.push(await ep.connect());
      opened.push(...extra);
      return { clients: extra.map((c) => c.client), extra };
    };
    const n8 = await eight(noop);
    const o8 = await eight(ours);
    // Six rounds each, in ABBA order (noop, predict, predict, noop, noop, predict, …): both see
    // the same machine. The ratio is the median of the six rounds' predict/noop ratios, each
    // round next to its pair: this VM's throughput swings by a third within seconds (904 then
    // 648 noop calls/s over HTTP in two runs a minute apart), and a ratio of four rounds' means
    // (before 2026-12-01) read 0.77 in one bench where three runs of the section read 0.91–0.94.
    const perRound = { floor: [], predict: [] };
    const rounds = 6;
    for (let h = 0; h < rounds; h++) {
      const noopRound = async () =>
        perRound.floor.push(
          await concurrent(`${transport}: noop ×8 (${h + 1}/${rounds})`, n8.clients.map(noopCall), { durationMs: durationMs / 2, pid: noop.pid }),
        );
      const predictRound = async () =>
        perRound.predict.push(
          await concurrent(
            `${transport}: predict ×8 (${h + 1}/${rounds})`,
            o8.clients.map((c) => predictCall(c, false)),
            { durationMs: durationMs / 2, pid: ours.pid },
          ),
        );
      for (const round of h % 2 ? [predictRound, noopRound] : [noopRound, predictRound]) await round();
    }
    const mean = (xs, k) => (xs.every((x) => x[k] !== null) ? xs.reduce((a, x) => a + x[k], 0) / xs.length : null);
    const avg = (xs) => ({
      workers: xs[0].workers,
      callsPerSec: mean(xs, 'callsPerSec'),
      benchCpuPct: mean(xs, 'benchCpuPct'),
      serverCpuPct: mean(xs, 'serverCpuPct'),
    });
    res.floor.c8 = avg(perRound.floor);
    res.predict.c8 = avg(perRound.predict);
    res.c8RoundRatios = perRound.predict.map((p, i) => p.callsPerSec / perRound.floor[i].callsPerSec);
    res.c8Ratio = median(res.c8RoundRatios);
    res.c8Mode =
      transport === 'stdio'
        ? '8 calls in flight on one stdio connection'
        : transport === 'http'
          ? '8 Client sessions (one HTTP session each)'
          : '8 Client/McpServer pairs in-process';

    if (batch) res.batch = await batchSection(nc.client, oc.client, { rows, features });

    res.memory = {
      floorServer: noop.pid ? memoryOf(noop.pid) : null,
      ourServer: ours.pid ? memoryOf(ours.pid) : null,
    };
    return res;
  } finally {
    for (const c of opened.reverse()) await c.close().catch(() => undefined);
    if (ours) await ours.close().catch(() => undefined);
    if (naiveHost) await naiveHost.close().catch(() => undefined);
    await noop.close().catch(() => undefined);
  }
}

/**
 * batch_predict of 1 000 and 10 000 rows next to echo_rows of the same rows, over stdio.
 * Two ways: back-to-back (the server's prediction-log flush of earlier calls, every 200 ms on the
 * same event loop, lands inside later calls: the sustained rate), and with an idle gap before each
 * call (long enough for that flush to finish: the cost of the call itself).
 */
async function batchSection(noopClient, ourClient, { rows, features }) {
  const out = {};
  for (const [n, reps, gapMs] of [
    [10_000, 6, 600],
    [1_000, 10, 300],
  ]) {
    const named = Array.from({ length: n }, (_, i) => rows[i % rows.length]);
    const arrays = named.map((r) => features.map((f) => r[f]));
    const one = async (client, tool, args) => {
      const t = performance.now();
      const r = check(await client.callTool({ name: tool, arguments: args }, undefined, { timeout: 120_000 }), tool);
      const ms = performance.now() - t;
      if (r.structuredContent.predictions.length !== n) throw new Error(`${tool} answered ${r.structuredContent.predictions.length} predictions for ${n} rows`);
      return { ms, server: r.structuredContent.latency_ms };
    };
    const time = async (label, client, tool, args) => {
      const bar = progress(`stdio: ${label} ${n.toLocaleString('en-US')} rows, ${reps} back-to-back + ${reps} after idle gaps`);
      await one(client, tool, args); // warm-up
      await sleep(gapMs);
      const b2b = [];
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) {
        b2b.push((await one(client, tool, args)).ms);
        bar.update(i + 1, 2 * reps);
      }
      const sustainedMs = performance.now() - t0;
      const gapped = [];
      const server = [];
      for (let i = 0; i < reps; i++) {
        await sleep(gapMs);
        const r = await one(client, tool, args);
        gapped.push(r.ms);
        if (r.server !== undefined) server.push(r.server);
        bar.update(reps + i + 1, 2 * reps);
      }
      bar.done();
      return {
        calls: reps,
        backToBackMedianMs: median(b2b),
        sustainedRowsPerSec: ((n * reps) / sustainedMs) * 1000,
        idleGapMedianMs: median(gapped),
        idleGapRowsPerSec: (n / median(gapped)) * 1000,
        requestBytes: Buffer.byteLength(JSON.stringify(args)),
        serverLatencyMs: server.length ? median(server) : null,
      };
    };
    const echo = await time('echo_rows (arrays)', noopClient, 'echo_rows', { rows: arrays });
    const arr = await time('batch_predict (arrays)', ourClient, 'batch_predict', { name: 'nba_points', rows: arrays });
    const obj = await time('batch_predict (named objects)', ourClient, 'batch_predict', { name: 'nba_points', rows: named });
    await sleep(gapMs);
    out[n] = {
      echo,
      arrays: arr,
      named: obj,
      ratioArraysIdleGap: arr.idleGapRowsPerSec / echo.idleGapRowsPerSec,
      ratioNamedIdleGap: obj.idleGapRowsPerSec / echo.idleGapRowsPerSec,
      ratioArraysSustained: arr.sustainedRowsPerSec / echo.sustainedRowsPerSec,
      ratioNamedSustained: obj.sustainedRowsPerSec / echo.sustainedRowsPerSec,
    };
  }
  return out;
}
