import { describe, expect, it } from 'vitest';
import { ServingStats } from '../../src/serving/stats.js';

describe('ServingStats', () => {
  it("counts a model's requests and failures inside the alert window only, over its latest 20 000", () => {
    const stats = new ServingStats(60_000);
    const t0 = 1_000_000;
    // 10 old requests (outside the window at t0 + 120 s), then 30 recent, every third failed.
    for (let i = 0; i < 10; i++) stats.record('m', 'v1', false, 500, t0 + i);
    for (let i = 0; i < 30; i++) stats.record('m', 'v1', i % 3 !== 0, i < 29 ? 1 : 1000, t0 + 70_000 + i);
    const w = stats.window('m', t0 + 120_000);
    expect(w).toMatchObject({ name: 'm', requests: 30, errors: 10 });
    expect(w.errorRate).toBeCloseTo(1 / 3, 12);
    expect(w.p95Ms).toBe(1);

    // Past the ring's size the oldest go: 25 000 ok requests leave no failure in the window.
    for (let i = 0; i < 25_000; i++) stats.record('m', 'v1', true, 2, t0 + 80_000 + i / 1000);
    expect(stats.window('m', t0 + 120_000)).toMatchObject({ requests: 20_000, errors: 0, p95Ms: 2 });
    expect(stats.window('other', t0)).toMatchObject({ requests: 0, errors: 0, errorRate: 0, p95Ms: null });
    expect(stats.totals()).toEqual({ predictions: 25_040, errors: 20, errorRate: 20 / 25_040 });
  });

  it("gives a variant's latency percentiles since a moment, from memory", () => {
    const stats = new ServingStats(60_000, 100);
    for (let i = 1; i <= 100; i++) stats.record('m', 'v2', true, i, 1000 + i);
    expect(stats.variantLatencies('m', 'v2', 1051)).toEqual({ p50: 75.5, p95: 97.55, p99: 99.51 }); // 51…100, interpolated
    expect(stats.variantLatencies('m', 'v1', 0)).toBeNull();
  });
});
