import { describe, expect, it } from 'vitest';
import { CacheHitWatch } from '../../src/serving/cache-watch.js';
import { connect, ok, registerDemoVersions, testApp } from '../helpers.js';

describe('cache_hit_rate_low', () => {
  it('judges the hit rate over the window, only with enough lookups, once per episode', () => {
    const counts = { hits: 0, misses: 0 };
    const watch = new CacheHitWatch(() => counts, { windowMs: 10_000, minLookups: 10, threshold: 0.7 });
    expect(watch.check(0)).toBeNull();
    counts.misses = 5; // 5 lookups: too few to judge
    expect(watch.check(1000)).toBeNull();
    counts.misses = 12;
    const alert = watch.check(2000);
    expect(alert).toMatchObject({ type: 'cache_hit_rate_low', severity: 'warning', details: { hit_rate: 0, lookups: 12 } });
    counts.misses = 20;
    expect(watch.check(3000)).toBeNull(); // same episode
    // Twelve seconds of hits: the window (10 s) forgets the misses and the episode ends…
    counts.hits = 100;
    expect(watch.check(15_000)).toBeNull();
    expect(watch.check(16_000)).toBeNull();
    // …so the next run of misses starts another.
    counts.misses = 200;
    expect(watch.check(17_000)?.type).toBe('cache_hit_rate_low');
  });

  it('is raised by serving when a cache too small for the traffic misses', async () => {
    const { app } = await testApp({ MODEL_CACHE_SIZE: '1', ALERT_MIN_REQUESTS: '6' });
    const client = await connect(app);
    await registerDemoVersions(client);
    for (let i = 0; i < 4; i++) {
      await ok(client, 'predict', { name: 'nba_points', version: 'v1', features: [1, 2, 20, 6, 5, 22, 6, 5, 30, 112] });
      await ok(client, 'predict', { name: 'nba_win_predictor', version: 'v1.5', features: [0.62, 0.48, 114.2, 110.9, 108.5, 112.0, 2, 1] });
    }
    await app.serving.checkAlerts();
    await app.serving.checkAlerts();
    const { alerts } = await ok<{ alerts: Array<{ type: string; message: string }> }>(client, 'get_alerts', { hours: 1 });
    expect(alerts.filter((a) => a.type === 'cache_hit_rate_low').map((a) => a.message)).toEqual([
      expect.stringMatching(/hit rate 0\.0% over 8 lookups .* MODEL_CACHE_SIZE/),
    ]);
    await app.close();
  });
});
