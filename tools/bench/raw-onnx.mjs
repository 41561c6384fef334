// Section 1: onnxruntime-node in-process, no MCP: what a prediction costs at the bottom.
// ORT_DISABLE_TELEMETRY is set by index.mjs before anything imports onnxruntime-node.
import path from 'node:path';
import { FIXTURES, median, memoryClient, progress, summarize } from './lib.mjs';
import { createNoopServer } from './noop-server.mjs';

/** Row-major float32 matrix of `n` rows, cycling through the feature rows. */
function matrixOf(rows, features, n) {
  const k = features.length;
  const m = new Float32Array(n * k);
  for (let r = 0; r < n; r++) {
    const row = rows[r % rows.length];
    for (let j = 0; j < k; j++) m[r * k + j] = row[features[j]];
  }
  return m;
}

/**
 * The same single-row run, with one in-process MCP noop call between runs: as in a server, other
 * work between predictions leaves caches cold (a tight loop of runs is the best case).
 */
async function singleRowBetweenCalls(ort, session, input, rows, features, { warmup = 500, n = 5000 }) {
  const k = features.length;
  const singles = Array.from({ length: 256 }, (_, i) => matrixOf([rows[i % rows.length]], features, 1));
  const noop = await memoryClient(createNoopServer);
  const lat = new Float64Array(n);
  try {
    for (let i = 0; i < warmup + n; i++) {
      await noop.client.callTool({ name: 'noop', arguments: { text: 'ping' } });
      const t = performance.now();
      await session.run({ [input]: new ort.Tensor('float32', singles[i & 255], [1, k]) });
      if (i >= warmup) lat[i - warmup] = (performance.now() - t) * 1000;
      if ((i & 63) === 0) await new Promise((r) => setImmediate(r));
    }
  } finally {
    await noop.close();
  }
  return summarize(lat);
}

/**
 * The same single-row run after the thread has slept ~150 µs, as a server's event loop sleeps
 * between requests (about the client's share of a stdio round trip here). On this VM a run after
 * an idle gap costs ~40–45 µs against ~9 in a tight loop, for every session option tried (arena,
 * memory pattern, graph optimization, spinning, log level): the sleeping core's caches are cold.
 */
async function singleRowAfterIdle(ort, session, input, rows, features, { warmup = 500, n = 3000, idleMs = 0.15 }) {
  const k = features.length;
  const singles = Array.from({ length: 256 }, (_, i) => matrixOf([rows[i % rows.length]], features, 1));
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const lat = new Float64Array(n);
  for (let i = 0; i < warmup + n; i++) {
    Atomics.wait(sleeper, 0, 0, idleMs);
    const t = performance.now();
    await session.run({ [input]: new ort.Tensor('float32', singles[i & 255], [1, k]) });
    if (i >= warmup) lat[i - warmup] = (performance.now() - t) * 1000;
  }
  return summarize(lat);
}

async function singleRow(ort, session, input, rows, features, { warmup = 1000, n = 5000 }) {
  const k = features.length;
  const singles = Array.from({ length: 256 }, (_, i) => matrixOf([rows[i % rows.length]], features, 1));
  for (let i = 0; i < warmup; i++) await session.run({ [input]: new ort.Tensor('float32', singles[i & 255], [1, k]) });
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await session.run({ [input]: new ort.Tensor('float32', singles[i & 255], [1, k]) });
    lat[i] = (performance.now() - t) * 1000;
  }
  return summarize(lat);
}

async function batchRate(ort, session, input, rows, features, n, reps) {
  const k = features.length;
  const m = matrixOf(rows, features, n);
  for (let i = 0; i < 3; i++) await session.run({ [input]: new ort.Tensor('float32', m, [n, k]) });
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await session.run({ [input]: new ort.Tensor('float32', m, [n, k]) });
    times.push(performance.now() - t);
  }
  const ms = median(times);
  return { rows: n, medianMs: ms, rowsPerSec: (n / ms) * 1000 };
}

export async function rawOnnx({ rows, features }) {
  const bar = progress('1. raw onnxruntime-node');
  const ort = await import('onnxruntime-node');
  const input = 'float_input';
  // The options the server's session cache uses (MODEL_THREADS=1 by default).
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const v1 = await ort.InferenceSession.create(path.join(FIXTURES, 'nba_points_v1.onnx'), options);
  const v2 = await ort.InferenceSession.create(path.join(FIXTURES, 'nba_points_v2.onnx'), options);
  const out = {
    v1: {
      singleUs: await singleRow(ort, v1, input, rows, features, { n: 5000 }),
      singleBetweenCallsUs: await singleRowBetweenCalls(ort, v1, input, rows, features, { n: 5000 }),
      singleAfterIdleUs: await singleRowAfterIdle(ort, v1, input, rows, features, {}),
      batch1k: await batchRate(ort, v1, input, rows, features, 1_000, 50),
      batch10k: await batchRate(ort, v1, input, rows, features, 10_000, 20),
    },
    v2: {
      singleUs: await singleRow(ort, v2, input, rows, features, { n: 5000 }),
      singleBetweenCallsUs: await singleRowBetweenCalls(ort, v2, input, rows, features, { n: 5000 }),
      singleAfterIdleUs: await singleRowAfterIdle(ort, v2, input, rows, features, {}),
      batch1k: await batchRate(ort, v2, input, rows, features, 1_000, 30),
      batch10k: await batchRate(ort, v2, input, rows, features, 10_000, 10),
    },
  };
  await v1.release();
  await v2.release();
  bar.done();
  return out;
}
