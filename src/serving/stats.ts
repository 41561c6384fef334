/** Live serving statistics in memory: per variant since start, and a sliding window per model for alerts. */
import { quantileSorted } from 'simple-statistics';

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
}

export function summarize(latencies: ArrayLike<number>): LatencySummary | null {
  if (!latencies.length) return null;
  // A typed array sorts numerically in native code (a comparator in JS cost ~1 ms per 10 000).
  const sorted = Array.from(Float64Array.from(latencies).sort());
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { p50: r(quantileSorted(sorted, 0.5)), p95: r(quantileSorted(sorted, 0.95)), p99: r(quantileSorted(sorted, 0.99)) };
}

/** The last `capacity` latencies and their times: percentiles of recent traffic at a fixed memory cost. */
class LatencyRing {
  private readonly values: Float64Array;
  private readonly times: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
  }

  push(v: number, at: number): void {
    this.values[this.next] = v;
    this.times[this.next] = at;
    this.next = (this.next + 1) % this.values.length;
    if (this.filled < this.values.length) this.filled++;
  }

  snapshot(): Float64Array {
    return this.values.slice(0, this.filled);
  }

  /** The latencies recorded at or after `since` (epoch ms). */
  since(since: number): Float64Array {
    const out = new Float64Array(this.filled);
    let n = 0;
    for (let i = 0; i < this.filled; i++) if (this.times[i] >= since) out[n++] = this.values[i];
    return out.subarray(0, n);
  }
}

/** The alert window keeps at most this many of a model's latest requests. */
const MAX_WINDOW_EVENTS = 20_000;

interface VariantCounters {
  name: string;
  version: string;
  count: number;
  errors: number;
  latencies: LatencyRing;
}

interface WindowEvent {
  at: number;
  ok: boolean;
  latencyMs: number;
}

export interface VariantStats {
  name: string;
  version: string;
  count: number;
  errors: number;
  error_rate: number;
  latency_ms: LatencySummary | null;
}

export interface WindowStats {
  name: string;
  requests: number;
  errors: number;
  errorRate: number;
  p95Ms: number | null;
}

export class ServingStats {
  private readonly variants = new Map<string, VariantCounters>();
  private readonly windows = new Map<string, WindowEvent[]>();
  private readonly touched = new Set<string>();
  private total = 0;
  private failures = 0;

  constructor(
    private readonly windowMs: number,
    private readonly ringSize = 10_000,
  ) {}

  record(name: string, version: string | null, ok: boolean, latencyMs: number, at: number, rows = 1): void {
    this.total += rows;
    if (!ok) this.failures += rows;
    if (version !== null) {
      const key = `${name}\0${version}`;
      let v = this.variants.get(key);
      if (!v) {
        v = { name, version, count: 0, errors: 0, latencies: new LatencyRing(this.ringSize) };
        this.variants.set(key, v);
      }
      v.count += rows;
      if (!ok) v.errors += rows;
      v.latencies.push(latencyMs, at);
    }
    let w = this.windows.get(name);
    if (!w) this.windows.set(name, (w = []));
    w.push({ at, ok, latencyMs });
    // Bounded: the alert check sorts the window every second, so at high traffic it covers the
    // latest MAX_WINDOW_EVENTS requests of the window rather than all of them.
    if (w.length > 2 * MAX_WINDOW_EVENTS) w.splice(0, w.length - MAX_WINDOW_EVENTS);
    this.touched.add(name);
  }

  totals() {
    return { predictions: this.total, errors: this.failures, error_rate: this.total ? this.failures / this.total : 0 };
  }

  variantStats(): VariantStats[] {
    return [...this.variants.values()]
      .map((v) => ({
        name: v.name,
        version: v.version,
        count: v.count,
        errors: v.errors,
        error_rate: v.count ? v.errors / v.count : 0,
        latency_ms: summarize(v.latencies.snapshot()),
      }))
      .sort((a, b) => (a.name === b.name ? (a.version < b.version ? -1 : 1) : a.name < b.name ? -1 : 1));
  }

  /**
   * Latency percentiles of a variant's predictions served by this process at or after `since`
   * (epoch ms), over its latest `ringSize` predictions: an in-memory read, where the same from
   * the prediction log cost tens of ms per call on a busy log.
   */
  variantLatencies(name: string, version: string, since: number): LatencySummary | null {
    return summarize(this.variants.get(`${name}\0${version}`)?.latencies.since(since) ?? []);
  }

  /** Window statistics of the models that saw requests since the last call (for alert checks). */
  drainTouched(now: number): WindowStats[] {
    const names = [...this.touched];
    this.touched.clear();
    return names.map((n) => this.window(n, now));
  }

  window(name: string, now: number): WindowStats {
    const cutoff = now - this.windowMs;
    const events = (this.windows.get(name) ?? []).filter((e) => e.at >= cutoff).slice(-MAX_WINDOW_EVENTS);
    this.windows.set(name, events);
    const errors = events.filter((e) => !e.ok).length;
    const p95 = summarize(events.map((e) => e.latencyMs))?.p95 ?? null;
    return { name, requests: events.length, errors, errorRate: events.length ? errors / events.length : 0, p95Ms: p95 };
  }

  windowedModels(now: number): WindowStats[] {
    return [...this.windows.keys()].map((n) => this.window(n, now));
  }
}
