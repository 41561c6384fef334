import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { call, connect, dumpTables, errorCode, fixture, ok, readPredictionLog, registerDemoVersions, readCsvRows, testApp, text } from '../helpers.js';

interface Manifest {
  models: Array<{
    name: string;
    version: string;
    feature_names: string[];
    linear?: { intercept: number | number[]; coefficients: number[] | number[][] };
    expected: Array<number | { label: number; probabilities: number[] }>;
  }>;
  test_models: Array<{ file: string; feature_names: string[]; expected: Array<number | { label: number; probabilities: number[] }> }>;
}
const manifest = JSON.parse(fs.readFileSync(fixture('models.json'), 'utf8')) as Manifest;

/** The first rows of a reference CSV, as objects keyed by feature. */
const csvRows = (file: string, n: number, features: string[]) =>
  readCsvRows(fixture(file))
    .slice(0, n)
    .map((r) => Object.fromEntries(features.map((f) => [f, r[f]])));

let app: AppContext;
let client: Client;

beforeEach(async () => {
  ({ app } = await testApp());
  client = await connect(app, { clientName: 'serving-test' });
  await registerDemoVersions(client);
  await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
  await ok(client, 'promote_model', { name: 'nba_win_predictor', version: 'v1.5', target_stage: 'production' });
  await ok(client, 'promote_model', { name: 'nba_win_predictor', version: 'v2.0', target_stage: 'staging' });
});
afterEach(async () => {
  await client.close();
  await app.close();
});

