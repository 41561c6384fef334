import type { Logger } from '../logger.js';
import type { PendingPredictions, PredictionSink, WriteResult, WriterProgress } from './ports.js';

export interface PredictionLogOptions {
  flushMs: number;
  maxRows: number;
  maxAgeMs: number;
  /** Pending predictions kept while the database refuses writes; beyond it the oldest are dropped (and counted). */
  maxPending: number;
  /**
   * Values waiting to be handed to the writer (see heldValues) beyond which new requests wait
   * (while it is writing; never while the database refuses writes): a client faster than the
   * writer is slowed down instead of growing the backlog until rows are dropped. The writer may
   * be on as many again: requests fill the next batch while it writes the last.
   */
  highWaterValues?: number;
}

/**
 * The default high-water mark: 512 KiB of float64 values, ~6 000 rows of 10 features, ~0.4 s of
 * single-row requests at 15 000/s. What waits for the writer outlives young-generation
 * collections, so its arrays are freed only by the next full one: under 1 000-row requests a
 * mark of 100 000 rows held the server at 300–330 MB resident.
 */
const HIGH_WATER_VALUES = 65_536;

/** What an entry holds until it is written, in values: its features and one output per row. */
function heldValues(p: PendingPredictions): number {
  return (p.matrix?.length ?? 0) + p.rows;
}

/**
 * Pending entries (or rows) at which a flush starts without waiting for `flushMs`: ~10 ms of
 * single-row requests at 15 000/s. What is pending when the young generation is collected gets
 * copied, and at 50 ms of entries those copies set the REST p99 (scavenges 1.9 ms median against
 * 0.9 at ~10 ms, p99 5.1–5.9 against 3.2–3.3 ms). A slow client still waits `flushMs`.
 */
const EARLY_FLUSH_ENTRIES = 128;
const EARLY_FLUSH_ROWS = 8192;

/**
 * A read of the database's counts under way: which of this process's predictions it cannot
 * hold, given this writer's progress as read in the same snapshot as those counts.
 */
export interface LogRead {
  notInDatabase(progress: WriterProgress | null): PendingPredictions[];
  end(): void;
}

/** A batch the writer wrote, kept while a read that began before it was written is under way. */
interface WrittenBatch {
  seq: number;
  batch: readonly PendingPredictions[];
  /** Its place among the writer's acknowledgements. */
  ack: number;
}

/**
 * The prediction log: every prediction, ok or failed, kept in memory and handed to the writer
 * every `flushMs`, so no request waits for a disk write (or pays for the row). A crash loses at
 * most one flush interval; close() flushes what is pending.
 */
export class PredictionLog {
  private pending: PendingPredictions[] = [];
  private pendingRows = 0;
  private pendingValues = 0;
  /** Rows handed to the writer and not yet answered for. */
  private writingRows = 0;
  /** The batch the writer is on, and its number (see startRead()). */
  private inFlight: { seq: number; batch: readonly PendingPredictions[] } | null = null;
  private nextSeq = 1;
  /** Acknowledgements of the writer so far, and, per read under way, how many there were when it began. */
  private acks = 0;
  private readonly reads = new Map<number, number>();
  private nextRead = 1;
  /** Batches written since the oldest read under way began (see startRead()). */
  private written: WrittenBatch[] = [];
  /** The next flush, armed by the first append after a flush: an idle server does not wake for it. */
  private timer: NodeJS.Timeout | null = null;
  /** Whether a flush before the timer's is set to start (see flushEarly()). */
  private earlyFlush = false;
  private closed = false;
  private readonly trimTimer: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;
  /** Requests waiting for the writer to catch up (see backpressure()). */
  private caughtUp: { promise: Promise<void>; resolve: () => void } | null = null;
  private readonly counters = { written: 0, flushes: 0, failedFlushes: 0, dropped: 0, lastFlushFailed: false, lastError: null as string | null };

  constructor(
    private readonly deps: { sink: PredictionSink; logger: Logger },
    private readonly options: PredictionLogOptions,
  ) {
    this.trimTimer = setInterval(() => void this.trim(), 60_000).unref();
  }

