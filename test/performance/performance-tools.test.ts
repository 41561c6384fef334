import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { rowsOf } from '../../src/performance/columns.js';
import { regressionMetrics } from '../../src/performance/metrics.js';
import { twoProportionTest } from '../../src/performance/stats.js';
import { call, connect, fixture, ok, testApp, text } from '../helpers.js';

const WIN = [0.62, 0.48, 114.2, 110.9, 108.5, 112.0, 2, 1];
/** Row i of nba_points, varied so that predictions spread. */
const pointsRow = (i: number) => [i % 2, 1 + (i % 3), 12 + (i % 17), 6, 5, 14 + (i % 13), 6, 5, 30, 112];

interface Metric {
  value: number | null;
  n: number;
  ci95: { low: number; high: number } | null;
}
interface Performance {
  outcomes: number;
  versions: Array<{
    version: string;
    outcomes: number;
    metrics: Record<string, Metric | null>;
    baseline: Array<{ metric: string; baseline: number; value: number; change: number; worse_by: number }>;
    series: Array<{ n: number; value: number | null }>;
    classes: unknown[] | null;
  }>;
  comparison: null | {
    metric: string;
    control: string;
    variants: Array<{ version: string; outcomes: number; value: number }>;
    challengers: Array<{
      version: string;
      difference: number;
      p_value: number;
      statistic: number;
      verdict: string;
      outcomes_needed: number | null;
      ci: { low: number; high: number };
    }>;
  };
}

let app: AppContext;
let client: Client;

beforeAll(async () => {
  ({ app } = await testApp({ ALERT_MIN_OUTCOMES: '30', ALERT_OUTCOME_WINDOW: '60' }));
  client = await connect(app);
  await ok(client, 'register_model', {
    name: 'nba_points',
    artifact_path: fixture('nba_points_v1.onnx'),
    version: 'v1',
    metrics: { r2: 0.9, mae: 1.5 },
    tags: { min_r2: '0.5' },
  });
  await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
  await ok(client, 'register_model', {
    name: 'nba_win_predictor',
    artifact_path: fixture('nba_win_predictor_v1.5.onnx'),
    version: 'v1.5',
    metrics: { accuracy: 0.7, auc: 0.8 },
  });
  await ok(client, 'register_model', { name: 'nba_win_predictor', artifact_path: fixture('nba_win_predictor_v2.0.onnx'), version: 'v2.0' });
  await ok(client, 'promote_model', { name: 'nba_win_predictor', version: 'v1.5', target_stage: 'production' });
});
afterAll(async () => {
  await client.close();
  await app.close();
});

/** Predicts n rows of nba_points and records actual = prediction + noise(i). */
async function pointsOutcomes(n: number, noise: (i: number) => number): Promise<void> {
  const b = await app.serving.predictBatch(
    'nba_points',
    Array.from({ length: n }, (_, i) => pointsRow(i)),
  );
  await ok(client, 'record_outcomes', {
    name: 'nba_points',
    outcomes: b.predictions.map((p, i) => ({ prediction_id: `${b.batchId}:${i}`, actual: (p as number) + noise(i) })),
  });
}

const alertsOf = async (type: string, name = 'nba_points') =>
  (await ok<{ alerts: Array<{ type: string; version: string; message: string }> }>(client, 'get_alerts', { hours: 1, limit: 500, name })).alerts.filter(
    (a) => a.type === type,
  );

