import fs from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import pino from 'pino';
import { PredictionLog, withoutFirstRows, type PredictionLogOptions } from '../../src/serving/prediction-log.js';
import { WRITER_NICE } from '../../src/store/sqlite/log-writer.js';
import { connect, ok, readPredictionLog, registerDemoVersions, testApp } from '../helpers.js';
import { pending } from '../store/contract/pending.js';

/**
 * A PredictionLog with its own writer thread on a fresh home, the flush timer an hour away (the
 * test flushes), nothing trimmed unless `options` says so; closed, with the home, afterwards.
 */
async function withLog(options: Partial<PredictionLogOptions>, body: (log: PredictionLog, ctx: AppContext) => Promise<void>): Promise<void> {
  const { app: ctx } = await testApp();
  const log = new PredictionLog(
    { sink: ctx.store.predictions.openSink(), logger: pino({ level: 'silent' }) },
    { flushMs: 3_600_000, maxRows: 1e9, maxAgeMs: 1e12, maxPending: 1e9, ...options },
  );
  try {
    await body(log, ctx);
  } finally {
    await log.close();
    await ctx.close();
  }
}

describe('withoutFirstRows', () => {
  it('drops the whole entries that make up the rows written, keeping the rest as they were', () => {
    const batch = [pending(3, { id: 'a' }), pending(4, { id: 'b' }), pending(2, { id: 'c' })];
    expect(withoutFirstRows(batch, 0)).toEqual(batch);
    expect(withoutFirstRows(batch, 3)).toEqual(batch.slice(1));
    expect(withoutFirstRows(batch, 7)).toEqual(batch.slice(2));
    expect(withoutFirstRows(batch, 9)).toEqual([]);
  });
});

/** The nice value of each thread of this process, by thread id (Linux). */
function threadNiceness(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    out.set(tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])); // field 19 of stat(5)
  }
  return out;
}

describe('the prediction log writer thread', () => {
  it.runIf(process.platform === 'linux')(`runs at nice ${WRITER_NICE}, and no other thread's priority changes`, async () => {
    const before = threadNiceness();
    await withLog({}, async (log) => {
      log.append(pending(2));
      await log.flush();
      const after = threadNiceness();
      const lowered = [...after].filter(([tid, nice]) => nice === WRITER_NICE && before.get(tid) !== WRITER_NICE);
      expect(lowered).toHaveLength(1); // the writer's thread, started by the flush
      expect(after.get(String(process.pid))).toBe(before.get(String(process.pid)));
      expect(log.status().written).toBe(2);
    });
  });
});

