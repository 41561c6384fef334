import { expect, it } from 'vitest';
import { DomainError } from '../../../src/errors.js';
import type { DriftRun, ReferenceFeature } from '../../../src/monitoring/drift-types.js';
import { nextVersionLabel } from '../../../src/registry/rules.js';
import type { VersionLabel } from '../../../src/registry/types.js';
import type { Store } from '../../../src/store/store.js';
import { newVersion } from '../../versions.js';
import { describeEachEngine } from './engines.js';

const who = { actor: 'contract', reason: 'testing' };
const EPOCH = '2000-01-01T00:00:00.000Z';

async function model(store: Store, name: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await store.registry.registerVersion(
      name,
      (existing: VersionLabel[]) => newVersion({ name, version: nextVersionLabel(existing), artifactSha256: 'c'.repeat(64) }),
      who,
    );
  }
}

const feature = (name: string, values: number[]): ReferenceFeature => {
  const sorted = Float64Array.from(values).sort();
  return {
    feature: name,
    sorted,
    summary: {
      feature: name,
      n: values.length,
      mean: 0,
      std: 0,
      min: sorted[0],
      max: sorted[sorted.length - 1],
      quantiles: { p05: 0, p25: 0, p50: 0, p75: 0, p95: 0 },
    },
  };
};

const run = (id: string, name: string, createdAt: string): DriftRun => ({
  id,
  name,
  version: null,
  referenceVersion: null,
  source: 'csv x.csv',
  threshold: 0.05,
  correction: 'none',
  datasetDriftShare: 0.5,
  datasetDrift: true,
  driftedShare: 0.5,
  features: [{ feature: 'a', statistic: 0.5, pValue: 1e-300, pValueAdjusted: 1e-300, psi: 0.3, driftDetected: true, nRef: 3, nCur: 3, method: 'exact' }],
  actor: 'contract',
  createdAt,
  curves: {
    a: {
      reference: { n: 3, x: [0, 1], cdf: [0.5, 1] },
      current: { n: 3, x: [1, 2], cdf: [0.5, 1] },
      ks: { x: 1, referenceCdf: 1, currentCdf: 0.5, distance: 0.5 },
    },
  },
});

/**
 * A run as the releases before camelCase domain records stored it: `JSON.stringify` of the run
 * with each feature's and each KS location's fields snake_case, a statistic since removed (`old`)
 * among them, and no `monitored` (runs before it were all monitoring runs).
 */
const OLD_RUN = {
  id: 'old1',
  name: 'm',
  version: null,
  referenceVersion: null,
  source: 'csv x.csv',
  threshold: 0.05,
  correction: 'fdr',
  datasetDriftShare: 0.5,
  datasetDrift: false,
  driftedShare: 0,
  features: [
    { feature: 'a', statistic: 0.25, p_value: 0.5, method: 'asymp', psi: 0.01, old: 7, p_value_adjusted: 0.75, drift_detected: false, n_ref: 30, n_cur: 40 },
  ],
  actor: 'contract',
  createdAt: '2026-10-01T10:00:00.000Z',
  curves: {
    a: { reference: { n: 30, x: [0], cdf: [1] }, current: { n: 40, x: [0], cdf: [1] }, ks: { x: 0, reference_cdf: 1, current_cdf: 0.75, distance: 0.25 } },
  },
};