describe('predict', () => {
  it('equals the linear model worked by hand (weights from the fixture manifest)', async () => {
    const m = manifest.models.find((x) => x.name === 'nba_points' && x.version === '1')!;
    const [row] = csvRows('nba_points_reference.csv', 1, m.feature_names);
    const coef = (m.linear!.coefficients as number[]).flat();
    const intercept = [m.linear!.intercept].flat()[0];
    const byHand = intercept + m.feature_names.reduce((s, f, i) => s + coef[i] * row[f], 0);
    const p = await ok<{ prediction: number; version: string; stage: string; routed_by: string; prediction_id: string; probabilities: null }>(
      client,
      'predict',
      {
        name: 'nba_points',
        features: row,
      },
    );
    expect(p).toMatchObject({ version: 'v1', stage: 'production', routed_by: 'production', probabilities: null });
    expect(p.prediction).toBeCloseTo(byHand, 3); // the ONNX graph computes in float32
    expect(p.prediction_id).toMatch(/^[0-9a-f-]{36}$/);
    // The same row as an array in signature order gives the same number.
    const q = await ok<{ prediction: number }>(client, 'predict', { name: 'nba_points', features: m.feature_names.map((f) => row[f]) });
    expect(q.prediction).toBe(p.prediction);
    // And either as JSON text (clients that send every argument as a string, e.g. MCP Inspector's --tool-arg).
    for (const text of [JSON.stringify(row), JSON.stringify(m.feature_names.map((f) => row[f]))]) {
      const r = await ok<{ prediction: number }>(client, 'predict', { name: 'nba_points', features: text });
      expect(r.prediction).toBe(p.prediction);
    }
  });

  it('matches scikit-learn on the first reference rows for all four demo models, in one batch each', async () => {
    for (const m of manifest.models) {
      const file = m.name === 'nba_points' ? 'nba_points_reference.csv' : 'nba_win_reference.csv';
      const rows = csvRows(file, m.expected.length, m.feature_names);
      const b = await ok<{ predictions: number[]; probabilities: Record<string, number[]> | null }>(client, 'batch_predict', {
        name: m.name,
        version: `v${m.version}`,
        rows,
      });
      m.expected.forEach((e, i) => {
        if (typeof e === 'number') expect(b.predictions[i]).toBeCloseTo(e, 3);
        else {
          expect(b.predictions[i]).toBe(e.label);
          expect(b.probabilities!['0'][i]).toBeCloseTo(e.probabilities[0], 5);
          expect(b.probabilities!['1'][i]).toBeCloseTo(e.probabilities[1], 5);
        }
      });
    }
  });

  it('answers a classifier with its label and probabilities per class label that sum to 1', async () => {
    const features = [0.6, 0.45, 113, 110, 109, 112, 2, 1];
    for (const version of ['v1.5', 'v2.0']) {
      const p = await ok<{ prediction: number; probabilities: Record<string, number> }>(client, 'predict', { name: 'nba_win_predictor', version, features });
      expect(Object.keys(p.probabilities)).toEqual(['0', '1']);
      expect(p.probabilities['0'] + p.probabilities['1']).toBeCloseTo(1, 6);
      expect(p.prediction).toBe(p.probabilities['1'] > p.probabilities['0'] ? 1 : 0);
    }
  });

  it('serves a model with one input per feature and a float64 model', async () => {
    const m = manifest.models[0];
    const [row] = csvRows('nba_points_reference.csv', 1, m.feature_names);
    await ok(client, 'register_model', { name: 'multi', artifact_path: fixture('test-models/points_multi_input.onnx') });
    await ok(client, 'register_model', { name: 'double', artifact_path: fixture('test-models/points_double.onnx'), feature_names: m.feature_names });
    const multi = await ok<{ prediction: number }>(client, 'predict', { name: 'multi', version: 'v1', features: row });
    const dbl = await ok<{ prediction: number }>(client, 'predict', { name: 'double', version: 'v1', features: row });
    expect(multi.prediction).toBeCloseTo(m.expected[0] as number, 3);
    expect(dbl.prediction).toBeCloseTo(m.expected[0] as number, 9); // float64 all the way
    // Its inputs are named after the features: each is fed its own feature, in whatever order
    // feature_names lists them (by position, sorted names fed days_rest to is_home and so on).
    const sorted = [...m.feature_names].sort();
    expect(sorted).not.toEqual(m.feature_names);
    await ok(client, 'register_model', {
      name: 'multi',
      artifact_path: fixture('test-models/points_multi_input.onnx'),
      feature_names: sorted,
      version: 'sorted',
    });
    const bySorted = await ok<{ prediction: number }>(client, 'predict', { name: 'multi', version: 'sorted', features: row });
    expect(bySorted.prediction).toBeCloseTo(m.expected[0] as number, 3);
    const asArray = await ok<{ prediction: number }>(client, 'predict', {
      name: 'multi',
      version: 'sorted',
      features: sorted.map((f) => (row as Record<string, number>)[f]),
    });
    expect(asArray.prediction).toBeCloseTo(m.expected[0] as number, 3);
    // A value beyond float32 in one feature's own input is named with its row and that input.
    const rows = [row, { ...(row as Record<string, number>), last5_avg_points: -1e39 }];
    const far = await call(client, 'batch_predict', { name: 'multi', version: 'sorted', rows });
    expect(errorCode(far)).toBe('invalid_argument');
    expect(text(far)).toContain('row 1: multi sorted: feature "last5_avg_points" is -1e+39, beyond the float32 range of the model\'s input "last5_avg_points"');
  });

  it.each([
    ['int64', 'ints', 9.3e18, '9300000000000000000'],
    ['int32', 'ints32', 3e9, '3000000000'],
  ])('converts features to an %s input (rounded), and refuses a value beyond its range naming it', async (type, name, far, farText) => {
    const m = manifest.test_models.find((t) => t.file === `test-models/points_${type}.onnx`)!;
    const [row] = csvRows('nba_points_reference.csv', 1, m.feature_names);
    await ok(client, 'register_model', { name, artifact_path: fixture(m.file) });
    const p = await ok<{ prediction: number }>(client, 'predict', { name, version: 'v1', features: row });
    expect(p.prediction).toBeCloseTo(m.expected[0] as number, 3); // scikit-learn on the rounded row
    const r = await call(client, 'predict', { name, version: 'v1', features: { ...(row as Record<string, number>), minutes_avg: far } });
    expect(errorCode(r)).toBe('invalid_argument');
    expect(text(r)).toContain(`feature "minutes_avg" is ${farText}, beyond the ${type} range of the model's input "int_input"`);
    const b = await call(client, 'batch_predict', { name, version: 'v1', rows: [Array(10).fill(1), Array(10).fill(-far)] });
    expect(errorCode(b)).toBe('invalid_argument');
    expect(text(b)).toContain(`row 1: ${name} v1: feature "is_home" is -${farText}, beyond the ${type} range of the model's input "int_input"`);
  });

  it('serves a ZipMap classifier through its probability tensor: the answers of the same model exported without ZipMap', async () => {
    await ok(client, 'register_model', { name: 'zm', artifact_path: fixture('test-models/win_zipmap.onnx') });
    const rows = csvRows('nba_win_reference.csv', 20, manifest.models.find((m) => m.name === 'nba_win_predictor')!.feature_names);
    const zipMap = await ok<{ predictions: number[]; probabilities: Record<string, number[]> }>(client, 'batch_predict', { name: 'zm', version: 'v1', rows });
    const plain = await ok<{ predictions: number[]; probabilities: Record<string, number[]> }>(client, 'batch_predict', {
      name: 'nba_win_predictor',
      version: 'v1.5',
      rows,
    });
    expect(zipMap.predictions).toEqual(plain.predictions);
    expect(zipMap.probabilities).toEqual(plain.probabilities);
  });

  it('names the feature in every bad input, and logs the failure', async () => {
    const features = Object.fromEntries(manifest.models[0].feature_names.map((f) => [f, 1]));
    const { days_rest: _omit, ...missing } = features;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ features: missing }, /missing feature days_rest; expected: is_home, days_rest/],
      [{ features: { ...features, shoe_size: 12 } }, /unknown feature "shoe_size"; expected/],
      // Misspelt, with as many keys as features: never scored with the missing one left at 0.
      [{ features: { ...missing, days_rst: 2 } }, /unknown feature "days_rst" and missing feature days_rest; expected: is_home, days_rest/],
      [{ features: [1, 2, 3] }, /expected 10 feature values in this order: is_home/],
      [{ features: {} }, /missing features is_home, days_rest/],
    ];
    for (const [args, message] of cases) {
      const r = await call(client, 'predict', { name: 'nba_points', ...args });
      expect(errorCode(r)).toBe('invalid_argument');
      expect(text(r)).toMatch(message);
    }
    const bad = await call(client, 'batch_predict', { name: 'nba_points', rows: [features, { ...features, minutes_avg: 'lots' }] });
    expect(text(bad)).toMatch(/^invalid_argument: batch_predict arguments: rows\.1: "minutes_avg": expected number, received string/);
    const row7 = await call(client, 'batch_predict', { name: 'nba_points', rows: [features, features, missing] });
    expect(text(row7)).toMatch(/row 2: missing feature days_rest/);
    // A NaN cannot travel in JSON; the domain refuses it too.
    await expect(app.serving.predict('nba_points', { ...features, days_rest: Number.NaN })).rejects.toThrow(/"days_rest" is NaN/);
    const stats = await ok<{ predictions: { total: number; errors: number } }>(client, 'get_system_stats', {});
    expect(stats.predictions).toEqual({ total: 9, errors: 9, error_rate: 1 });
  });

  it('refuses unknown models and versions, archived versions, and a model without production', async () => {
    expect(errorCode(await call(client, 'predict', { name: 'nope', features: [1] }))).toBe('not_found');
    expect(errorCode(await call(client, 'predict', { name: 'nba_points', version: 'v9', features: [1] }))).toBe('not_found');
    await ok(client, 'register_model', { name: 'lonely', artifact_path: fixture('nba_points_v1.onnx') });
    const r = await call(client, 'predict', { name: 'lonely', features: Array(10).fill(0) });
    expect(errorCode(r)).toBe('failed_precondition');
    expect(text(r)).toContain('promote_model');
    await ok(client, 'archive_model', { name: 'lonely', version: 'v1' });
    expect(errorCode(await call(client, 'predict', { name: 'lonely', version: 'v1', features: Array(10).fill(0) }))).toBe('failed_precondition');

    // A batch that cannot be routed is logged and counted as failed, as a predict is: all its rows.
    type Stats = { predictions: { total: number; errors: number } };
    const before = (await ok<Stats>(client, 'get_system_stats', {})).predictions;
    expect(
      errorCode(await call(client, 'batch_predict', { name: 'nba_points', version: 'v9', rows: [Array(10).fill(0), Array(10).fill(1), Array(10).fill(2)] })),
    ).toBe('not_found');
    expect(errorCode(await call(client, 'batch_predict', { name: 'lonely', rows: [Array(10).fill(0)] }))).toBe('failed_precondition');
    const after = (await ok<Stats>(client, 'get_system_stats', {})).predictions;
    expect(after.total - before.total).toBe(4);
    expect(after.errors - before.errors).toBe(4);
    await app.predictionLog.flush();
    const batchRows = readPredictionLog(app.config.dbPath).filter((r) => r.id.includes(':'));
    expect(batchRows.map((r) => [r.ok, r.version])).toEqual(Array(4).fill([false, null]));
  });
});