describe('get_model_performance', () => {
  it('answers each metric with n and its interval as the domain computes it on the stored outcomes, next to the baseline', async () => {
    await pointsOutcomes(20, (i) => (i % 5) - 2);
    const p = await ok<Performance>(client, 'get_model_performance', { name: 'nba_points' });
    const stored = rowsOf(await app.store.outcomes.outcomes('nba_points', { lastN: 1000 }));
    const expected = regressionMetrics(
      Float64Array.from(stored, (o) => o.predicted!),
      Float64Array.from(stored, (o) => o.actual!),
      0.95,
    );
    const v1 = p.versions[0];
    expect([p.outcomes, v1.version, v1.outcomes]).toEqual([20, 'v1', 20]);
    expect(v1.metrics.mae).toEqual({ value: expected.mae.value, n: 20, ci95: { low: expected.mae.interval!.low, high: expected.mae.interval!.high } });
    expect(v1.metrics.r2?.value).toBe(expected.r2!.value);
    expect(v1.metrics.rmse?.value).toBe(expected.rmse.value);
    expect(v1.metrics.bias?.value).toBeCloseTo(0, 12);
    expect(v1.metrics.accuracy).toBeNull();
    expect(v1.baseline).toEqual([
      { metric: 'r2', baseline: 0.9, value: expected.r2!.value, change: expected.r2!.value - 0.9, worse_by: (0.9 - expected.r2!.value) / 0.9 },
      { metric: 'mae', baseline: 1.5, value: expected.mae.value, change: expected.mae.value - 1.5, worse_by: (expected.mae.value - 1.5) / 1.5 },
    ]);
    expect(v1.series.reduce((n, s) => n + s.n, 0)).toBe(20);
    expect(text(await call(client, 'get_model_performance', { name: 'nba_points' }))).toMatch(/v1 \(production\), 20 outcomes: r2 .* mae 1\.2 \[/);
  });

  it('windows by the newest outcomes and by prediction time', async () => {
    const last5 = await ok<Performance>(client, 'get_model_performance', { name: 'nba_points', window: { last_n: 5 } });
    expect(last5.outcomes).toBe(5);
    const future = await ok<Performance>(client, 'get_model_performance', {
      name: 'nba_points',
      window: { since: new Date(Date.now() + 60_000).toISOString() },
    });
    expect([future.outcomes, future.versions]).toEqual([0, []]);
    expect(text(await call(client, 'get_model_performance', { name: 'nba_points', window: { since_hours: 1 } }))).toMatch(/20 outcomes in the window/);
  });
});

describe('A/B verdicts', () => {
  it('says not yet with few outcomes, and how many more it takes; better once significant, with the z test of the counts', async () => {
    await ok(client, 'configure_ab_test', { name: 'nba_win_predictor', weights: { 'v1.5': 0.5, 'v2.0': 0.5 }, routing: 'random' });
    const label = async (n: number, rightFor: (version: string, i: number) => boolean) => {
      const b = await app.serving.predictBatch(
        'nba_win_predictor',
        Array.from({ length: n }, () => WIN),
      );
      // i counts the rows each version served, so a version's accuracy does not depend on how the
      // random split happened to fall on the batch's rows.
      const seen = new Map<string, number>();
      const outcomes = b.predictions.map((p, row) => {
        const version = b.versionPerRow?.[row] ?? b.served[0].version;
        const i = seen.get(version) ?? 0;
        seen.set(version, i + 1);
        return { prediction_id: `${b.batchId}:${row}`, actual: rightFor(version, i) ? Number(p) : 1 - Number(p) };
      });
      await ok(client, 'record_outcomes', { name: 'nba_win_predictor', outcomes });
    };
    await label(20, (_v, i) => i % 2 === 0);
    const early = await ok<Performance>(client, 'get_model_performance', { name: 'nba_win_predictor' });
    expect(early.comparison).toMatchObject({ metric: 'accuracy', control: 'v1.5' });
    expect(early.comparison!.challengers[0]).toMatchObject({ version: 'v2.0', verdict: 'not yet' });
    expect(early.comparison!.challengers[0].outcomes_needed).toBeGreaterThan(0);

    // v2.0 right 95% of the time, v1.5 60%.
    await label(600, (v, i) => (v === 'v2.0' ? i % 20 !== 0 : i % 5 < 3));
    const late = await ok<Performance>(client, 'get_model_performance', { name: 'nba_win_predictor' });
    const c = late.comparison!;
    const [a, b] = ['v1.5', 'v2.0'].map((v) => c.variants.find((x) => x.version === v)!);
    const z = twoProportionTest(Math.round(a.value * a.outcomes), a.outcomes, Math.round(b.value * b.outcomes), b.outcomes, 0.95)!;
    expect(c.challengers[0]).toMatchObject({
      verdict: 'better',
      difference: z.difference,
      statistic: z.statistic,
      p_value: z.pValue,
      ci: { low: z.interval.low, high: z.interval.high },
    });
    expect(text(await call(client, 'get_model_performance', { name: 'nba_win_predictor' }))).toMatch(/v2\.0 vs v1\.5: difference .* → BETTER/);
    // Asked at a stricter level the same data may still say better; the other way round it is worse.
    const reversed = await ok<Performance>(client, 'get_model_performance', { name: 'nba_win_predictor', alpha: 0.001 });
    expect(reversed.comparison!.challengers[0].verdict).toBe('better');
    const v15 = late.versions.find((v) => v.version === 'v1.5')!;
    expect(v15.metrics.roc_auc).not.toBeNull();
    expect(v15.classes).toHaveLength(2);
  });

  it('has no comparison without a split, nor for one version', async () => {
    expect((await ok<Performance>(client, 'get_model_performance', { name: 'nba_points' })).comparison).toBeNull();
    expect((await ok<Performance>(client, 'get_model_performance', { name: 'nba_win_predictor', version: 'v2.0' })).comparison).toBeNull();
  });
});

describe('performance alerts', () => {
  it('raise nothing below the minimum outcomes; then once per episode; again after a recovery', async () => {
    // The 20 good outcomes of the first test are in the window; 5 bad ones are too few to judge (minimum 30).
    await pointsOutcomes(5, (i) => (i % 2 ? 15 : -15));
    expect((await alertsOf('performance_degradation')).map((a) => a.message)).toEqual([]);
    await pointsOutcomes(40, (i) => (i % 2 ? 15 : -15));
    const raised = await alertsOf('performance_degradation');
    expect(raised.map((a) => a.version)).toEqual(['v1']);
    expect(raised[0].message).toMatch(/r2 .* worse than its baseline 0\.9/);
    const floor = await alertsOf('model_accuracy_degraded');
    expect(floor.map((a) => a.message)).toEqual([expect.stringMatching(/r2 .* is below its floor 0\.5/)]);
    await pointsOutcomes(30, (i) => (i % 2 ? 15 : -15));
    expect(await alertsOf('performance_degradation')).toHaveLength(1);
    const health = await ok<{ components: Array<{ name: string; status: string; detail: string }> }>(client, 'health_check', {
      component: 'model_performance',
    });
    expect(health.components[0]).toMatchObject({
      status: 'degraded',
      detail: expect.stringMatching(/nba_points v1: mae [\d.]+ over 60 outcomes \(r2 .* worse than baseline 0\.9/),
    });
    // A window of good outcomes ends the episode; the next drop starts another.
    await pointsOutcomes(60, (i) => (i % 3) - 1);
    const recovered = await ok<{ components: Array<{ detail: string }> }>(client, 'health_check', { component: 'model_performance' });
    expect(recovered.components[0].detail).toMatch(/nba_points v1: mae [\d.]+ over 60 outcomes(;|$)/);
    await pointsOutcomes(60, (i) => (i % 2 ? 15 : -15));
    expect(await alertsOf('performance_degradation')).toHaveLength(2);
    expect(await alertsOf('model_accuracy_degraded')).toHaveLength(2);
  });

  it("exports the window's metrics per model and version on /metrics", async () => {
    const text = await app.metrics.registry.metrics();
    expect(text).toMatch(/mlops_mcp_model_r2_score\{model="nba_points",version="v1"\} -?\d/);
    expect(text).toMatch(/mlops_mcp_model_accuracy\{model="nba_win_predictor",version="v2.0"\} (0\.\d+|1)\n/);
    expect(text).toMatch(/mlops_mcp_model_outcomes\{model="nba_points",version="v1"\} 60/);
    expect(text).toMatch(/mlops_mcp_model_cache_hit_ratio \d/);
  });
});
