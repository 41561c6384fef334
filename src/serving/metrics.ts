import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SessionCache } from './session-cache.js';

/** Latencies seen since the last scrape, per version, before prom-client's histogram gets them. */
const PENDING_LATENCIES = 1024;

interface VariantMeter {
  labels: { model: string; version: string };
  ok: number;
  errors: number;
  pending: Float64Array;
  n: number;
}

/** Outcome metrics exported per model and version: [metric, gauge name, help]. */
const PERFORMANCE_GAUGES = [
  ['r2', 'mlops_mcp_model_r2_score', 'R² of a regressor version over its newest outcomes'],
  ['mae', 'mlops_mcp_model_mae', 'Mean absolute error of a regressor version over its newest outcomes'],
  ['rmse', 'mlops_mcp_model_rmse', 'Root mean squared error of a regressor version over its newest outcomes'],
  ['bias', 'mlops_mcp_model_bias', 'Mean of prediction − actual of a regressor version over its newest outcomes'],
  ['accuracy', 'mlops_mcp_model_accuracy', 'Accuracy of a classifier version over its newest outcomes'],
  ['log_loss', 'mlops_mcp_model_log_loss', 'Log loss of a classifier version over its newest outcomes'],
  ['brier', 'mlops_mcp_model_brier_score', 'Brier score of a classifier version over its newest outcomes'],
  ['roc_auc', 'mlops_mcp_model_roc_auc', 'ROC AUC of a binary classifier version over its newest outcomes'],
] as const;

/**
 * Prometheus metrics for /metrics, in a registry of this context's own (never prom-client's
 * global one). A prediction only bumps two numbers and stores its latency; prom-client's
 * counter and histogram take them when scraped (or every PENDING_LATENCIES predictions of a
 * version): labelled updates, which hash their labels, cost ~4 µs a prediction on the request
 * path when made one by one between requests, and a fraction of that in a batch.
 */
export class ServingMetrics {
  readonly registry = new Registry();
  private readonly meters = new Map<string, Map<string, VariantMeter>>();
  private readonly latency: Histogram<'model' | 'version'>;

  private processMetrics = false;

  constructor(sessions: SessionCache) {
    // prom-client calls collect() with `this` bound to its metric: the meters are reached through these.
    const meters = this.meters;
    const drain = (m: VariantMeter) => this.drain(m);
    // Registered in the registry, which is all that reads it.
    new Counter({
      name: 'mlops_mcp_predictions_total',
      help: 'Predictions served, by model, version and outcome (ok or error); a batch counts each row',
      labelNames: ['model', 'version', 'outcome'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const versions of meters.values()) {
          // Both outcomes from a version's first request on, zero included: a rule's rate() sees
          // the first error as an increase (a series that appears at 40 shows none).
          for (const m of versions.values()) {
            this.inc({ ...m.labels, outcome: 'ok' }, m.ok);
            this.inc({ ...m.labels, outcome: 'error' }, m.errors);
          }
        }
      },
    });
    this.latency = new Histogram({
      name: 'mlops_mcp_prediction_latency_seconds',
      help: 'Time to validate, route and run one predict or batch_predict request',
      labelNames: ['model', 'version'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
      collect() {
        for (const versions of meters.values()) for (const m of versions.values()) drain(m);
      },
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

  /**
   * Exports what outcomes say of each version (the newest outcomes of each, read by `read` at
   * scrape time) as one gauge per metric, labelled by model and version only: R² as
   * mlops_mcp_model_r2_score (the guides' rule model_r2_score < 0.92), the others by their names.
   */
  exportPerformance(
    read: () => Promise<ReadonlyArray<{ name: string; version: string; values: Readonly<Record<string, number | undefined>>; n: number }>>,
  ): void {
    // prom-client collects every metric at once: each gauge reads (read() shares one read among them) and sets its own values.
    const gauge = (name: string, help: string, value: (s: Awaited<ReturnType<typeof read>>[number]) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: ['model', 'version'],
        registers: [this.registry],
        async collect() {
          const standings = await read();
          this.reset();
          for (const s of standings) {
            const v = value(s);
            if (v !== undefined && Number.isFinite(v)) this.set({ model: s.name, version: s.version }, v);
          }
        },
      });
    gauge(
      'mlops_mcp_model_outcomes',
      'Outcomes the exported performance metrics of a version are measured on (its newest, up to ALERT_OUTCOME_WINDOW)',
      (s) => s.n,
    );
    for (const [metric, name, help] of PERFORMANCE_GAUGES) gauge(name, help, (s) => s.values[metric]);
  }

  /**
   * Adds prom-client's process and Node.js metrics (CPU, memory, GC, event-loop lag). Only the
   * HTTP server serves /metrics, so only it turns them on: the event-loop lag monitor wakes the
   * process every 10 ms, and a stdio server, whose registry nothing reads, spent ~1 % of a core
   * on it while idle.
   */
  collectProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics({ register: this.registry, prefix: 'mlops_mcp_' });
  }

  /** Counts a request's rows (a batch counts each) and its latency. */
  record(model: string, version: string, ok: boolean, rows: number, seconds: number): void {
    let versions = this.meters.get(model);
    if (!versions) this.meters.set(model, (versions = new Map<string, VariantMeter>()));
    let m = versions.get(version);
    if (!m) versions.set(version, (m = { labels: { model, version }, ok: 0, errors: 0, pending: new Float64Array(PENDING_LATENCIES), n: 0 }));
    if (ok) m.ok += rows;
    else m.errors += rows;
    if (m.n === PENDING_LATENCIES) this.drain(m);
    m.pending[m.n++] = seconds;
  }

  private drain(m: VariantMeter): void {
    for (let i = 0; i < m.n; i++) this.latency.observe(m.labels, m.pending[i]);
    m.n = 0;
  }
}
