import type { AlertDraft } from '../monitoring/alert-types.js';

/**
 * The session cache's hit rate over the alert window, from the cache's running counts sampled at
 * each alert check: cache_hit_rate_low starts an episode when the window holds at least
 * `minLookups` lookups and its hit rate is below the threshold, and ends it when the rate is
 * back (a window with fewer lookups leaves the episode as it is).
 */
export class CacheHitWatch {
  private readonly samples: Array<{ at: number; hits: number; misses: number }>;
  private active = false;

  constructor(
    private readonly counts: () => { hits: number; misses: number },
    private readonly options: { windowMs: number; minLookups: number; threshold: number },
  ) {
    // The counts at start open the first window (dated 0: kept until a later sample is a window old).
    const { hits, misses } = counts();
    this.samples = [{ at: 0, hits, misses }];
  }

  /** The alert that starts an episode now, else null. */
  check(now: number): AlertDraft | null {
    const { hits, misses } = this.counts();
    this.samples.push({ at: now, hits, misses });
    while (this.samples.length > 1 && this.samples[1].at <= now - this.options.windowMs) this.samples.shift();
    const from = this.samples[0];
    const lookups = hits - from.hits + (misses - from.misses);
    if (lookups < this.options.minLookups) return null;
    const rate = (hits - from.hits) / lookups;
    const low = rate < this.options.threshold;
    if (!low || this.active) {
      this.active = low;
      return null;
    }
    this.active = true;
    return {
      type: 'cache_hit_rate_low',
      severity: 'warning',
      name: null,
      version: null,
      message: `ONNX session cache hit rate ${(rate * 100).toFixed(1)}% over ${lookups} lookups in the alert window (threshold ${this.options.threshold * 100}%): raise MODEL_CACHE_SIZE or MODEL_CACHE_TTL`,
      details: { hit_rate: rate, lookups },
    };
  }

  /** The alert could not be stored: the next check may start the episode again. */
  unraised(): void {
    this.active = false;
  }
}