describe('A/B traffic', () => {
  it('splits 80/20 at random within 3 points over 5 000 rows, and reports it per variant', async () => {
    await ok(client, 'configure_ab_test', { name: 'nba_win_predictor', weights: { 'v2.0': 0.2, 'v1.5': 0.8 }, routing: 'random', reason: 'canary' });
    const rows = Array.from({ length: 5000 }, (_, i) => [0.5, 0.5, 110 + (i % 7), 110, 110, 110, 1, 1]);
    const b = await ok<{ served: Array<{ version: string; rows: number }>; version_per_row: string[] }>(client, 'batch_predict', {
      name: 'nba_win_predictor',
      rows,
    });
    const v2 = b.served.find((s) => s.version === 'v2.0')!.rows / 5000;
    expect(v2).toBeGreaterThan(0.17);
    expect(v2).toBeLessThan(0.23);
    expect(b.version_per_row.filter((v) => v === 'v2.0').length).toBe(b.served.find((s) => s.version === 'v2.0')!.rows);

    const t = await ok<{
      explicit: boolean;
      weights: Record<string, number>;
      variants: Array<{ version: string; count: number; weight: number; latency_ms: { p50: number } | null; mean_output: number }>;
    }>(client, 'get_traffic_config', { name: 'nba_win_predictor' });
    expect(t.explicit).toBe(true);
    expect(t.weights).toEqual({ 'v1.5': 0.8, 'v2.0': 0.2 });
    expect(t.variants.map((v) => v.version)).toEqual(['v1.5', 'v2.0']);
    expect(t.variants.reduce((s, v) => s + v.count, 0)).toBe(5000);
    expect(t.variants[1].count).toBe(b.served.find((s) => s.version === 'v2.0')!.rows);
    expect(t.variants[0].latency_ms!.p50).toBeGreaterThan(0);

    // Random routing ignores a routing key: a batch with one is still split row by row.
    const keyed = await ok<{ served: Array<{ version: string; rows: number }> }>(client, 'batch_predict', {
      name: 'nba_win_predictor',
      rows,
      routing_key: 'user-1',
    });
    const keyedV2 = keyed.served.find((s) => s.version === 'v2.0')!.rows / 5000;
    expect(keyedV2).toBeGreaterThan(0.17);
    expect(keyedV2).toBeLessThan(0.23);
  });

  it('keeps a sticky routing key on one version while the split stands', async () => {
    await ok(client, 'configure_ab_test', { name: 'nba_win_predictor', weights: { 'v2.0': 0.5, 'v1.5': 0.5 } });
    const features = [0.5, 0.5, 110, 110, 110, 110, 1, 1];
    const seen = new Map<string, Set<string>>();
    for (let k = 0; k < 60; k++) {
      for (let rep = 0; rep < 4; rep++) {
        const p = await ok<{ version: string; routed_by: string }>(client, 'predict', { name: 'nba_win_predictor', features, routing_key: `user-${k}` });
        expect(p.routed_by).toBe('sticky');
        seen.set(`user-${k}`, (seen.get(`user-${k}`) ?? new Set()).add(p.version));
      }
    }
    for (const versions of seen.values()) expect(versions.size).toBe(1);
    const onV2 = [...seen.values()].filter((s) => s.has('v2.0')).length;
    expect(onV2).toBeGreaterThan(15); // both versions get keys
    expect(onV2).toBeLessThan(45);
  });

  it('after a split ends, counts from its end and says so, not from the server start with the A/B period in', async () => {
    const features = [0.5, 0.5, 110, 110, 110, 110, 1, 1];
    type Report = { explicit: boolean; since: string; since_event: string; variants: Array<{ version: string; count: number }> };
    const report = () => ok<Report>(client, 'get_traffic_config', { name: 'nba_win_predictor' });
    const before = await report();
    expect(before).toMatchObject({ explicit: false, since: app.startedAt.toISOString(), since_event: 'server_started' });
    await ok(client, 'configure_ab_test', { name: 'nba_win_predictor', weights: { 'v2.0': 0.5, 'v1.5': 0.5 } });
    for (let i = 0; i < 20; i++) await ok(client, 'predict', { name: 'nba_win_predictor', features, routing_key: `user-${i}` });
    const during = await report();
    expect(during).toMatchObject({ explicit: true, since_event: 'split_set' });
    expect(during.variants.reduce((n, v) => n + v.count, 0)).toBe(20);
    // Promoting v2.0 ends the split (audited as configure_traffic to no split).
    await ok(client, 'promote_model', { name: 'nba_win_predictor', version: 'v2.0', target_stage: 'production' });
    const ended = (await ok<{ entries: Array<{ created_at: string }> }>(client, 'get_model_history', { name: 'nba_win_predictor', limit: 1 })).entries[0];
    const after = await report();
    expect(after).toMatchObject({ explicit: false, since: ended.created_at, since_event: 'split_ended' });
    expect(after.variants.reduce((n, v) => n + v.count, 0)).toBe(0);
    expect(text(await call(client, 'get_traffic_config', { name: 'nba_win_predictor' }))).toContain(
      `all traffic to production; counts since the last A/B split ended at ${ended.created_at}`,
    );
    for (let i = 0; i < 3; i++) await ok(client, 'predict', { name: 'nba_win_predictor', features });
    expect((await report()).variants.map((v) => [v.version, v.count])).toEqual([['v2.0', 3]]);
  });

  it('refuses bad weights and leaves the database as it was', async () => {
    const before = dumpTables(app.config.dbPath);
    const cases: Array<[Record<string, number>, string, RegExp]> = [
      [{ 'v2.0': 0.3, 'v1.5': 0.6 }, 'invalid_argument', /sum to 0.9/],
      [{ 'v9.9': 1 }, 'not_found', /no version "v9.9"/],
      [{}, 'invalid_argument', /empty/],
    ];
    for (const [weights, code, message] of cases) {
      const r = await call(client, 'configure_ab_test', { name: 'nba_win_predictor', weights });
      expect(errorCode(r), JSON.stringify(weights)).toBe(code);
      expect(text(r)).toMatch(message);
    }
    await ok(client, 'register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v2.onnx'), version: 'old' });
    await ok(client, 'archive_model', { name: 'nba_points', version: 'old' });
    const mid = dumpTables(app.config.dbPath);
    const archived = await call(client, 'configure_ab_test', { name: 'nba_points', weights: { old: 0.5, v1: 0.5 } });
    expect(errorCode(archived)).toBe('failed_precondition');
    expect(dumpTables(app.config.dbPath)).toEqual(mid);
    expect(before.traffic_configs).toEqual([]);
  });

  it('audits a split, dry-runs it without change, and ends it with the next production promotion', async () => {
    const before = dumpTables(app.config.dbPath);
    const dry = await ok<{ dry_run: boolean; before: Record<string, number>; after: Record<string, number> }>(client, 'configure_ab_test', {
      name: 'nba_win_predictor',
      weights: { 'v2.0': 0.2, 'v1.5': 0.8 },
      dry_run: true,
    });
    expect(dry).toMatchObject({ dry_run: true, before: { 'v1.5': 1 }, after: { 'v1.5': 0.8, 'v2.0': 0.2 } });
    expect(dumpTables(app.config.dbPath)).toEqual(before);
    await ok(client, 'configure_ab_test', { name: 'nba_win_predictor', weights: { 'v2.0': 0.2, 'v1.5': 0.8 }, reason: 'canary' });
    const h = await ok<{ entries: Array<{ action: string; reason: string }> }>(client, 'get_model_history', { name: 'nba_win_predictor', limit: 1 });
    expect(h.entries[0]).toMatchObject({ action: 'configure_traffic', reason: 'canary' });
    expect((await ok<{ alerts: Array<{ type: string }> }>(client, 'get_alerts', { name: 'nba_win_predictor' })).alerts[0].type).toBe('traffic_changed');
    // Archiving a version with weight is refused; promoting another to production ends the split.
    expect(errorCode(await call(client, 'archive_model', { name: 'nba_win_predictor', version: 'v2.0' }))).toBe('failed_precondition');
    await ok(client, 'promote_model', { name: 'nba_win_predictor', version: 'v2.0', target_stage: 'production' });
    const t = await ok<{ explicit: boolean; weights: Record<string, number> }>(client, 'get_traffic_config', { name: 'nba_win_predictor' });
    expect(t).toMatchObject({ explicit: false, weights: { 'v2.0': 1 } });
  });
});

