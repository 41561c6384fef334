import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { newPredictionId } from '../../src/serving/prediction-id.js';
import {
  PREDICTION_LOG_TABLES,
  call,
  connect,
  dumpTables,
  errorCode,
  fixture,
  ok,
  readPredictionLog,
  registerDemoVersions,
  testApp,
  text,
} from '../helpers.js';

const POINTS = [1, 2, 20, 6, 5, 22, 6, 5, 30, 112];
const WIN = [0.62, 0.48, 114.2, 110.9, 108.5, 112.0, 2, 1];
const HOUR = 3_600_000;

interface Recorded {
  matched: number;
  replaced: number;
  unknown: number;
  expired: number;
  failed: number;
  received: number;
  unmatched: Array<{ prediction_id: string; reason: string }>;
  unmatched_not_listed: number;
  by_version: Record<string, number>;
  dry_run: boolean;
}

let app: AppContext;
let client: Client;
let work: string;

beforeAll(async () => {
  ({ app, work } = await testApp());
  client = await connect(app);
  await registerDemoVersions(client);
  await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
  await ok(client, 'promote_model', { name: 'nba_win_predictor', version: 'v1.5', target_stage: 'production' });
});
afterAll(async () => {
  await client.close();
  await app.close();
});

const record = (args: Record<string, unknown>) => ok<Recorded>(client, 'record_outcomes', args);
/** The outcomes table as a person with sqlite3 would read it, by prediction id. */
const storedOutcomes = () => {
  const db = new Database(app.config.dbPath, { readonly: true });
  try {
    return new Map((db.prepare('SELECT * FROM outcomes').all() as Array<Record<string, unknown> & { prediction_id: string }>).map((r) => [r.prediction_id, r]));
  } finally {
    db.close();
  }
};

/** The logged prediction of an id, as a person reading the log would find it. */
const loggedOf = async (id: string) => {
  await app.predictionLog.flush();
  return readPredictionLog(app.config.dbPath).find((p) => p.id === id);
};

