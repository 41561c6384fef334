import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SessionCache } from './session-cache.js';

/** Prometheus metrics for /metrics, in a registry of this context's own (never prom-client's global one). */
export class ServingMetrics {
  readonly registry = new Registry();
  readonly predictions: Counter<'model' | 'version' | 'outcome'>;
  readonly latency: Histogram<'model' | 'version'>;

  constructor(sessions: SessionCache) {
    collectDefaultMetrics({ register: this.registry, prefix: 'mlops_mcp_' });
    this.predictions = new Counter({
      name: 'mlops_mcp_predictions_total',
      help: 'Predictions served, by model, version and outcome (ok or error); a batch counts each row',
      labelNames: ['model', 'version', 'outcome'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'mlops_mcp_prediction_latency_seconds',
      help: 'Time to validate, route and run one predict or batch_predict request',
      labelNames: ['model', 'version'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
    });
    const cache = (name: string, help: string, pick: (s: ReturnType<SessionCache['snapshot']>) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(pick(sessions.snapshot()));
        },
      });
    cache('mlops_mcp_model_cache_hits', 'ONNX session cache hits since start', (s) => s.hits);
    cache('mlops_mcp_model_cache_misses', 'ONNX session cache misses since start', (s) => s.misses);
    cache('mlops_mcp_model_cache_size', 'ONNX sessions loaded', (s) => s.size);
    cache('mlops_mcp_model_cache_evictions', 'ONNX sessions evicted since start', (s) => s.evictions);
  }
}
