import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import pino from 'pino';
import { PredictionLog, withoutFirstRows, type PendingPredictions } from '../../src/serving/prediction-log.js';
import { PredictionWriter } from '../../src/serving/prediction-writer.js';
import { connect, ok, registerDemoVersions, testApp } from '../helpers.js';

/** A request's pending rows: row j has features [j, j+1] and prediction 10·j. */
function pending(rows: number, extra: Partial<PendingPredictions> = {}): PendingPredictions {
  return {
    id: 'b',
    indices: Array.from({ length: rows }, (_, j) => j * 2),
    rows,
    name: 'm',
    version: 'v1',
    ok: true,
    error: null,
    matrix: Float64Array.from({ length: rows * 2 }, (_, i) => Math.floor(i / 2) + (i % 2)),
    width: 2,
    rawFeatures: undefined,
    output: { predictions: Array.from({ length: rows }, (_, j) => 10 * j), probabilities: { a: Array.from({ length: rows }, (_, j) => j / rows) } },
    latencyMs: 1,
    routingKey: null,
    at: 0,
    ...extra,
  };
}

describe('withoutFirstRows', () => {
  it('drops whole requests, then cuts the first one left at the row, keeping ids, features and outputs in step', () => {
    const batch = [pending(3, { id: 'a' }), pending(4, { id: 'b' }), pending(2, { id: 'c' })];
    expect(withoutFirstRows(batch, 0)).toEqual(batch);
    expect(withoutFirstRows(batch, 3)).toEqual(batch.slice(1));
    expect(withoutFirstRows(batch, 9)).toEqual([]);
    const [b, c] = withoutFirstRows(batch, 5);
    expect(c).toBe(batch[2]);
    expect(b.rows).toBe(2);
    expect(b.indices).toEqual([4, 6]);
    expect(Array.from(b.matrix!)).toEqual([2, 3, 3, 4]);
    expect(b.output!.predictions).toEqual([20, 30]);
    expect(b.output!.probabilities!.a).toEqual([0.5, 0.75]);
  });
});

describe('the prediction log writer (a thread with its own connection)', () => {
  let app: AppContext;
  afterEach(async () => {
    await app.close();
  });

  it('logs each row of an A/B-split batch under <batch_id>:<row index>, with its own version, features and output', async () => {
    ({ app } = testApp());
    const client = await connect(app);
    await registerDemoVersions(client);
    await ok(client, 'promote_model', { name: 'nba_win_predictor', version: 'v1.5', target_stage: 'production' });
    await ok(client, 'promote_model', { name: 'nba_win_predictor', version: 'v2.0', target_stage: 'staging' });
    await ok(client, 'configure_ab_test', { name: 'nba_win_predictor', weights: { 'v1.5': 0.5, 'v2.0': 0.5 }, routing: 'random' });
    const rows = Array.from({ length: 200 }, (_, i) => [0.5, 0.5, 110, 110, 110, 110, i % 4, 1]);
    const b = await ok<{ batch_id: string; version_per_row: string[]; predictions: number[]; probabilities: Record<string, number[]> }>(client, 'batch_predict', { name: 'nba_win_predictor', rows });
    await app.predictionLog.flush();
    const db = new Database(app.config.dbPath, { readonly: true });
    const logged = db.prepare('SELECT id, version, features, output, prediction_value FROM predictions ORDER BY seq').all() as Array<{ id: string; version: string; features: string; output: string; prediction_value: number }>;
    db.close();
    expect(logged).toHaveLength(200);
    const byId = new Map(logged.map((r) => [r.id, r]));
    for (let i = 0; i < 200; i++) {
      const r = byId.get(`${b.batch_id}:${i}`)!;
      expect(r.version).toBe(b.version_per_row[i]);
      expect(JSON.parse(r.features)).toEqual(rows[i]);
      expect(r.prediction_value).toBe(b.predictions[i]);
      expect(JSON.parse(r.output)).toEqual({ prediction: b.predictions[i], probabilities: { '0': b.probabilities['0'][i], '1': b.probabilities['1'][i] } });
    }
    expect(new Set(b.version_per_row).size).toBe(2);
    await client.close();
  });

  it('keeps what a locked database refused, reports it, and writes it exactly once when the lock goes', async () => {
    // A short busy timeout is not configurable; the writer waits 5 s for the lock, so hold it longer.
    ({ app } = testApp());
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
    const db = new Database(app.config.dbPath, { readonly: true });
    const counts = db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids FROM predictions').get() as { n: number; ids: number };
    db.close();
    expect(counts).toEqual({ n: 1508, ids: 1508 });
    await client.close();
  }, 30_000);
});