describe('deploy, undeploy and the session cache', () => {
  it('warms a version, counts cache hits, and refuses to unload a version with traffic', async () => {
    const d = await ok<{ loaded: boolean; already_loaded: boolean }>(client, 'deploy_model', { name: 'nba_points', version: 'v2' });
    expect(d).toMatchObject({ loaded: true, already_loaded: false });
    expect((await ok<{ already_loaded: boolean }>(client, 'deploy_model', { name: 'nba_points', version: 'v2' })).already_loaded).toBe(true);
    await ok(client, 'predict', { name: 'nba_points', version: 'v2', features: Array(10).fill(1) });
    const stats = await ok<{ model_cache: { hits: number; misses: number; size: number } }>(client, 'get_system_stats', {});
    expect(stats.model_cache.hits).toBeGreaterThanOrEqual(2);
    expect(stats.model_cache.size).toBeGreaterThanOrEqual(1);

    const refused = await call(client, 'undeploy_model', { name: 'nba_points', version: 'v1' });
    expect(errorCode(refused)).toBe('failed_precondition');
    expect(text(refused)).toContain('100% of the traffic');
    expect(await ok(client, 'undeploy_model', { name: 'nba_points', version: 'v2', dry_run: true })).toMatchObject({ was_loaded: true, unloaded: false });
    expect(await ok(client, 'undeploy_model', { name: 'nba_points', version: 'v2' })).toMatchObject({ was_loaded: true, unloaded: true });
    expect(await ok(client, 'undeploy_model', { name: 'nba_points', version: 'v2' })).toMatchObject({ was_loaded: false, unloaded: false });

    // Another model's version registered from the same file shares production's session: undeploying it would unload production.
    await ok(client, 'register_model', { name: 'copy', artifact_path: fixture('nba_points_v1.onnx') });
    await ok(client, 'predict', { name: 'nba_points', features: Array(10).fill(1) });
    const size = (await ok<{ model_cache: { size: number } }>(client, 'get_system_stats', {})).model_cache.size;
    const shared = await call(client, 'undeploy_model', { name: 'copy', version: 'v1' });
    expect(errorCode(shared)).toBe('failed_precondition');
    expect(text(shared)).toContain('same ONNX file as nba_points v1, which takes 100% of nba_points');
    const after = (await ok<{ model_cache: { size: number; misses: number } }>(client, 'get_system_stats', {})).model_cache;
    expect(after.size).toBe(size);
    await ok(client, 'predict', { name: 'nba_points', features: Array(10).fill(1) });
    expect((await ok<{ model_cache: { misses: number } }>(client, 'get_system_stats', {})).model_cache.misses).toBe(after.misses); // no reload
  });
});