describe('the prediction log writer (a thread with its own connection)', () => {
  let app: AppContext;

  afterEach(async () => {
    await app.close();
  });

  it('logs each row of an A/B-split batch under <batch_id>:<row index>, with its own version, features and output', async () => {
    ({ app } = await testApp());
    const client = await connect(app);
    await registerDemoVersions(client);
    await ok(client, 'promote_model', { name: 'nba_win_predictor', version: 'v1.5', target_stage: 'production' });
    await ok(client, 'promote_model', { name: 'nba_win_predictor', version: 'v2.0', target_stage: 'staging' });
    await ok(client, 'configure_ab_test', { name: 'nba_win_predictor', weights: { 'v1.5': 0.5, 'v2.0': 0.5 }, routing: 'random' });
    const rows = Array.from({ length: 200 }, (_, i) => [0.5, 0.5, 110, 110, 110, 110, i % 4, 1]);
    const b = await ok<{ batch_id: string; version_per_row: string[]; predictions: number[]; probabilities: Record<string, number[]> }>(
      client,
      'batch_predict',
      { name: 'nba_win_predictor', rows },
    );
    await app.predictionLog.flush();
    const db = new Database(app.config.dbPath, { readonly: true });
    const entries = db.prepare('SELECT version, row_count FROM predictions ORDER BY seq').all();
    db.close();
    expect(entries).toHaveLength(2); // one entry per served version, not a row per prediction
    const logged = readPredictionLog(app.config.dbPath);
    expect(logged).toHaveLength(200);
    const byId = new Map(logged.map((r) => [r.id, r]));
    for (let i = 0; i < 200; i++) {
      const r = byId.get(`${b.batch_id}:${i}`)!;
      expect(r.version).toBe(b.version_per_row[i]);
      expect(r.features).toEqual(rows[i]);
      expect(r.prediction).toBe(b.predictions[i]);
      expect(r.probabilities).toEqual({ '0': b.probabilities['0'][i], '1': b.probabilities['1'][i] });
    }
    expect(new Set(b.version_per_row).size).toBe(2);
    await client.close();
  });

  it("logs a failed request's input as JSON text, so a value the thread cannot be sent (an in-process Proxy) does not stall the log", async () => {
    ({ app } = await testApp());
    const client = await connect(app);
    await registerDemoVersions(client);
    await client.close();
    // Straight to serving (the MCP path copies a Proxy row through zod first).
    const proxy = new Proxy({ is_home: 1 }, {}) as Record<string, number>;
    await expect(app.serving.predict('nba_points', proxy, { version: 'v1' })).rejects.toThrow(/missing features/);
    await app.serving.predict('nba_points', [1, 2, 24.1, 6.2, 5, 27.4, 5.8, 6.1, 34.5, 112.3], { version: 'v1' });
    await app.predictionLog.flush();
    expect(app.predictionLog.status()).toMatchObject({ failedFlushes: 0, lastFlushFailed: false, pending: 0 });
    const db = new Database(app.config.dbPath, { readonly: true });
    const rows = db.prepare('SELECT ok, features FROM predictions ORDER BY seq').all() as Array<{ ok: number; features: Buffer | string }>;
    db.close();
    expect(rows.map((r) => r.ok)).toEqual([0, 1]);
    expect(rows[0].features).toBe('{"is_home":1}');
  });

  it('keeps what a locked database refused, reports it, and writes it exactly once when the lock goes', async () => {
    // A short busy timeout is not configurable; the writer waits 5 s for the lock, so hold it longer.
    // The flush timer is an hour away: the test flushes, and a timed flush failing as well would
    // count twice (on a loaded machine the calls below outlast the default 50 ms).
    ({ app } = await testApp({ PREDICTION_LOG_FLUSH_MS: '3600000' }));
    const client = await connect(app);
    await registerDemoVersions(client);
    await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
    for (let i = 0; i < 3; i++) await ok(client, 'predict', { name: 'nba_points', features: Array(10).fill(i) });
    await app.predictionLog.flush();

    const other = new Database(app.config.dbPath);
    other.exec('BEGIN EXCLUSIVE');
    for (let i = 0; i < 5; i++) await ok(client, 'predict', { name: 'nba_points', features: Array(10).fill(i) });
    await ok(client, 'batch_predict', { name: 'nba_points', rows: Array.from({ length: 1500 }, () => Array(10).fill(1)) });
    await app.predictionLog.flush(); // waits out the busy timeout, then fails
    const failed = app.predictionLog.status();
    expect(failed.lastFlushFailed).toBe(true);
    expect(failed.failedFlushes).toBe(1);
    expect(failed.pending).toBe(1505);
    expect(failed.lastError).toMatch(/locked|busy/i);
    other.exec('ROLLBACK');
    other.close();

    await app.predictionLog.flush();
    const after = app.predictionLog.status();
    expect(after.lastFlushFailed).toBe(false);
    expect(after.pending).toBe(0);
    expect(after.written).toBe(1508);
    const logged = readPredictionLog(app.config.dbPath);
    expect(logged).toHaveLength(1508);
    expect(new Set(logged.map((r) => r.id)).size).toBe(1508);
    await client.close();
  }, 30_000);
});

