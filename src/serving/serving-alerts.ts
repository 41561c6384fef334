import type { Logger } from '../logger.js';
import type { AlertService } from '../monitoring/alerts.js';
import type { AlertDraft } from '../monitoring/alert-types.js';
import { CacheHitWatch } from './cache-watch.js';
import type { SessionCache } from './session-cache.js';
import type { ServingStats } from './stats.js';

export interface ServingAlertSettings {
  alertErrorRate: number;
  alertP95LatencyMs: number;
  alertMinRequests: number;
  /** Session cache hit rate over the alert window below which cache_hit_rate_low is raised. */
  alertCacheHitRate: number;
  /** The alert window: an episode no server saw for this long is over. */
  alertWindowMs: number;
}

/**
 * The serving alerts: high_error_rate and high_latency per model, cache_hit_rate_low for the
 * session cache, each raised once per episode across every server sharing the store.
 */
export class ServingAlerts {
  /** Alert episodes in progress, `${type}\0${model}`: an alert is raised when one starts, not on every check. */
  private readonly episodes = new Set<string>();
  /** Models whose alert could not be stored: checked again at the next check. */
  private readonly unraised = new Set<string>();
  private readonly cacheWatch: CacheHitWatch;

  constructor(private readonly deps: ServingAlertSettings & { stats: ServingStats; alerts: AlertService; sessions: SessionCache; logger: Logger }) {
    this.cacheWatch = new CacheHitWatch(() => deps.sessions.snapshot(), {
      windowMs: deps.alertWindowMs,
      minLookups: deps.alertMinRequests,
      threshold: deps.alertCacheHitRate,
    });
  }

  /**
   * Raises high_error_rate / high_latency once per episode, for models with new requests and
   * models with an episode under way. An episode ends when the window has enough requests and
   * the condition no longer holds, or has none at all: with fewer than the minimum it goes on
   * (low traffic hovering around the minimum would otherwise end and restart it, raising the
   * alert again and again through one outage). Requests are calls: a batch counts once.
   */
  async check(now = Date.now()): Promise<void> {
    const { alertErrorRate, alertP95LatencyMs, alertMinRequests } = this.deps;
    const cache = this.cacheWatch.check(now);
    if (cache) {
      await this.deps.alerts.raise(cache).catch((e: unknown) => {
        this.cacheWatch.unraised();
        this.deps.logger.error({ err: e }, 'could not raise alert');
      });
    }
    const windows = this.deps.stats.drainTouched(now);
    const seen = new Set(windows.map((w) => w.name));
    const pending = [...this.episodes].map((key) => key.slice(key.indexOf('\0') + 1)).concat([...this.unraised]);
    this.unraised.clear();
    for (const name of pending) {
      if (!seen.has(name)) {
        seen.add(name);
        windows.push(this.deps.stats.window(name, now));
      }
    }
    for (const w of windows) {
      const holds = (condition: boolean): boolean | null => (w.requests >= alertMinRequests ? condition : w.requests === 0 ? false : null);
      await this.episode('high_error_rate', w.name, holds(w.errorRate > alertErrorRate), () => ({
        type: 'high_error_rate',
        severity: 'critical',
        name: w.name,
        version: null,
        message: `${w.name}: ${(w.errorRate * 100).toFixed(1)}% of ${w.requests} requests failed in the alert window (threshold ${alertErrorRate * 100}%)`,
        details: { requests: w.requests, errors: w.errors, error_rate: w.errorRate },
      }));
      await this.episode('high_latency', w.name, holds(w.p95Ms !== null && w.p95Ms > alertP95LatencyMs), () => ({
        type: 'high_latency',
        severity: 'warning',
        name: w.name,
        version: null,
        message: `${w.name}: p95 latency ${w.p95Ms} ms over ${w.requests} requests in the alert window (threshold ${alertP95LatencyMs} ms)`,
        details: { requests: w.requests, p95_ms: w.p95Ms },
      }));
    }
  }

  /**
   * `active`: whether the condition holds; null when the window cannot tell (the episode stays as
   * it is). While it holds, or while an episode of this server's cannot be judged, the episode is
   * marked active in the store, for every server: the alert is raised by whichever server finds
   * no episode active within the alert window, once however many servers see it.
   */
  private async episode(type: string, name: string, active: boolean | null, draft: () => AlertDraft): Promise<void> {
    const key = `${type}\0${name}`;
    if (active === false) {
      this.episodes.delete(key);
      return;
    }
    if (active === null && !this.episodes.has(key)) return;
    const fresh = active === true && !this.episodes.has(key);
    this.episodes.add(key);
    try {
      await this.deps.alerts.raiseOnce(key, fresh ? draft() : null, this.deps.alertWindowMs);
    } catch (e) {
      // Not marked: the next check tries again, with or without new traffic.
      if (fresh) this.episodes.delete(key);
      this.unraised.add(name);
      this.deps.logger.error({ err: e }, 'could not raise alert');
    }
  }
}