describe('the prediction log', () => {
  it('writes every prediction after a flush, and the rows survive a restart', async () => {
    for (let i = 0; i < 3; i++) await ok(client, 'predict', { name: 'nba_points', features: Array(10).fill(i), routing_key: `k${i}` });
    await call(client, 'predict', { name: 'nba_points', features: [1] });
    await app.predictionLog.flush();
    const rows = dumpTables(app.config.dbPath).predictions as Array<{
      ok: number;
      version: string;
      routing_key: string | null;
      error: string | null;
      features: unknown;
    }>;
    expect(rows).toHaveLength(4);
    expect(rows.filter((r) => r.ok === 1)).toHaveLength(3);
    expect(readPredictionLog(app.config.dbPath)[1].features).toEqual(Array(10).fill(1));
    expect(rows[2].routing_key).toBe('k2');
    expect(rows[3].error).toMatch(/expected 10 feature values/);
    expect(rows[3].features).toBe('[1]'); // what the failed request sent
    await client.close();
    await app.close();
    expect(dumpTables(app.config.dbPath).predictions.length).toBe(4);
  });
});

describe('closing', () => {
  it('logs a batch still running when the app closes, and refuses calls that come after', async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => Array(10).fill(i % 7));
    const running = app.serving.predictBatch('nba_points', rows);
    await app.close();
    expect((await running).rows).toBe(10_000);
    expect(readPredictionLog(app.config.dbPath)).toHaveLength(10_000);
    await expect(app.serving.predict('nba_points', Array(10).fill(1))).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/shutting down/),
    });
  });
});

