import { describe, expect, it } from 'vitest';
import { ServingMetrics } from '../../src/serving/metrics.js';
import { ModelPool } from '../../src/serving/model-pool.js';
import { SessionCache } from '../../src/serving/session-cache.js';

/** The value of one exposition line, e.g. `mlops_mcp_predictions_total{model="m",version="v1",outcome="ok"}`. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('ServingMetrics', () => {
  // Only for the cache gauges: no model is loaded (so no model process starts).
  const limits = { runTimeoutMs: 1000, loadTimeoutMs: 1000, memoryMb: 256, maxOutputBytes: 1 << 20 };
  const sessions = () => new SessionCache(new ModelPool({ processes: 2, threads: 1, limits, readModel: async () => new Uint8Array() }), 50, 3_600_000);

  it('exposes every prediction recorded between scrapes, past its pending buffer, exactly once', async () => {
    const metrics = new ServingMetrics(sessions());
    // 2 500 ok predictions of v1 (more than the 1 024 held before the histogram takes them), 7 failed, and a batch of 40 rows of v2.
    let sum = 0;
    for (let i = 0; i < 2500; i++) {
      const seconds = i % 2 ? 0.0002 : 0.003;
      sum += seconds;
      metrics.record('m', 'v1', true, 1, seconds);
    }
    for (let i = 0; i < 7; i++) metrics.record('m', 'v1', false, 1, 2);
    metrics.record('m', 'v2', true, 40, 0.0004);

    for (let scrape = 0; scrape < 2; scrape++) {
      const text = await metrics.registry.metrics();
      expect(value(text, 'mlops_mcp_predictions_total{model="m",version="v1",outcome="ok"}')).toBe(2500);
      expect(value(text, 'mlops_mcp_predictions_total{model="m",version="v1",outcome="error"}')).toBe(7);
      expect(value(text, 'mlops_mcp_predictions_total{model="m",version="v2",outcome="ok"}')).toBe(40);
      expect(value(text, 'mlops_mcp_predictions_total{model="m",version="v2",outcome="error"}')).toBe(0); // present at 0: a rule's rate() sees the first error
      expect(value(text, 'mlops_mcp_prediction_latency_seconds_count{model="m",version="v1"}')).toBe(2507);
      expect(value(text, 'mlops_mcp_prediction_latency_seconds_sum{model="m",version="v1"}')).toBeCloseTo(sum + 14, 9);
      expect(value(text, 'mlops_mcp_prediction_latency_seconds_bucket{le="0.00025",model="m",version="v1"}')).toBe(1250);
      expect(value(text, 'mlops_mcp_prediction_latency_seconds_bucket{le="0.005",model="m",version="v1"}')).toBe(2500);
      expect(value(text, 'mlops_mcp_prediction_latency_seconds_bucket{le="+Inf",model="m",version="v1"}')).toBe(2507);
      // A batch is one request: one latency observation, whatever its rows.
      expect(value(text, 'mlops_mcp_prediction_latency_seconds_count{model="m",version="v2"}')).toBe(1);
    }

    // Counts keep growing across scrapes.
    metrics.record('m', 'v1', true, 1, 0.0002);
    const text = await metrics.registry.metrics();
    expect(value(text, 'mlops_mcp_predictions_total{model="m",version="v1",outcome="ok"}')).toBe(2501);
    expect(value(text, 'mlops_mcp_prediction_latency_seconds_count{model="m",version="v1"}')).toBe(2508);
  });

  it('adds the process and Node.js metrics only when asked (the HTTP server asks), once however often asked', async () => {
    const metrics = new ServingMetrics(sessions());
    metrics.record('m', 'v1', true, 1, 0.001);
    const before = await metrics.registry.metrics();
    expect(value(before, 'mlops_mcp_predictions_total{model="m",version="v1",outcome="ok"}')).toBe(1);
    expect(before).not.toMatch(/^mlops_mcp_(process|nodejs)_/m);

    metrics.collectProcessMetrics();
    metrics.collectProcessMetrics(); // prom-client would throw on a second registration of the same names
    const after = await metrics.registry.metrics();
    expect(value(after, 'mlops_mcp_nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(value(after, 'mlops_mcp_process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(after).toMatch(/^# TYPE mlops_mcp_nodejs_eventloop_lag_p99_seconds gauge$/m);
    expect(value(after, 'mlops_mcp_predictions_total{model="m",version="v1",outcome="ok"}')).toBe(1);
  });
});