describe('the flush timer', () => {
  /** Polls until `done` holds (the timer is real: no fake clock). */
  async function until(done: () => boolean, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (!done()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('is armed only while rows are pending, writes them one interval later unasked, and retries a failed write', async () => {
    await withLog({ flushMs: 50 }, async (log, ctx) => {
      expect(log.flushScheduled).toBe(false); // an idle log does not wake the process
      log.append(pending(2));
      expect(log.flushScheduled).toBe(true);
      await until(() => log.status().written === 2);
      await until(() => !log.flushScheduled);
      expect(readPredictionLog(ctx.config.dbPath)).toHaveLength(2);

      // A write the database refuses (locked past the writer's 5 s busy timeout) stays pending,
      // and the timer tries again without another append.
      const other = new Database(ctx.config.dbPath);
      other.exec('BEGIN EXCLUSIVE');
      log.append(pending(3));
      await until(() => log.status().lastFlushFailed);
      expect(log.flushScheduled).toBe(true);
      other.exec('ROLLBACK');
      other.close();
      await until(() => log.status().written === 5);
      expect(log.status().pending).toBe(0);
      await until(() => !log.flushScheduled);
    });
  }, 30_000);

  it('starts a flush without waiting for the interval once 128 entries are pending, and not while writes fail', async () => {
    await withLog({}, async (log, ctx) => {
      for (let i = 0; i < 127; i++) log.append(pending(1, { id: `a${i}` }));
      await new Promise((r) => setTimeout(r, 100));
      expect(log.status()).toMatchObject({ written: 0, pending: 127 }); // the timer is an hour away
      log.append(pending(1, { id: 'a127' }));
      await until(() => log.status().written === 128);
      expect(readPredictionLog(ctx.config.dbPath)).toHaveLength(128);

      // So many rows in fewer entries start one too.
      log.append(pending(8192, { id: 'big' }));
      log.append(pending(1, { id: 'small' }));
      await until(() => log.status().written === 128 + 8193);

      // While the database refuses writes, the backlog waits for the timer (an hour here).
      const other = new Database(ctx.config.dbPath);
      other.exec('BEGIN EXCLUSIVE');
      log.append(pending(1, { id: 'locked' }));
      await log.flush(); // fails after the writer's busy timeout
      expect(log.status().lastFlushFailed).toBe(true);
      for (let i = 0; i < 200; i++) log.append(pending(1, { id: `b${i}` }));
      await new Promise((r) => setTimeout(r, 200));
      expect(log.status()).toMatchObject({ lastFlushFailed: true, failedFlushes: 1, pending: 201 });
      other.exec('ROLLBACK');
      other.close();
    });
  }, 30_000);
});

describe('backpressure', () => {
  it('holds requests back while the writer is behind, lets them go once it caught up, and never while writes fail', async () => {
    // The mark counts values held: a row of pending() holds 2 features and 1 output.
    await withLog({ highWaterValues: 3000 }, async (log, ctx) => {
      log.append(pending(999, { id: 'a', name: 'nba_points' }));
      expect(log.backpressure()).toBeNull();
      log.append(pending(500, { id: 'b', name: 'nba_points' }));
      const held = log.backpressure();
      expect(held).toBeInstanceOf(Promise);
      await held; // the timer is an hour away: only the writer catching up lets it go
      expect(log.status()).toMatchObject({ written: 1499, pending: 0 });
      expect(log.backpressure()).toBeNull();

      // A locked database: writes fail, and requests are not held back by the growing backlog.
      const other = new Database(ctx.config.dbPath);
      other.exec('BEGIN EXCLUSIVE');
      log.append(pending(1500, { id: 'c', name: 'nba_points' }));
      const whileLocked = log.backpressure();
      expect(whileLocked).toBeInstanceOf(Promise); // the writer has not failed yet
      await whileLocked; // released when the write fails after the busy timeout
      expect(log.status().lastFlushFailed).toBe(true);
      log.append(pending(1500, { id: 'd', name: 'nba_points' }));
      expect(log.backpressure()).toBeNull();
      other.exec('ROLLBACK');
      other.close();
      await log.flush();
      expect(log.status()).toMatchObject({ written: 4499, pending: 0, lastFlushFailed: false });
    });
  }, 30_000);
});

describe('the high-water mark', () => {
  it('weighs a request by the values it holds, so wide batches are held back sooner than single rows', async () => {
    await withLog({ highWaterValues: 3000 }, async (log) => {
      for (let i = 0; i < 999; i++) log.append(pending(1, { id: `s${i}` }));
      expect(log.backpressure()).toBeNull(); // 2 997 values in 999 rows
      await log.flush();
      log.append(pending(100, { id: 'wide', width: 29, matrix: new Float64Array(2900) }));
      const held = log.backpressure(); // 3 000 values in 100 rows
      expect(held).toBeInstanceOf(Promise);
      await held;
      expect(log.status()).toMatchObject({ written: 1099, pending: 0 });
    });
  }, 30_000);
});

describe('counts that include what is not written yet (get_traffic_config without a flush)', () => {
  it('get_traffic_config counts predictions the writer has not written, and counts them once after', async () => {
    const { app } = await testApp({ PREDICTION_LOG_FLUSH_MS: '3600000' });
    const client = await connect(app);
    try {
      await registerDemoVersions(client);
      await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
      const features = [1, 2, 24.1, 6.2, 5, 27.4, 5.8, 6.1, 34.5, 112.3];
      let sum = 0;
      for (let i = 0; i < 25; i++)
        sum += (await ok<{ prediction: number }>(client, 'predict', { name: 'nba_points', features: features.map((f) => f + i) })).prediction;
      await ok(client, 'batch_predict', { name: 'nba_points', rows: [features, features], version: 'v2' });
      const before = await ok<{ variants: Array<{ version: string; count: number; mean_output: number | null }> }>(client, 'get_traffic_config', {
        name: 'nba_points',
      });
      expect(readPredictionLog(app.config.dbPath)).toHaveLength(0); // nothing flushed
      const v1 = before.variants.find((v) => v.version === 'v1');
      expect(v1?.count).toBe(25);
      expect(v1?.mean_output).toBeCloseTo(sum / 25, 4);
      expect(before.variants.find((v) => v.version === 'v2')?.count).toBe(2);
      await app.predictionLog.flush();
      expect(readPredictionLog(app.config.dbPath)).toHaveLength(27);
      const after = await ok<typeof before>(client, 'get_traffic_config', { name: 'nba_points' });
      expect(after.variants.map((v) => [v.version, v.count])).toEqual(before.variants.map((v) => [v.version, v.count]));
    } finally {
      await client.close();
      await app.close();
    }
  });
});
