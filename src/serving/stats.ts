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

/**
 * The last `capacity` requests' latencies, times and outcomes: percentiles and error counts of
 * recent traffic at a fixed memory cost, with no object per request for the collector to keep.
 */
class RequestRing {
  private readonly values: Float64Array;
  private readonly times: Float64Array;
  private readonly ok: Uint8Array;
  private next = 0;
  private filled = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
    this.ok = new Uint8Array(capacity);
  }

  push(v: number, at: number, ok: boolean): void {
    this.values[this.next] = v;
    this.times[this.next] = at;
    this.ok[this.next] = ok ? 1 : 0;
    this.next = (this.next + 1) % this.values.length;
    if (this.filled < this.values.length) this.filled++;
  }

  snapshot(): Float64Array {
    return this.values.slice(0, this.filled);
  }

  /** The latencies recorded at or after `since` (epoch ms). */
  since(since: number): Float64Array {
    return this.window(since).latencies;
  }

  /** The requests recorded at or after `since` (epoch ms): their latencies and how many failed. */
  window(since: number): { latencies: Float64Array; errors: number } {
    const out = new Float64Array(this.filled);
    let n = 0;
    let errors = 0;
    for (let i = 0; i < this.filled; i++) {
      if (this.times[i] < since) continue;
      out[n++] = this.values[i];
      if (!this.ok[i]) errors++;
    }
    return { latencies: out.subarray(0, n), errors };
  }
}

/** The alert window keeps at most this many of a model's latest requests. */
const MAX_WINDOW_EVENTS = 20_000;

interface VariantCounters {
  name: string;
  version: string;
  count: number;
  errors: number;
  latencies: RequestRing;
}

export interface VariantStats {
  name: string;
  version: string;
  count: number;
  errors: number;
  errorRate: number;
  latencyMs: LatencySummary | null;
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
  /** Per model, its latest requests (at most MAX_WINDOW_EVENTS), for the alert window. */
  private readonly windows = new Map<string, RequestRing>();
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
        v = { name, version, count: 0, errors: 0, latencies: new RequestRing(this.ringSize) };
        this.variants.set(key, v);
      }
      v.count += rows;
      if (!ok) v.errors += rows;
      v.latencies.push(latencyMs, at, ok);
    }
    // Bounded: the alert check sorts the window every second, so at high traffic it covers the
    // latest MAX_WINDOW_EVENTS requests of the window rather than all of them.
    let w = this.windows.get(name);
    if (!w) this.windows.set(name, (w = new RequestRing(MAX_WINDOW_EVENTS)));
    w.push(latencyMs, at, ok);
    this.touched.add(name);
  }

  totals() {
    return { predictions: this.total, errors: this.failures, errorRate: this.total ? this.failures / this.total : 0 };
  }

  variantStats(): VariantStats[] {
    return [...this.variants.values()]
      .map((v) => ({
        name: v.name,
        version: v.version,
        count: v.count,
        errors: v.errors,
        errorRate: v.count ? v.errors / v.count : 0,
        latencyMs: summarize(v.latencies.snapshot()),
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
    const { latencies, errors } = this.windows.get(name)?.window(now - this.windowMs) ?? { latencies: new Float64Array(0), errors: 0 };
    const requests = latencies.length;
    return { name, requests, errors, errorRate: requests ? errors / requests : 0, p95Ms: summarize(latencies)?.p95 ?? null };
  }

  windowedModels(now: number): WindowStats[] {
    return [...this.windows.keys()].map((n) => this.window(n, now));
  }
}
