import type { Logger } from '../logger.js';
import type { PredictionRecord, RegistryStore } from '../store/store.js';
import type { BatchOutput } from './runner.js';
import { rowOf } from './runner.js';

/**
 * A prediction waiting to be written. Features and outputs stay as the typed arrays the
 * request produced; turning them into JSON happens in the flush, off the request path.
 */
export interface PendingPrediction {
  id: string;
  name: string;
  version: string | null;
  ok: boolean;
  error: string | null;
  /** Row-major feature matrix of the request and this prediction's row in it. */
  matrix: Float64Array | null;
  row: number;
  width: number;
  /** What the caller sent, for a request that failed before its features were read. */
  rawFeatures: unknown;
  output: BatchOutput | null;
  latencyMs: number;
  routingKey: string | null;
  at: number;
}

export interface PredictionLogOptions {
  flushMs: number;
  maxRows: number;
  maxAgeMs: number;
  /** Pending predictions kept while the database refuses writes; beyond it the oldest are dropped (and counted). */
  maxPending: number;
}

/**
 * The prediction log: every prediction, ok or failed, appended to SQLite in one transaction
 * per flush on a short timer, so no request waits for a disk write. A crash loses at most one
 * flush interval; close() flushes what is pending.
 */
export class PredictionLog {
  private pending: PendingPrediction[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly trimTimer: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;
  private readonly counters = { written: 0, flushes: 0, failedFlushes: 0, dropped: 0, lastFlushFailed: false, lastError: null as string | null };

  constructor(
    private readonly store: RegistryStore,
    private readonly logger: Logger,
    private readonly options: PredictionLogOptions,
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushMs).unref();
    this.trimTimer = setInterval(() => void this.trim(), 60_000).unref();
  }

  append(p: PendingPrediction): void {
    this.pending.push(p);
    if (this.pending.length > this.options.maxPending) {
      const excess = this.pending.length - this.options.maxPending;
      this.pending.splice(0, excess);
      this.counters.dropped += excess;
    }
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  status() {
    return { ...this.counters, pending: this.pending.length };
  }

  /** Writes everything pending; concurrent calls share one flush. */
  flush(): Promise<void> {
    this.flushing ??= this.writePending().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.trimTimer);
    await this.flush();
    if (this.pending.length) await this.flush();
  }

  async trim(): Promise<void> {
    try {
      const before = new Date(Date.now() - this.options.maxAgeMs).toISOString();
      const removed = await this.store.trimPredictions(before, this.options.maxRows);
      if (removed) this.logger.debug({ removed }, 'prediction log trimmed');
    } catch (e) {
      this.logger.warn({ err: e }, 'prediction log trim failed');
    }
  }

  private async writePending(): Promise<void> {
    if (!this.pending.length) return;
    const batch = this.pending;
    this.pending = [];
    const times = new IsoTimes();
    for (let i = 0; i < batch.length; i += FLUSH_SLICE) {
      // A slice per transaction, yielding between slices: a 10 000-row flush would otherwise
      // hold the event loop for ~100 ms, and every request arriving meanwhile would wait.
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      const slice = batch.slice(i, i + FLUSH_SLICE);
      try {
        await this.store.appendPredictions(slice.map((p) => toRecord(p, times)));
        this.counters.written += slice.length;
        this.counters.lastFlushFailed = false;
      } catch (e) {
        // Keep the rest for the next flush (bounded by maxPending); the failure shows in health.
        this.counters.failedFlushes++;
        this.counters.lastFlushFailed = true;
        this.counters.lastError = e instanceof Error ? e.message : String(e);
        this.pending = batch.slice(i).concat(this.pending);
        if (this.pending.length > this.options.maxPending) {
          const excess = this.pending.length - this.options.maxPending;
          this.pending.splice(0, excess);
          this.counters.dropped += excess;
        }
        this.logger.error({ err: e, pending: this.pending.length }, 'prediction log flush failed');
        return;
      }
    }
    this.counters.flushes++;
  }
}

/** Predictions written per transaction: about a millisecond of work (10 µs a row). */
const FLUSH_SLICE = 128;

/** ISO strings of epoch milliseconds, the last one remembered: a flush's predictions share a few. */
class IsoTimes {
  private at = Number.NaN;
  private iso = '';
  of(at: number): string {
    if (at !== this.at) {
      this.at = at;
      this.iso = new Date(at).toISOString();
    }
    return this.iso;
  }
}

function toRecord(p: PendingPrediction, times: IsoTimes): PredictionRecord {
  let features: string | null = null;
  if (p.matrix) features = JSON.stringify(Array.from(p.matrix.subarray(p.row * p.width, (p.row + 1) * p.width)));
  else if (p.rawFeatures !== undefined) features = JSON.stringify(p.rawFeatures)?.slice(0, 10_000) ?? null;
  const prediction = p.output?.predictions[p.row];
  return {
    id: p.id,
    name: p.name,
    version: p.version,
    ok: p.ok,
    error: p.error,
    features,
    output: p.output ? outputJson(p.output, p.row) : null,
    predictionValue: typeof prediction === 'number' ? prediction : null,
    latencyMs: p.latencyMs,
    routingKey: p.routingKey,
    createdAt: times.of(p.at),
  };
}

/** JSON of one row's output, as JSON.stringify(rowOf(output, row)) would write it. */
function outputJson(output: BatchOutput, row: number): string {
  if (!output.probabilities) return `{"prediction":${JSON.stringify(output.predictions[row])},"probabilities":null}`;
  return JSON.stringify(rowOf(output, row));
}
