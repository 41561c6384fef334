// Section 5: what logging adds to each prediction on the request path — PredictionLog.append,
// ServingStats.record and ServingMetrics.record, through serving's PredictionRecorder —
// and what the flush (off the request path, but on the same event loop) costs per row.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { progress } from './lib.mjs';

const dist = (p) => import(new URL(`../../dist/${p}`, import.meta.url).href);

export async function loggingCost({ tmp, n = 100_000, warmup = 20_000 }) {
  const bar = progress(`5. logging cost (${n.toLocaleString('en-US')} appends, then flush)`);
  const { openSqliteStore } = await dist('store/sqlite/index.js');
  const { PredictionLog } = await dist('serving/prediction-log.js');
  const { PredictionRecorder } = await dist('serving/prediction-recorder.js');
  const { ServingStats } = await dist('serving/stats.js');
  const { ServingMetrics } = await dist('serving/metrics.js');
  const { SessionCache } = await dist('serving/session-cache.js');
  const { ModelPool } = await dist('serving/model-pool.js');
  const { createLogger } = await dist('logger.js');

  const logger = createLogger('silent');
  const dbPath = path.join(tmp, 'logging-bench.db');
  const store = openSqliteStore(dbPath, logger);
  const newLog = () => new PredictionLog({ sink: store.predictions.openSink(), logger }, opts);
  // Flushing on an hour-long timer: only explicit flush() calls write.
  const opts = { flushMs: 3_600_000, maxRows: 100_000_000, maxAgeMs: 365 * 86_400_000, maxPending: 10_000_000 };
  const log = newLog();
  const stats = new ServingStats(300_000);
  // Only for the metrics' cache gauges: no model is loaded here (so no model process starts).
  const limits = { runTimeoutMs: 1000, loadTimeoutMs: 1000, memoryMb: 256, maxOutputBytes: 1 << 20 };
  const sessions = new SessionCache(new ModelPool({ processes: 2, threads: 1, limits, readModel: async () => new Uint8Array() }), 50, 3_600_000);
  const metrics = new ServingMetrics(sessions);

  const total = warmup + n;
  const ids = Array.from({ length: total }, () => randomUUID());
  // What a predict request already holds when it logs: its feature matrix and ONNX output.
  const POOL = 1024;
  const matrices = Array.from({ length: POOL }, (_, i) => Float64Array.from({ length: 10 }, (_, j) => ((i * 7 + j * 3) % 41) + 0.1 * j));
  const outputs = Array.from({ length: POOL }, (_, i) => ({ predictions: [Math.fround(10 + (i % 97) * 0.37)], probabilities: null }));
  const name = 'nba_points';
  const version = 'v1';

  // What serving does with each prediction: the PredictionRecorder it calls.
  const recorder = new PredictionRecorder({ log, stats, metrics }, () => true);
  const recordOne = (i, id = ids[i]) => {
    const call = { id, name, at: Date.now(), routingKey: undefined, latencyMs: 0.05 + (i % 50) * 0.003, indices: null };
    recorder.served(call, version, { matrix: matrices[i & (POOL - 1)], width: 10 }, outputs[i & (POOL - 1)]);
  };

  for (let i = 0; i < warmup; i++) recordOne(i);
  await log.flush(); // the warm-up rows, not timed
  // Drop the warm-up window events so the alert check below sees exactly n events.
  stats.drainTouched(Date.now() + 10 * 300_000);

  const t0 = performance.now();
  for (let i = warmup; i < total; i++) recordOne(i);
  const perPredictionUs = ((performance.now() - t0) * 1000) / n;

  // The parts, each over n calls (fresh instances, so one part's state does not slow another).
  const part = (fn) => {
    for (let i = 0; i < 5000; i++) fn(i);
    const t = performance.now();
    for (let i = 0; i < n; i++) fn(i);
    return ((performance.now() - t) * 1000) / n;
  };
  const log2 = newLog();
  const stats2 = new ServingStats(300_000);
  const metrics2 = new ServingMetrics(sessions);
  const parts = {
    appendUs: part((i) =>
      log2.append({
        id: ids[i],
        indices: null,
        rows: 1,
        name,
        version,
        ok: true,
        error: null,
        matrix: matrices[i & (POOL - 1)],
        width: 10,
        rawFeatures: null,
        output: outputs[i & (POOL - 1)],
        latencyMs: 0.1,
        routingKey: null,
        at: Date.now(),
      }),
    ),
    statsRecordUs: part((i) => stats2.record(name, version, true, 0.05 + (i % 50) * 0.003, Date.now(), 1)),
    metricsRecordUs: part((i) => metrics2.record(name, version, true, 1, (0.05 + (i % 50) * 0.003) / 1000)),
  };

  // The flush: the event loop posts the pending predictions to the writer thread (a structured
  // clone), which turns them into rows (JSON of features and output) and inserts them.
  const timedFlush = async () => {
    const rows = log.pendingCount;
    const t = performance.now();
    const done = log.flush();
    const loopMs = performance.now() - t;
    await done;
    return { rows, loopMs, ms: performance.now() - t };
  };
  const flush = await timedFlush();
  // A flush the size the server sees every 200 ms at ~3 000 predictions/s.
  for (let i = 0; i < 600; i++) recordOne(i, randomUUID());
  const flushSmall = await timedFlush();

  // ServingService.checkAlerts runs every second on the same event loop: it filters and sorts the
  // whole alert window (ALERT_WINDOW_SECONDS, default 300 s) of every model that saw traffic.
  const windowEvents = n + 600;
  const ta = performance.now();
  stats.drainTouched(Date.now());
  const alertCheckMs = performance.now() - ta;

  // The same check once the window holds 300 s of traffic at 2 000 predictions/s.
  const big = new ServingStats(300_000);
  const bigN = 600_000;
  const now = Date.now();
  for (let i = 0; i < bigN; i++) big.record(name, version, true, 0.05 + (i % 50) * 0.003, now - 299_000 + Math.floor(i / 2), 1);
  const tb = performance.now();
  big.drainTouched(now);
  const bigAlertCheckMs = performance.now() - tb;

  const status = log.status();
  if (status.failedFlushes || status.written !== total + 600) throw new Error(`prediction log flush failed: ${JSON.stringify(status)}`);
  await log.close();
  // Its rows repeat logged ids; they were only there to time append().
  log2.pending = [];
  log2.pendingRows = 0;
  await log2.close();
  await store.close();
  bar.done();
  return {
    predictions: n,
    perPredictionUs,
    parts,
    flush: { ...flush, perRowUs: (flush.ms * 1000) / flush.rows, loopPerRowUs: (flush.loopMs * 1000) / flush.rows },
    flushSmall: { ...flushSmall, perRowUs: (flushSmall.ms * 1000) / flushSmall.rows },
    alertCheck: { windowEvents, ms: alertCheckMs },
    alertCheckBig: { windowEvents: bigN, ms: bigAlertCheckMs },
  };
}