describe('backpressure', () => {
  it('holds requests back while the writer is behind, lets them go once it caught up, and never while writes fail', async () => {
    const { app: ctx } = testApp();
    const log = new PredictionLog({ sink: new PredictionWriter(ctx.config.dbPath), logger: pino({ level: 'silent' }) }, { flushMs: 3_600_000, maxRows: 1e9, maxAgeMs: 1e12, maxPending: 1e9, highWater: 1000 });
    try {
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
    } finally {
      await log.close();
      await ctx.close();
    }
  }, 30_000);
});

describe('per-minute counts and trimming (on the writer thread)', () => {
  it('counts per version since any moment exactly as a scan of the log would, across minute boundaries', async () => {
    const { app: ctx } = testApp();
    const log = new PredictionLog({ sink: new PredictionWriter(ctx.config.dbPath), logger: pino({ level: 'silent' }) }, { flushMs: 3_600_000, maxRows: 1e9, maxAgeMs: 1e12, maxPending: 1e9 });
    try {
      // 3 minutes of predictions, 7 s apart, alternating versions, every 5th failed (no output), one failed before routing.
      const t0 = Date.parse('2026-11-23T10:00:00.000Z');
      for (let i = 0; i < 26; i++) {
        const failed = i % 5 === 0;
        log.append(pending(1 + (i % 3), { id: `r${i}`, name: 'nba_points', version: i % 2 ? 'v2' : 'v1', at: t0 + i * 7_000, ok: !failed, error: failed ? 'x' : null, output: failed ? null : pending(1 + (i % 3)).output }));
      }
      log.append(pending(1, { id: 'unrouted', indices: null, name: 'nba_points', version: null, ok: false, error: 'no version', output: null, matrix: null, rawFeatures: [1], at: t0 + 65_000 }));
      await log.flush();
      const db = new Database(ctx.config.dbPath, { readonly: true });
      const exact = db.prepare('SELECT version, COUNT(*) AS count, SUM(1 - ok) AS errors, AVG(prediction_value) AS mean FROM predictions WHERE model_name = ? AND created_at >= ? GROUP BY version ORDER BY version');
      for (const offset of [0, 1, 6_999, 30_500, 59_999, 60_000, 61_234, 119_000, 150_000, 400_000]) {
        const since = new Date(t0 + offset).toISOString();
        const want = (exact.all('nba_points', since) as Array<{ version: string | null; count: number; errors: number; mean: number | null }>).map((r) => ({ version: r.version, count: r.count, errors: r.errors, meanPrediction: r.mean }));
        const got = (await ctx.store.variantCounts('nba_points', since)).sort((a, b) => String(a.version).localeCompare(String(b.version)));
        expect(got.map((g) => ({ ...g, meanPrediction: g.meanPrediction === null ? null : Number(g.meanPrediction.toFixed(9)) })), since).toEqual(
          want.sort((a, b) => String(a.version).localeCompare(String(b.version))).map((w) => ({ ...w, meanPrediction: w.meanPrediction === null ? null : Number(w.meanPrediction.toFixed(9)) })),
        );
      }
      db.close();
    } finally {
      await log.close();
      await ctx.close();
    }
  });

  it('trims by age and by count in slices, keeping the newest rows', async () => {
    const { app: ctx } = testApp();
    const log = new PredictionLog({ sink: new PredictionWriter(ctx.config.dbPath), logger: pino({ level: 'silent' }) }, { flushMs: 3_600_000, maxRows: 7_000, maxAgeMs: 3_600_000, maxPending: 1e9 });
    try {
      const now = Date.now();
      log.append(pending(3_000, { id: 'old', name: 'nba_points', at: now - 7_200_000 })); // two hours old
      log.append(pending(12_000, { id: 'new', name: 'nba_points', at: now }));
      await log.flush();
      await log.trim();
      const db = new Database(ctx.config.dbPath, { readonly: true });
      const ids = db.prepare('SELECT id FROM predictions ORDER BY seq').pluck().all() as string[];
      const minutes = db.prepare('SELECT COUNT(*) FROM prediction_minutes WHERE minute < ?').pluck().get(new Date(now - 3_600_000).toISOString().slice(0, 16));
      db.close();
      expect(ids).toHaveLength(7_000);
      expect(ids[0]).toBe(`new:${2 * 5_000}`); // rows 0…4 999 of "new" went, by count
      expect(ids.at(-1)).toBe(`new:${2 * 11_999}`);
      expect(minutes).toBe(0);
    } finally {
      await log.close();
      await ctx.close();
    }
  });
});