describeEachEngine('store contract: traffic, drift, alerts and the outbox', (engine) => {
  it('keeps a split as given (its weights in their order), serves it with the versions, and lists every split', async () => {
    const store = await (await engine.database()).open();
    await model(store, 'm', 11);
    // Labels whose byte order differs from their length order: routing walks the weights in order.
    const weights = { v10: 0.25, v11: 0.25, v9: 0.5 };
    const set = await store.traffic.setTraffic(
      'm',
      () => ({ weights, routing: 'sticky', alerts: [{ type: 'traffic_changed', severity: 'info', name: 'm', version: null, message: 'split' }] }),
      who,
    );
    expect(set.before).toBeNull();
    const served = (await store.traffic.servingState('m'))!;
    expect(Object.keys(served.traffic!.weights)).toEqual(['v10', 'v11', 'v9']);
    expect(served.traffic).toEqual({ weights, routing: 'sticky', updatedAt: set.config.updatedAt });
    expect(served.versions.map((v) => v.version)).toEqual(Array.from({ length: 11 }, (_, i) => `v${i + 1}`));
    expect(await store.traffic.servingState('nothing')).toBeUndefined();
    expect(await store.traffic.trafficConfigs()).toEqual([{ name: 'm', config: served.traffic }]);
    const refusal = new DomainError('invalid_argument', 'bad weights');
    await expect(
      store.traffic.setTraffic(
        'm',
        () => {
          throw refusal;
        },
        who,
      ),
    ).rejects.toBe(refusal);
    expect((await store.traffic.servingState('m'))!.traffic).toEqual(served.traffic);
    expect((await store.alerts.list({ since: EPOCH, limit: 10 })).map((a) => a.type)).toEqual(['traffic_changed']);
  });

  it('replaces a drift reference whole, keeps every float64 exactly and the features in their order', async () => {
    const store = await (await engine.database()).open();
    await model(store, 'm', 1);
    const tricky = [-0, 0, 5e-324, 1.7976931348623157e308, -1e-300, 0.1 + 0.2];
    await store.drift.replaceReference(
      { name: 'm', version: null, source: 'csv a.csv', rows: 6, features: [feature('z', tricky), feature('a', [3, 2, 1, 0, -1, -2])] },
      who,
    );
    await store.drift.replaceReference({ name: 'm', version: 'v1', source: 'csv b.csv', rows: 2, features: [feature('b', [1, 2])] }, who);
    const model1 = (await store.drift.getReference('m', null))!;
    expect(model1.features.map((f) => f.feature)).toEqual(['z', 'a']);
    expect(Array.from(model1.features[0].sorted)).toEqual(Array.from(Float64Array.from(tricky).sort()));
    expect(Object.is(model1.features[0].sorted[1], -0) || Object.is(model1.features[0].sorted[2], -0)).toBe(true);
    expect(model1).toMatchObject({ name: 'm', version: null, source: 'csv a.csv', rows: 6 });
    expect(await store.drift.referenceRows('m', null)).toBe(6);
    const replaced = await store.drift.replaceReference({ name: 'm', version: null, source: 'csv c.csv', rows: 2, features: [feature('q', [9, 8])] }, who);
    expect(replaced.replacedRows).toBe(6);
    expect(await store.drift.getReference('m', null)).toMatchObject({
      source: 'csv c.csv',
      rows: 2,
      createdAt: replaced.createdAt,
      features: [{ feature: 'q' }],
    });
    expect(await store.drift.referenceRows('m', 'v9')).toBeUndefined();
    expect(await store.drift.getReference('m', 'v1')).toMatchObject({ version: 'v1', rows: 2 });
    expect(await store.drift.getReference('m', 'v2')).toBeUndefined();
    expect(await store.drift.referenceCount()).toBe(2);
    const [audit] = await store.registry.history('m', { limit: 1 });
    expect(audit).toMatchObject({ action: 'set_drift_reference', version: null, details: { source: 'csv c.csv', rows: 2, features: ['q'], replaced_rows: 6 } });
  });

  it('stores drift runs with their alerts, and finds each model’s newest', async () => {
    const store = await (await engine.database()).open({ mlflowOutbox: true });
    await store.drift.insertRun(run('r1', 'm', '2026-11-01T10:00:00.000Z'), [
      { type: 'feature_drift', severity: 'warning', name: 'm', version: null, message: 'drift' },
    ]);
    await store.drift.insertRun(run('r2', 'm', '2026-11-01T11:00:00.000Z'), []);
    await store.drift.insertRun(run('r3', 'n', '2026-11-01T09:00:00.000Z'), []);
    // Same time as r2: the later insert is the newer.
    await store.drift.insertRun(run('r4', 'm', '2026-11-01T11:00:00.000Z'), []);
    expect(await store.drift.getRun('r1')).toEqual(run('r1', 'm', '2026-11-01T10:00:00.000Z'));
    expect(await store.drift.getRun('nope')).toBeUndefined();
    expect((await store.drift.latestRun('m'))?.id).toBe('r4');
    expect((await store.drift.latestRun())?.id).toBe('r4');
    expect((await store.drift.latestRuns()).map((r) => r.id).sort()).toEqual(['r3', 'r4']);
    const alerts = await store.alerts.list({ since: EPOCH, limit: 10 });
    expect(alerts.map((a) => [a.type, a.createdAt])).toEqual([['feature_drift', '2026-11-01T10:00:00.000Z']]);
    expect((await store.outbox.peek(10)).map((e) => [e.kind, e.payload])).toEqual([
      ['drift_run', { runId: 'r1' }],
      ['drift_run', { runId: 'r2' }],
      ['drift_run', { runId: 'r3' }],
      ['drift_run', { runId: 'r4' }],
    ]);
    // A run that does not monitor (a read-only caller's), though newer: kept, never the latest, not queued for MLflow.
    const quiet = { ...run('r5', 'm', '2026-11-01T12:00:00.000Z'), monitored: false };
    await store.drift.insertRun(quiet, []);
    expect(await store.drift.getRun('r5')).toEqual(quiet);
    expect((await store.drift.latestRun('m'))?.id).toBe('r4');
    expect((await store.drift.latestRun())?.id).toBe('r4');
    expect((await store.drift.latestRuns()).map((r) => r.id).sort()).toEqual(['r3', 'r4']);
    const onlyQuiet = { ...run('r6', 'q', '2026-11-01T12:00:00.000Z'), monitored: false };
    await store.drift.insertRun(onlyQuiet, []);
    expect(await store.drift.latestRun('q')).toBeUndefined();
    expect((await store.drift.latestRuns()).map((r) => r.id).sort()).toEqual(['r3', 'r4']);
    expect((await store.outbox.peek(10)).map((e) => e.payload)).toHaveLength(4);
  });

  it('reads a run stored by an earlier release (snake_case features) as camelCase, and stores runs in that same shape', async () => {
    const db = await engine.database();
    const store = await db.open();
    await db.write(
      'INSERT INTO drift_runs (id, model_name, version, source, dataset_drift, drifted_share, result, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ['old1', 'm', null, 'csv x.csv', engine.name === 'sqlite' ? 0 : false, 0, JSON.stringify(OLD_RUN), 'contract', OLD_RUN.createdAt],
    );
    const read = (await store.drift.getRun('old1'))!;
    expect(read.features).toEqual([
      { feature: 'a', statistic: 0.25, pValue: 0.5, method: 'asymp', psi: 0.01, old: 7, pValueAdjusted: 0.75, driftDetected: false, nRef: 30, nCur: 40 },
    ]);
    expect(read.curves!.a.ks).toEqual({ x: 0, referenceCdf: 1, currentCdf: 0.75, distance: 0.25 });
    expect(read).toMatchObject({ id: 'old1', correction: 'fdr', createdAt: OLD_RUN.createdAt });
    expect(read.monitored).toBeUndefined();
    expect((await store.drift.latestRun('m'))!.features[0].pValueAdjusted).toBe(0.75);
    expect((await store.drift.latestRuns())[0].features[0].driftDetected).toBe(false);

    // A run stored now is in the earlier releases' shape, so they read it too.
    await store.drift.insertRun(run('r1', 'm', '2026-11-01T10:00:00.000Z'), []);
    const [row] = await db.rows<{ result: string | object }>('SELECT result FROM drift_runs WHERE id = ?', ['r1']);
    const stored = (typeof row.result === 'string' ? JSON.parse(row.result) : row.result) as typeof OLD_RUN;
    expect(stored.features).toEqual([
      { feature: 'a', statistic: 0.5, p_value: 1e-300, p_value_adjusted: 1e-300, psi: 0.3, drift_detected: true, n_ref: 3, n_cur: 3, method: 'exact' },
    ]);
    expect(stored.curves.a.ks).toEqual({ x: 1, reference_cdf: 1, current_cdf: 0.5, distance: 0.5 });
    expect(stored).toMatchObject({ id: 'r1', referenceVersion: null, datasetDriftShare: 0.5, createdAt: '2026-11-01T10:00:00.000Z' });
  });

  it('lists alerts newest first, by time, severity and model, a page at a time', async () => {
    const store = await (await engine.database()).open();
    for (let i = 0; i < 6; i++) {
      await store.alerts.insert({
        type: 'high_latency',
        severity: i % 2 ? 'warning' : 'critical',
        name: i % 3 ? 'a' : 'b',
        version: null,
        message: `#${i}`,
        details: { i },
      });
    }
    const page = await store.alerts.list({ since: EPOCH, limit: 4 });
    expect(page.map((a) => a.message)).toEqual(['#5', '#4', '#3', '#2']);
    expect(page[0].details).toEqual({ i: 5 });
    expect((await store.alerts.list({ since: EPOCH, limit: 4, beforeId: page[3].id })).map((a) => a.message)).toEqual(['#1', '#0']);
    expect((await store.alerts.list({ since: EPOCH, limit: 10, severity: 'warning', name: 'a' })).map((a) => a.message)).toEqual(['#5', '#1']);
    expect(await store.alerts.list({ since: new Date(Date.now() + 60_000).toISOString(), limit: 10 })).toEqual([]);
  });

  it('raises one alert per episode however many connections see it, and again once every one was quiet', async () => {
    const db = await engine.database();
    const [a, b] = await Promise.all([db.open(), db.open()]);
    const draft = { type: 'high_error_rate' as const, severity: 'critical' as const, name: 'm', version: null, message: 'errors' };
    // Ten at once from two connections on a new episode: one alert.
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).alerts.raiseOnce('high_error_rate\0m', draft, 1000)));
    expect(first.filter((x) => x !== null)).toHaveLength(1);
    expect(await b.alerts.raiseOnce('high_error_rate\0m', draft, 1000)).toBeNull();
    expect(await a.alerts.raiseOnce('high_latency\0m', null, 1000)).toBeNull(); // marked, nothing raised
    await new Promise((r) => setTimeout(r, 600));
    expect(await a.alerts.raiseOnce('high_error_rate\0m', null, 1000)).toBeNull(); // kept alive
    await new Promise((r) => setTimeout(r, 600));
    expect(await b.alerts.raiseOnce('high_error_rate\0m', draft, 1000)).toBeNull(); // active 0.6 s ago
    await new Promise((r) => setTimeout(r, 1100));
    const again = await b.alerts.raiseOnce('high_error_rate\0m', draft, 1000);
    expect(again).toMatchObject({ type: 'high_error_rate', name: 'm' });
    expect((await a.alerts.list({ since: EPOCH, limit: 10 })).map((x) => x.id)).toEqual([again!.id, first.find((x) => x)!.id]);
  });

  it('queues every change for MLflow in order with the change itself, and records pushes, failures and links', async () => {
    const db = await engine.database();
    const quiet = await db.open();
    await model(quiet, 'unmirrored', 1);
    expect(await quiet.outbox.peek(10)).toEqual([]);
    const store = await db.open({ mlflowOutbox: true });
    await model(store, 'm', 2);
    await store.traffic.setTraffic('m', () => ({ weights: { v1: 1 }, routing: 'random', alerts: [] }), who);
    const queued = await store.outbox.peek(10);
    expect(queued.map((e) => [e.kind, e.name, e.payload])).toEqual([
      ['register', 'm', { version: 'v1' }],
      ['register', 'm', { version: 'v2' }],
      ['traffic', 'm', { weights: { v1: 1 }, routing: 'random', before: null }],
    ]);
    await store.outbox.failed(queued[0].id, 'MLflow is down'.repeat(100));
    const stats = await store.outbox.stats();
    expect(stats).toMatchObject({ pending: 3, oldestCreatedAt: queued[0].createdAt });
    expect(stats.lastError).toHaveLength(500);
    expect((await store.outbox.peek(1))[0]).toMatchObject({ attempts: 1 });
    await store.outbox.done(queued[0].id, { name: 'm', version: 'v1', mlflowName: 'm', mlflowVersion: '1', runId: 'run-1' });
    expect(await store.outbox.link('m', 'v1')).toEqual({ mlflowName: 'm', mlflowVersion: '1', runId: 'run-1' });
    await store.outbox.setLink('m', 'v2', { mlflowName: 'm', mlflowVersion: '2', runId: null });
    expect(await store.outbox.link('m', 'v2')).toEqual({ mlflowName: 'm', mlflowVersion: '2', runId: null });
    expect(await store.outbox.link('m', 'v3')).toBeUndefined();
    expect((await store.outbox.stats()).pending).toBe(2);
  });
});
