import { describe, expect, it } from 'vitest';
import { loadDemo } from '../src/demo.js';
import { connect, ok, testApp } from './helpers.js';

interface Performance {
  outcomes: number;
  versions: Array<{
    version: string;
    outcomes: number;
    series: Array<{ value: number | null }>;
    metrics: Record<string, { value: number } | null>;
    baseline: Array<{ metric: string; worse_by: number | null }>;
  }>;
  comparison: {
    control: string;
    since: string;
    variants: Array<{ version: string; outcomes: number; value: number }>;
    challengers: Array<{ version: string; verdict: string; p_value: number; outcomes_needed: number }>;
  } | null;
}

describe('the demo', () => {
  it('is a system in use: a week of predictions with outcomes, an A/B verdict, a drift run, alerts — the same at every start', async () => {
    const runs: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      const { app } = await testApp();
      const client = await connect(app);
      const started = performance.now();
      expect(await loadDemo(app)).toBe(true);
      const took = performance.now() - started;
      const win = await ok<Performance>(client, 'get_model_performance', { name: 'nba_win_predictor' });
      const points = await ok<Performance>(client, 'get_model_performance', { name: 'nba_points' });
      const drift = await ok<{ drifted_features: string[]; source: string }>(client, 'get_drift_report', { name: 'nba_points' });
      const alerts = await ok<{ alerts: Array<{ type: string; name: string }> }>(client, 'get_alerts', { hours: 1, limit: 500 });
      const health = await ok<{ components: Array<{ name: string; status: string }> }>(client, 'health_check', {});
      expect(win.comparison).toMatchObject({ control: 'v1.5', challengers: [{ version: 'v2.0' }] });
      expect(['better', 'worse', 'not yet']).toContain(win.comparison!.challengers[0].verdict);
      expect(win.comparison!.variants.every((v) => v.outcomes > 900)).toBe(true);
      expect(points.versions.map((v) => [v.version, v.outcomes])).toEqual([['v1', 2100]]);
      // Its error grows once the inputs shift (the last three days): MAE per bucket rises, the baseline is missed, the alert raised.
      const series = points.versions[0].series.map((s) => s.value!);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(mean(series.slice(-12))).toBeGreaterThan(mean(series.slice(0, 12)));
      expect(points.versions[0].baseline.find((b) => b.metric === 'mae')!.worse_by).toBeGreaterThan(0.02);
      expect(alerts.alerts.filter((a) => a.name === 'nba_points').map((a) => a.type)).toEqual(
        expect.arrayContaining(['performance_degradation', 'feature_drift']),
      );
      expect(drift.drifted_features.length).toBeGreaterThan(0);
      expect(health.components.find((c) => c.name === 'model_performance')!.status).toBe('degraded');
      expect(took).toBeLessThan(15_000);
      runs.push({
        win: win.comparison!.challengers[0],
        variants: win.comparison!.variants,
        points: points.versions[0].metrics,
        drifted: drift.drifted_features,
      });
      await client.close();
      await app.close();
    }
    expect(runs[1]).toEqual(runs[0]);
  });
});