describe('serving alerts and health', () => {
  it('raises high_error_rate once per episode and turns prediction_metrics unhealthy', async () => {
    for (let i = 0; i < 25; i++) await call(client, 'predict', { name: 'nba_points', features: [1, 2] });
    await app.serving.checkAlerts();
    await call(client, 'predict', { name: 'nba_points', features: [1, 2] });
    await app.serving.checkAlerts();
    const alerts = await ok<{ alerts: Array<{ type: string; severity: string; message: string }> }>(client, 'get_alerts', { severity: 'critical' });
    expect(alerts.alerts.map((a) => a.type)).toEqual(['high_error_rate']);
    expect(alerts.alerts[0].message).toContain('100.0% of 25 requests failed');
    const health = await ok<{ status: string; components: Array<{ name: string; status: string }> }>(client, 'health_check', {
      component: 'prediction_metrics',
    });
    expect(health.components[0].status).toBe('unhealthy');
  });

  it('keeps one episode through an outage whose traffic dips under the minimum, and ends it once no server saw it for a window', async () => {
    const { app: a } = await testApp({ ALERT_WINDOW_SECONDS: '1' });
    const c = await connect(a);
    try {
      await registerDemoVersions(c);
      await ok(c, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
      const fail = async (n: number) => {
        for (let i = 0; i < n; i++) await call(c, 'predict', { name: 'nba_points', features: [1, 2] });
      };
      const raised = async () => (await ok<{ alerts: Array<{ type: string }> }>(c, 'get_alerts', { severity: 'critical' })).alerts.length;
      const windowPassed = () => new Promise((r) => setTimeout(r, 1100));
      await fail(25);
      await a.serving.checkAlerts();
      expect(await raised()).toBe(1);
      await windowPassed();
      await fail(5); // under the minimum of 20: the window cannot tell, the episode goes on
      await a.serving.checkAlerts();
      await fail(20);
      await a.serving.checkAlerts();
      expect(await raised()).toBe(1); // it ended and restarted here before: a second alert
      // Errors again half a window after it was last marked active (by this server, or another
      // one sharing the database, which would see the same episode): the same episode.
      await new Promise((r) => setTimeout(r, 500));
      await fail(25);
      await a.serving.checkAlerts();
      expect(await raised()).toBe(1);
      // The window empties (this server's episode ends), and no server marks it for a whole
      // window more (a check a second marks it while its window still holds the errors): over.
      await windowPassed();
      await a.serving.checkAlerts();
      await windowPassed();
      await fail(25);
      await a.serving.checkAlerts();
      expect(await raised()).toBe(2);
    } finally {
      await c.close();
      await a.close();
    }
  });

  it('raises an alert the database refused at the next check, without new traffic', async () => {
    const other = new Database(app.config.dbPath);
    other.exec('BEGIN EXCLUSIVE'); // the alert's insert waits out the busy timeout and fails
    for (let i = 0; i < 25; i++) await call(client, 'predict', { name: 'nba_points', features: [1, 2] });
    await app.serving.checkAlerts();
    other.exec('ROLLBACK');
    other.close();
    await app.serving.checkAlerts();
    const alerts = await ok<{ alerts: Array<{ type: string }> }>(client, 'get_alerts', { severity: 'critical' });
    expect(alerts.alerts.map((a) => a.type)).toEqual(['high_error_rate']);
  }, 30_000);

  it('probes each production model in model_serving and describes A/B splits in ab_routing', async () => {
    await ok(client, 'configure_ab_test', { name: 'nba_win_predictor', weights: { 'v2.0': 0.2, 'v1.5': 0.8 } });
    const h = await ok<{ status: string; components: Array<{ name: string; status: string; detail: string }> }>(client, 'health_check', {});
    expect(h.status).toBe('healthy');
    const by = Object.fromEntries(h.components.map((c) => [c.name, c]));
    expect(by.model_serving.detail).toContain('answer a probe row');
    expect(by.ab_routing.detail).toContain('nba_win_predictor v1.5 80% / v2.0 20% (sticky)');
  });
});

describe('what the answers say happened', () => {
  it('routed_by: production without a split (a routing key changes nothing), sticky or random within one, explicit for a version asked for', async () => {
    const [row] = csvRows('nba_points_reference.csv', 1, manifest.models.find((m) => m.name === 'nba_points')!.feature_names);
    const routed = async (args: Record<string, unknown>) =>
      (await ok<{ routed_by: string }>(client, 'predict', { name: 'nba_points', features: row, ...args })).routed_by;
    expect(await routed({})).toBe('production');
    expect(await routed({ routing_key: 'user-1' })).toBe('production');
    expect(await routed({ version: 'v2' })).toBe('explicit');
    await ok(client, 'configure_ab_test', { name: 'nba_points', weights: { v1: 0.5, v2: 0.5 }, routing: 'sticky' });
    expect(await routed({ routing_key: 'user-1' })).toBe('sticky');
    expect(await routed({})).toBe('random');
    const rest = await call(client, 'predict', { name: 'nba_points', features: row, routing_key: 'user-1' });
    expect(text(rest)).toMatch(/^nba_points v[12] \(\w+, sticky\)/);
  });

  it('counts in words that agree with the number: 1 version, 1 row, 1 call', async () => {
    const { app: fresh } = await testApp();
    try {
      const c = await connect(fresh);
      await ok(c, 'register_model', { name: 'one', artifact_path: fixture('nba_points_v1.onnx'), version: 'v1' });
      await ok(c, 'promote_model', { name: 'one', version: 'v1', target_stage: 'production' });
      const registry = await ok<{ components: Array<{ detail: string }> }>(c, 'health_check', { component: 'model_registry' });
      expect(registry.components[0].detail).toMatch(/^1 version: 1 production/);
      expect(text(await call(c, 'list_models', {}))).toMatch(/^1 version:/);
      expect(text(await call(c, 'batch_predict', { name: 'one', rows: [Array(10).fill(1)] }))).toMatch(/^one: 1 row scored in .* by v1 \(production\) 1 row;/);
      expect(text(await call(c, 'get_traffic_config', { name: 'one' }))).toContain('1 call,');
      await c.close();
    } finally {
      await fresh.close();
    }
  });
});