  append(p: PendingPredictions): void {
    this.pending.push(p);
    this.pendingRows += p.rows;
    this.pendingValues += heldValues(p);
    this.dropOverflow();
    if (!this.timer) this.scheduleFlush();
    else if (this.overEarlyMark()) this.flushEarly();
  }

  private overEarlyMark(): boolean {
    return this.pending.length >= EARLY_FLUSH_ENTRIES || this.pendingRows >= EARLY_FLUSH_ROWS;
  }

  /**
   * A flush once the current I/O callbacks are done (after the request that crossed the mark has
   * its answer). Not while one is under way (its end checks the mark again) or while writes fail
   * (those are retried every `flushMs`).
   */
  private flushEarly(): void {
    if (this.earlyFlush || this.flushing || this.counters.lastFlushFailed || this.closed) return;
    this.earlyFlush = true;
    setImmediate(() => {
      this.earlyFlush = false;
      if (!this.closed) void this.flush(); // close() flushes what is pending itself
    });
  }

  /** Whether a flush is due: one is while rows are pending (a failed write's included), none while the log is empty. */
  get flushScheduled(): boolean {
    return this.timer !== null;
  }

  private scheduleFlush(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null; // an append during a long write arms the next flush, as an interval would
      void this.flush().finally(() => {
        // Rows a failed write left pending are retried one interval later.
        if (this.pending.length && !this.timer) this.scheduleFlush();
      });
    }, this.options.flushMs).unref();
  }

  /**
   * null when a request may go ahead (the usual case); else a promise that resolves when the
   * writer has brought the unwritten rows under half the high-water mark. Only a working writer
   * holds requests back: while writes fail, predictions still answer (and the oldest pending
   * rows are dropped past maxPending, counted in status()).
   */
  backpressure(): Promise<void> | null {
    if (this.pendingValues < this.highWater || this.counters.lastFlushFailed) return null;
    if (!this.caughtUp) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => (resolve = r));
      this.caughtUp = { promise, resolve };
    }
    void this.flush();
    return this.caughtUp.promise;
  }

  get writerId(): string {
    return this.deps.sink.writerId;
  }

  /**
   * Begins a read of the database's counts. Its notInDatabase(progress), given this writer's
   * progress row as read in the same snapshot as the counts, answers this process's predictions
   * those counts cannot hold: the pending ones, and those of every batch handed to the writer
   * that no transaction committed before the snapshot covers — the one it is on, and those it
   * finished while the read was under way (kept until the read ends: the snapshot may predate
   * their commit). Exact without waiting for a flush (a flush under load waits behind the
   * writer: get_traffic_config's p99 was ~100 ms).
   */
  startRead(): LogRead {
    const id = this.nextRead++;
    const since = this.acks;
    this.reads.set(id, since);
    return {
      notInDatabase: (progress) => {
        const out: PendingPredictions[] = [];
        const uncommitted = (seq: number, batch: readonly PendingPredictions[]) => {
          if (!progress || progress.batch < seq) out.push(...batch);
          else if (progress.batch === seq) out.push(...batch.slice(progress.entries));
        };
        for (const w of this.written) if (w.ack > since) uncommitted(w.seq, w.batch);
        if (this.inFlight) uncommitted(this.inFlight.seq, this.inFlight.batch);
        return out.concat(this.pending);
      },
      end: () => {
        if (!this.reads.delete(id)) return;
        const oldest = Math.min(...this.reads.values());
        this.written = this.written.filter((w) => w.ack > oldest);
      },
    };
  }

  get pendingCount(): number {
    return this.pendingRows;
  }

  /** `pending` counts every row not yet written, including those the writer is on. */
  status() {
    return { ...this.counters, pending: this.pendingRows + this.writingRows };
  }

  private get highWater(): number {
    return this.options.highWaterValues ?? HIGH_WATER_VALUES;
  }

  /**
   * Writes everything appended before the call (one attempt: a failed write stays pending). A
   * flush already under way may have taken only part of it, so it is waited for first.
   */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (!this.pending.length) return;
    this.flushing = this.writePending().finally(() => {
      this.flushing = null;
      this.releaseWaiters();
      if (this.overEarlyMark()) this.flushEarly();
    });
    await this.flushing;
  }

  /**
   * Lets held-back requests go once what waits for the writer is under half the high-water mark
   * (handing it over first, without waiting for the timer), or when writes fail.
   */
  private releaseWaiters(): void {
    if (!this.caughtUp) return;
    // Called with no write under way: the flush hands the pending batch over before it returns.
    if (this.pendingValues >= this.highWater / 2 && !this.counters.lastFlushFailed) void this.flush();
    if (this.pendingValues < this.highWater / 2 || this.counters.lastFlushFailed) {
      this.caughtUp.resolve();
      this.caughtUp = null;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    clearInterval(this.trimTimer);
    await this.flush();
    if (this.pending.length) await this.flush();
    await this.deps.sink.close();
  }

  async trim(): Promise<void> {
    try {
      const before = new Date(Date.now() - this.options.maxAgeMs).toISOString();
      const removed = await this.deps.sink.trim(before, this.options.maxRows);
      if (removed) this.deps.logger.debug({ removed }, 'prediction log trimmed');
    } catch (e) {
      this.deps.logger.warn({ err: e }, 'prediction log trim failed');
    }
  }

  private async writePending(): Promise<void> {
    if (!this.pending.length) return;
    const batch = this.pending;
    const rows = this.pendingRows;
    this.pending = [];
    this.pendingRows = 0;
    this.pendingValues = 0;
    this.writingRows = rows;
    const seq = this.nextSeq++;
    this.inFlight = { seq, batch };
    let result: WriteResult = { written: 0, error: { message: 'the write did not answer', code: null } };
    try {
      result = await this.deps.sink.write(batch, seq);
    } finally {
      // In the same step as putting back what was not written (below), so that a read always
      // finds those rows in one of the places it looks.
      this.inFlight = null;
      this.writingRows = 0;
      this.acks++;
      if (this.reads.size && result.written) this.written.push({ seq, batch: batch.slice(0, entriesOf(batch, result.written)), ack: this.acks });
    }
    this.counters.written += result.written;
    if (!result.error) {
      this.counters.flushes++;
      this.counters.lastFlushFailed = false;
      return;
    }
    // Keep what was not written for the next flush (bounded by maxPending); the failure shows in health.
    this.counters.failedFlushes++;
    this.counters.lastFlushFailed = true;
    this.counters.lastError = result.error.message;
    const rest = withoutFirstRows(batch, result.written);
    this.pending = rest.concat(this.pending);
    this.pendingRows += rows - result.written;
    for (const p of rest) this.pendingValues += heldValues(p);
    this.dropOverflow();
    this.deps.logger.error({ err: result.error, pending: this.pendingRows }, 'prediction log flush failed');
  }

  /** Beyond maxPending rows, the oldest requests' rows are dropped (and counted). */
  private dropOverflow(): void {
    while (this.pendingRows > this.options.maxPending && this.pending.length > 1) {
      const oldest = this.pending.shift() as PendingPredictions;
      this.pendingRows -= oldest.rows;
      this.pendingValues -= heldValues(oldest);
      this.counters.dropped += oldest.rows;
    }
  }
}

/** How many entries make up the batch's first n rows (whole entries: the writer writes nothing less). */
function entriesOf(batch: readonly PendingPredictions[], n: number): number {
  let left = n;
  let i = 0;
  while (i < batch.length && left >= batch[i].rows) left -= batch[i++].rows;
  return i;
}

/**
 * The batch without the entries that make up its first n rows: what a failed write leaves to
 * write again. The writer writes whole entries (each is one row of the log), so n ends on one.
 */
export function withoutFirstRows(batch: readonly PendingPredictions[], n: number): PendingPredictions[] {
  return batch.slice(entriesOf(batch, n));
}