describe('record_outcomes joins outcomes to logged predictions', () => {
  it('joins late outcomes (days later) of single predictions and of batch rows split between versions', async () => {
    const now = Date.now();
    const old = await app.serving.predict('nba_points', POINTS, { at: now - 3 * 24 * HOUR });
    await ok(client, 'configure_ab_test', { name: 'nba_points', weights: { v1: 0.5, v2: 0.5 }, routing: 'random' });
    const batch = await app.serving.predictBatch(
      'nba_points',
      Array.from({ length: 40 }, (_, i) => POINTS.map((x, j) => (j === 2 ? x + i / 4 : x))),
      { at: now - 2 * HOUR },
    );
    expect(batch.served.length).toBe(2);
    const ids = [old.predictionId, ...Array.from({ length: 40 }, (_, i) => `${batch.batchId}:${i}`)];
    const r = await record({ name: 'nba_points', outcomes: ids.map((id, i) => ({ prediction_id: id, actual: 10 + i })), reason: 'box scores' });
    expect(r).toMatchObject({ received: 41, matched: 41, replaced: 0, unknown: 0, expired: 0, failed: 0, unmatched: [] });
    expect(r.by_version.v1 + r.by_version.v2).toBe(41);
    // Each outcome is stored with the version and prediction the log holds for its id.
    const stored = storedOutcomes();
    for (const [i, id] of ids.entries()) {
      const logged = (await loggedOf(id))!;
      const o = stored.get(id)!;
      expect([o.version, o.predicted, o.actual, o.predicted_at], id).toEqual([logged.version, logged.prediction, 10 + i, Date.parse(logged.createdAt)]);
    }
    const history = await ok<{ entries: Array<{ action: string; reason: string | null; details: Record<string, unknown> }> }>(client, 'get_model_history', {
      name: 'nba_points',
    });
    expect(history.entries[0]).toMatchObject({ action: 'record_outcomes', reason: 'box scores', details: { matched: 41, source: 'inline' } });
    await ok(client, 'configure_ab_test', { name: 'nba_points', weights: { v1: 1 } });
  });

  it('replaces an earlier outcome of the same prediction, within a call and across calls; a dry run counts and writes nothing', async () => {
    const p = await app.serving.predict('nba_points', POINTS);
    const first = await record({
      name: 'nba_points',
      outcomes: [
        { prediction_id: p.predictionId, actual: 1 },
        { prediction_id: p.predictionId, actual: 2 },
      ],
    });
    expect([first.matched, first.replaced]).toEqual([1, 1]);
    await app.predictionLog.flush();
    const before = dumpTables(app.config.dbPath, PREDICTION_LOG_TABLES);
    const dry = await record({ name: 'nba_points', outcomes: [{ prediction_id: p.predictionId, actual: 3 }], dry_run: true });
    expect([dry.dry_run, dry.matched, dry.replaced]).toEqual([true, 1, 1]);
    expect(dumpTables(app.config.dbPath, PREDICTION_LOG_TABLES)).toEqual(before);
    const again = await record({ name: 'nba_points', outcomes: [{ prediction_id: p.predictionId, actual: 4 }] });
    expect([again.matched, again.replaced]).toEqual([1, 1]);
    expect(storedOutcomes().get(p.predictionId)).toMatchObject({ actual: 4, revisions: 1 });
  });

  it("counts and lists (bounded) unknown, expired, other models' and failed predictions, and records the rest", async () => {
    const mine = await app.serving.predict('nba_points', POINTS);
    const theirs = await app.serving.predict('nba_win_predictor', WIN);
    await expect(app.serving.predict('nba_points', [1, 2, 3])).rejects.toThrow(/expected 10/);
    await app.predictionLog.flush();
    const failed = readPredictionLog(app.config.dbPath, 'ok = 0').at(-1)!.id;
    const unknown = Array.from({ length: 55 }, () => newPredictionId(Date.now() - HOUR));
    const outcomes = [
      { prediction_id: mine.predictionId, actual: 20 },
      { prediction_id: theirs.predictionId, actual: 1 },
      { prediction_id: failed, actual: 3 },
      { prediction_id: newPredictionId(Date.now() - 31 * 24 * HOUR), actual: 1 },
      { prediction_id: '3b241101-e2bb-4255-8caf-4136c566a962', actual: 1 },
      { prediction_id: `${mine.predictionId}:7`, actual: 1 },
      ...unknown.map((id) => ({ prediction_id: id, actual: 5 })),
    ];
    const r = await record({ name: 'nba_points', outcomes });
    expect(r).toMatchObject({ received: 61, matched: 1, unknown: 58, expired: 1, failed: 1 });
    expect(r.unmatched.length).toBe(50);
    expect(r.unmatched.length + r.unmatched_not_listed).toBe(60);
    // An id older than the log's retention, or one this server cannot have issued, needs no lookup: listed first.
    expect(r.unmatched.slice(0, 2)).toEqual([
      { prediction_id: outcomes[3].prediction_id, reason: 'expired' },
      { prediction_id: '3b241101-e2bb-4255-8caf-4136c566a962', reason: 'unknown' },
    ]);
    expect(r.unmatched).toContainEqual({ prediction_id: `${mine.predictionId}:7`, reason: 'unknown' });
    expect(r.unmatched).toContainEqual({ prediction_id: theirs.predictionId, reason: 'other_model' });
    expect(r.unmatched).toContainEqual({ prediction_id: failed, reason: 'failed_prediction' });
  });

  it('says a prediction the log trimmed (by count) is past retention, not unknown', async () => {
    const small = await testApp({ PREDICTION_LOG_MAX_ROWS: '2' });
    const c = await connect(small.app);
    await ok(c, 'register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v1.onnx'), version: 'v1' });
    await ok(c, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
    const gone = await small.app.serving.predict('nba_points', POINTS, { at: Date.now() - 2 * HOUR });
    for (let i = 0; i < 3; i++) await small.app.serving.predict('nba_points', POINTS);
    await small.app.predictionLog.flush();
    await small.app.predictionLog.trim();
    const r = await ok<Recorded>(c, 'record_outcomes', { name: 'nba_points', outcomes: [{ prediction_id: gone.predictionId, actual: 1 }] });
    expect([r.matched, r.expired, r.unknown]).toEqual([0, 1, 0]);
    await c.close();
    await small.app.close();
  });

  it('joins outcomes from a CSV under the allowed directories, labels of a classifier as numbers or text', async () => {
    const b = await app.serving.predictBatch('nba_win_predictor', [WIN, WIN, WIN]);
    const file = path.join(work, 'results.csv');
    fs.writeFileSync(file, `game,prediction_id,actual\ng1,${b.batchId}:0,1\ng2,${b.batchId}:1,0\ng3,${b.batchId}:2,1\n`);
    const r = await record({ name: 'nba_win_predictor', csv_path: file });
    expect(r).toMatchObject({ matched: 3, by_version: { 'v1.5': 3 } });
    const inline = await record({
      name: 'nba_win_predictor',
      outcomes: [
        { prediction_id: `${b.batchId}:0`, actual: 0 },
        { prediction_id: `${b.batchId}:1`, actual: '1' },
      ],
    });
    expect([inline.matched, inline.replaced]).toEqual([2, 2]);
    const stored = [0, 1, 2].map((i) => storedOutcomes().get(`${b.batchId}:${i}`)!);
    expect(stored.map((o) => [o.actual_label, o.predicted_label, JSON.parse(o.probabilities as string)])).toEqual(
      [0, 1, 2].map((i) => [['0', '1', '1'][i], String(b.predictions[i]), [b.probabilities!['0'][i], b.probabilities!['1'][i]]]),
    );
    // The probability terms stored beside them: of the actual class, Brier's (halved for two classes), the positive class's.
    stored.forEach((o, i) => {
      const p = b.probabilities!;
      const actual = o.actual_label as '0' | '1';
      expect(o.p_actual).toBeCloseTo(p[actual][i], 15);
      expect(o.brier).toBeCloseTo(((p['0'][i] - (actual === '0' ? 1 : 0)) ** 2 + (p['1'][i] - (actual === '1' ? 1 : 0)) ** 2) / 2, 15);
      expect(o.p_positive).toBeCloseTo(p['1'][i], 15);
    });
  });

  it('refuses the whole call, naming the rows, for values that do not fit the version that served them, and writes nothing', async () => {
    const p = await app.serving.predict('nba_points', POINTS);
    const w = await app.serving.predict('nba_win_predictor', WIN);
    await app.predictionLog.flush();
    const before = dumpTables(app.config.dbPath, PREDICTION_LOG_TABLES);
    for (const [name, outcomes, message] of [
      [
        'nba_points',
        [
          { prediction_id: p.predictionId, actual: 3 },
          { prediction_id: p.predictionId, actual: 'high' },
        ],
        /outcomes\[1\]: actual "high" is not a finite number/,
      ],
      ['nba_points', [{ prediction_id: p.predictionId, actual: 'Infinity' }], /not a finite number/],
      ['nba_win_predictor', [{ prediction_id: w.predictionId, actual: 2 }], /actual "2" is not a class of nba_win_predictor/],
      ['nba_win_predictor', [{ prediction_id: w.predictionId, actual: 0.5 }], /actual "0.5" is not a class/],
    ] as const) {
      const r = await call(client, 'record_outcomes', { name, outcomes });
      expect(r.isError, text(r)).toBe(true);
      expect(errorCode(r)).toBe('invalid_argument');
      expect(text(r)).toMatch(message);
      expect(text(r)).toMatch(/Nothing was recorded/);
    }
    const file = path.join(work, 'bad.csv');
    fs.writeFileSync(file, `prediction_id,actual\n${p.predictionId},12\n${p.predictionId},NaN\n${p.predictionId},\n`);
    const r = await call(client, 'record_outcomes', { name: 'nba_points', csv_path: file });
    expect(text(r)).toMatch(/line 3: actual "NaN" is not a finite number.*line 4: actual "" is not a finite number/);
    expect(dumpTables(app.config.dbPath, PREDICTION_LOG_TABLES)).toEqual(before);
  });

  it('is a write: hidden in read-only mode', async () => {
    const reader = await connect(app, { readOnly: true });
    const r = await call(reader, 'record_outcomes', { name: 'nba_points', outcomes: [{ prediction_id: 'x', actual: 1 }] });
    expect([r.isError, errorCode(r)]).toEqual([true, 'read_only']);
    await reader.close();
  });
});
