import { expect, it } from 'vitest';
import { rowsOf } from '../../../src/performance/columns.js';
import type { OutcomeRow } from '../../../src/performance/ports.js';
import { PredictionLog } from '../../../src/serving/prediction-log.js';
import type { Store } from '../../../src/store/store.js';
import { describeEachEngine, silent, type Database, type Engine } from './engines.js';
import { pending } from './pending.js';

const who = { actor: 'contract', reason: 'outcomes' };
const T0 = Date.parse('2026-11-20T23:59:59.990Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** A fresh database whose log holds: single predictions, a batch split between two versions, another model's, a failed one. */
async function logged(engine: Engine): Promise<{ store: Store; open: () => Promise<Store>; db: Database }> {
  const db = await engine.database();
  const store = await db.open();
  const log = new PredictionLog({ sink: store.predictions.openSink(), logger: silent }, { flushMs: 3_600_000, maxRows: 1e9, maxAgeMs: 1e12, maxPending: 1e9 });
  log.append(pending(1, { id: 'single', indices: null, at: T0, routingKey: 'user-1' }));
  log.append(pending(2, { id: 'batch', indices: [0, 3], at: T0 + 20, version: 'v1' }));
  log.append(pending(2, { id: 'batch', indices: [1, 2], at: T0 + 20, version: 'v2' }));
  log.append(pending(1, { id: 'other', indices: null, at: T0 + 20, name: 'elsewhere' }));
  log.append(pending(1, { id: 'failed', indices: null, at: T0 + 30, ok: false, error: 'x', output: null }));
  await log.flush();
  await log.close();
  return { store, open: () => db.open(), db };
}

const row = (id: string, at: number, extra: Partial<OutcomeRow> = {}): OutcomeRow => ({
  predictionId: id,
  name: 'm',
  version: 'v1',
  predictedAt: at,
  routingKey: null,
  predicted: 1.5,
  actual: 2,
  predictedLabel: null,
  actualLabel: null,
  probabilities: null,
  pActual: null,
  brier: null,
  pPositive: null,
  ...extra,
});

describeEachEngine('store contract: outcomes', (engine) => {
  it('finds log entries by id and the exact time they were logged, across days, of any model', async () => {
    const { store } = await logged(engine);
    const found = await store.outcomes.findPredictions([
      { id: 'single', createdAt: iso(T0) },
      { id: 'batch', createdAt: iso(T0 + 20) },
      { id: 'other', createdAt: iso(T0 + 20) },
      { id: 'failed', createdAt: iso(T0 + 30) },
      { id: 'single', createdAt: iso(T0 + 1) }, // right id, wrong time: not this entry
      { id: 'nothing', createdAt: iso(T0) },
    ]);
    const byKey = found.map((e) => [
      e.id,
      e.version,
      e.name,
      e.ok,
      e.rowIndices && Array.from(e.rowIndices),
      e.output?.predictions ?? null,
      e.routingKey,
      e.createdAt,
    ]);
    expect(byKey.sort((a, b) => String(a[0]).localeCompare(String(b[0])) || String(a[1]).localeCompare(String(b[1])))).toEqual([
      ['batch', 'v1', 'm', true, [0, 3], [0, 10], null, iso(T0 + 20)],
      ['batch', 'v2', 'm', true, [1, 2], [0, 10], null, iso(T0 + 20)],
      ['failed', 'v1', 'm', false, null, null, null, iso(T0 + 30)],
      ['other', 'v1', 'elsewhere', true, null, [0], null, iso(T0 + 20)],
      ['single', 'v1', 'm', true, null, [0], 'user-1', iso(T0)],
    ]);
    expect(found.find((e) => e.id === 'single')?.output?.probabilities).toEqual({ a: [0] });
    expect(await store.outcomes.findPredictions([])).toEqual([]);
    expect(await store.outcomes.oldestPrediction()).toBe(iso(T0));
  });

  it('answers no oldest prediction for an empty log', async () => {
    const store = await (await engine.database()).open();
    expect(await store.outcomes.oldestPrediction()).toBeNull();
  });

  it('records outcomes, replaces by prediction id, audits each call, and reads windows newest first', async () => {
    const { store, db } = await logged(engine);
    const probabilities = Float64Array.from([0.25, 0.75]);
    const first = await store.outcomes.record(
      'm',
      [
        row('a', T0, { routingKey: 'user-\u0000a' }),
        row('b', T0 + 1000, { version: 'v2' }),
        row('c', T0 + 2000, {
          predicted: null,
          actual: null,
          predictedLabel: '1',
          actualLabel: '0',
          probabilities,
          pActual: 0.25,
          brier: 0.5625,
          pPositive: 0.75,
        }),
      ],
      who,
      { source: 'inline' },
    );
    expect(first.replaced).toBe(0);
    const again = await store.outcomes.record('m', [row('a', T0, { actual: 9, routingKey: 'user-\u0000a' }), row('d', T0 + 3000)], who, { source: 'inline' });
    expect(again.replaced).toBe(1);
    expect([...(await store.outcomes.existing(['a', 'b', 'x']))].sort()).toEqual(['a', 'b']);

    const all = rowsOf(await store.outcomes.outcomes('m', { lastN: 10 }));
    const times = (os: Array<{ predictedAt: number }>) => os.map((o) => o.predictedAt - T0);
    expect(times(all)).toEqual([3000, 2000, 1000, 0]);
    expect(all[3]).toEqual({
      version: 'v1',
      predictedAt: T0,
      predicted: 1.5,
      actual: 9,
      predictedLabel: null,
      actualLabel: null,
      pActual: null,
      brier: null,
      pPositive: null,
    });
    expect(all[1]).toMatchObject({ predictedLabel: '1', actualLabel: '0', predicted: null, actual: null, pActual: 0.25, brier: 0.5625, pPositive: 0.75 });
    // Kept as each engine keeps a list of numbers: JSON text on SQLite, double precision[] on PostgreSQL.
    const [{ probabilities: kept }] = await db.rows<{ probabilities: number[] | string }>("SELECT probabilities FROM outcomes WHERE prediction_id = 'c'");
    expect(typeof kept === 'string' ? JSON.parse(kept) : kept).toEqual([0.25, 0.75]);
    expect(times(rowsOf(await store.outcomes.outcomes('m', { lastN: 2 })))).toEqual([3000, 2000]);
    expect(rowsOf(await store.outcomes.outcomes('m', { lastN: 10, version: 'v2' })).map((o) => o.version)).toEqual(['v2']);
    expect(times(rowsOf(await store.outcomes.outcomes('m', { lastN: 10, since: iso(T0 + 1000), until: iso(T0 + 3000) })))).toEqual([2000, 1000]);
    // Outcomes of one instant come in a fixed order (by prediction id, newest-first windows take the greatest).
    await store.outcomes.record('m', [row('z1', T0 + 5000), row('z2', T0 + 5000, { actual: 7 })], who, {});
    expect(rowsOf(await store.outcomes.outcomes('m', { lastN: 1 }))[0].actual).toBe(7);
    expect(rowsOf(await store.outcomes.outcomes('nothing', { lastN: 10 }))).toEqual([]);
    expect(await store.outcomes.modelsWithOutcomes()).toEqual(['m']);

    const recorded = await db.rows<{ recorded_at: string; routing_key: string | null; revisions: number }>(
      "SELECT recorded_at, routing_key, revisions FROM outcomes WHERE prediction_id = 'a'",
    );
    // A routing key is kept as given; PostgreSQL's text cannot hold U+0000, kept as U+FFFD there as by every write.
    expect(recorded.map((r) => [new Date(r.recorded_at).toISOString(), r.routing_key, Number(r.revisions)])).toEqual([
      [again.recordedAt, engine.name === 'sqlite' ? 'user-\u0000a' : 'user-\uFFFDa', 1],
    ]);
    const trail = await store.registry.history('m', { limit: 10 });
    expect(trail.map((e) => [e.action, e.actor, e.reason, e.details?.replaced])).toEqual([
      ['record_outcomes', 'contract', 'outcomes', 0],
      ['record_outcomes', 'contract', 'outcomes', 1],
      ['record_outcomes', 'contract', 'outcomes', 0],
    ]);
  });

  it('reads a window of thousands as columns: every value exactly as recorded, newest first, versions and labels as codes', async () => {
    const store = await (await engine.database()).open();
    // Doubles that text round trips would lose or bend, labels of several scripts, nulls in every nullable column.
    const odd = [0.1 + 0.2, 1 / 3, 5e-324, 1.7976931348623157e308, -2.5e-300, 123456789.12345679, 2 ** 53 + 2];
    const given: OutcomeRow[] = Array.from({ length: 3000 }, (_, i) => {
      const classifier = i % 3 === 0;
      const p = (i % 97) / 97 + 1e-17 * i;
      return row(`w-${String(i).padStart(5, '0')}`, T0 + Math.floor(i / 2) * 7, {
        version: ['v1', 'v2', 'v3 ünï'][i % 3 === 0 ? 0 : (i % 3) % 2 ? 1 : 2],
        predicted: classifier ? null : odd[i % odd.length] * (i % 2 ? 1 : -1),
        actual: classifier ? null : -odd[(i + 3) % odd.length],
        predictedLabel: classifier ? ['yes', 'no', 'peut-être'][i % 3 ? 1 : (i / 3) % 3] : null,
        actualLabel: classifier ? (i % 5 ? 'yes' : '✓') : null,
        pActual: classifier && i % 7 ? p : null,
        brier: classifier && i % 11 ? p * p : null,
        pPositive: classifier && i % 13 ? 1 - p : null,
      });
    });
    await store.outcomes.record('m', given, who, {});
    const w = await store.outcomes.outcomes('m', { lastN: 2500 });
    const sorted = [...given].sort((a, b) => b.predictedAt - a.predictedAt || (a.predictionId < b.predictionId ? 1 : -1));
    const newestFirst = sorted.slice(0, 2500);
    const strip = ({ predictionId: _, name: __, routingKey: ___, probabilities: ____, ...o }: OutcomeRow) => o;
    expect(rowsOf(w)).toEqual(newestFirst.map(strip));
    expect([...w.versions].sort()).toEqual(['v1', 'v2', 'v3 ünï']);
    expect([...w.labels].sort()).toEqual(['no', 'peut-être', 'yes', '✓']);
    expect(w.version).toBeInstanceOf(Int32Array);
    expect(w.pActual).toBeInstanceOf(Float64Array);
    // Of one version, a time range: the same filters as any window.
    const v2 = rowsOf(await store.outcomes.outcomes('m', { lastN: 100, version: 'v2', since: iso(T0 + 700), until: iso(T0 + 1400) }));
    expect(v2).toEqual(
      sorted
        .filter((o) => o.version === 'v2' && o.predictedAt >= T0 + 700 && o.predictedAt < T0 + 1400)
        .slice(0, 100)
        .map(strip),
    );
    // One task's columns only: the other task's read as null.
    const regression = rowsOf(await store.outcomes.outcomes('m', { lastN: 2500, task: 'regression' }));
    const classification = rowsOf(await store.outcomes.outcomes('m', { lastN: 2500, task: 'classification' }));
    const none = { predictedLabel: null, actualLabel: null, pActual: null, brier: null, pPositive: null };
    expect(regression).toEqual(newestFirst.map((o) => ({ ...strip(o), ...none })));
    expect(classification).toEqual(newestFirst.map((o) => ({ ...strip(o), predicted: null, actual: null })));
    const empty = await store.outcomes.outcomes('m', { lastN: 10, since: iso(T0 + 1e9) });
    expect([empty.length, empty.version.length, empty.pPositive.length, empty.versions, empty.labels]).toEqual([0, 0, 0, [], []]);
  });

  it('stores an outcome alike whether it is the first for its prediction or replaces one', async () => {
    const { store, db } = await logged(engine);
    // Values each write path must carry exactly: times before 2000 and far ahead, doubles at the
    // ends of their range (−0 is kept as 0), empty and non-empty probabilities, text beyond ASCII, nulls.
    const given = [
      row('e-1', Date.parse('1999-12-31T23:59:59.999Z'), { predicted: 5e-324, actual: -1.7976931348623157e308 }),
      row('e-2', Date.parse('2199-01-02T03:04:05.678Z'), { version: 'v2 ünï', routingKey: 'ключ-✓', predicted: 0.1 + 0.2, actual: -0 }),
      row('e-3', T0, {
        predicted: null,
        actual: null,
        predictedLabel: 'peut-être',
        actualLabel: '✓',
        probabilities: Float64Array.from([1 / 3, 2 / 3]),
        pActual: 2 / 3,
        brier: 2 / 9,
        pPositive: 2 / 3,
      }),
      row('e-4', T0, { predicted: null, actual: null, predictedLabel: 'a', actualLabel: 'a', probabilities: new Float64Array(0) }),
      // A model's output that is not a number (NaN, ±Infinity) is stored as no value, in an array too.
      row('e-5', T0, {
        predicted: NaN,
        actual: Infinity,
        predictedLabel: 'b',
        actualLabel: 'a',
        probabilities: Float64Array.from([NaN, 0.5, -Infinity]),
        pActual: NaN,
      }),
    ];
    const stored = async () =>
      (
        await db.rows<Record<string, unknown>>(
          'SELECT prediction_id, model_name, version, predicted_at, routing_key, predicted, actual, predicted_label, actual_label, probabilities, p_actual, brier, p_positive, revisions FROM outcomes ORDER BY prediction_id',
        )
      ).map((r) => ({ ...r, predicted_at: new Date(r.predicted_at as string).toISOString(), revisions: Number(r.revisions) }));
    expect((await store.outcomes.record('m', given, who, {})).replaced).toBe(0);
    const first = await stored();
    expect((await store.outcomes.record('m', given, who, {})).replaced).toBe(5);
    expect(await stored()).toEqual(first.map((r) => ({ ...r, revisions: 1 })));
    expect(first.map((r) => r.predicted_at)).toEqual(given.map((r) => iso(r.predictedAt)));
    const read = rowsOf(await store.outcomes.outcomes('m', { lastN: 10 }));
    expect(read.map((o) => [o.version, o.predictedAt, o.predicted, o.actual, o.predictedLabel, o.actualLabel, o.pActual])).toEqual([
      ['v2 ünï', given[1].predictedAt, 0.1 + 0.2, 0, null, null, null],
      ['v1', T0, null, null, 'b', 'a', null],
      ['v1', T0, null, null, 'a', 'a', null],
      ['v1', T0, null, null, 'peut-être', '✓', 2 / 3],
      ['v1', given[0].predictedAt, 5e-324, -1.7976931348623157e308, null, null, null],
    ]);
  });

  it('lets servers record overlapping outcomes at once: every id once, the last write holding', async () => {
    const { store, open, db } = await logged(engine);
    const other = await open();
    const ids = Array.from({ length: 400 }, (_, i) => `id-${String(i).padStart(3, '0')}`);
    // Each server writes the ids in a different order; the adapters must not deadlock or fail.
    const calls = [];
    for (let round = 0; round < 4; round++) {
      calls.push(
        store.outcomes.record(
          'm',
          ids.map((id) => row(id, T0, { actual: round })),
          who,
          {},
        ),
      );
      calls.push(
        other.outcomes.record(
          'm',
          [...ids].reverse().map((id) => row(id, T0, { actual: 10 + round })),
          who,
          {},
        ),
      );
    }
    const results = await Promise.all(calls);
    expect(results.reduce((n, r) => n + r.replaced, 0)).toBe(ids.length * 7);
    const stored = rowsOf(await store.outcomes.outcomes('m', { lastN: 1000 }));
    expect(stored.length).toBe(ids.length);
    expect(Number((await db.rows<{ n: number }>('SELECT count(DISTINCT prediction_id) AS n FROM outcomes'))[0].n)).toBe(ids.length);
  });
});
