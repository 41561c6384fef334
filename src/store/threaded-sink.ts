import { randomUUID } from 'node:crypto';
import type { ResourceLimits, Worker } from 'node:worker_threads';
import type { PendingPredictions, PredictionSink, WriteResult, WriterProgress } from '../serving/ports.js';
import { WorkerChannel } from '../worker-channel.js';

/** What the main thread asks a writer thread; the thread answers each in order. */
export type WriterRequest = { batch?: readonly PendingPredictions[]; seq?: number; trim?: { before: string; keep: number } };

/** The thread's answer to a request: rows written, or rows trimmed, and the error that stopped it. */
export interface WriterReply {
  id: number;
  written?: number;
  removed?: number;
  error: WriteResult['error'];
}

/**
 * A writer thread's heap: a small young generation. The thread holds about one batch at a time
 * (~7 MB live under 1 000-row requests); at V8's default its young generation grew to 32 MB of
 * the process's resident memory.
 */
export const WRITER_RESOURCE_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 6 };

/** The id of the reply a request gets when the thread failed before answering it. */
const THREAD_FAILED = -1;

/**
 * A prediction-log writer on a worker thread with a database connection of its own: encoding and
 * writing entries would otherwise take the event loop from requests. The main thread only posts
 * the pending requests (a structured clone, ~1 µs a request). Writes are answered in order. An
 * engine's writer gives the thread (its source is started with `eval`, see startThread) and how
 * to read this writer's progress row.
 */
export class ThreadedSink implements PredictionSink {
  private readonly channel: WorkerChannel<WriterRequest, WriterReply>;
  /** Names this writer's progress row: one per writer, so one per process. */
  readonly writerId = randomUUID();

  constructor(
    startThread: (writerId: string) => Worker,
    /** This writer's progress row as the database holds it, read from the main thread. */
    private readonly readProgress: (writerId: string) => Promise<WriterProgress | null>,
    label: string,
  ) {
    this.channel = new WorkerChannel(() => startThread(this.writerId), label);
  }

  /**
   * Writes the batch; each transaction also records `seq` and how many of its entries are
   * written so far in this writer's progress row (see PredictionLog.startRead).
   */
  async write(batch: readonly PendingPredictions[], seq: number): Promise<WriteResult> {
    const r = await this.request({ batch, seq });
    if (r.id !== THREAD_FAILED) return { written: r.written ?? 0, error: r.error };
    // The thread died (out of memory, a native fault) with no answer: the transactions it had
    // committed are in the database, and its progress row says how far. Counted as unwritten,
    // they would be written again by the next flush (duplicates, and counted twice).
    const entries = await this.committedEntries(seq);
    let rows = 0;
    for (let e = 0; e < entries; e++) rows += batch[e].rows;
    return { written: rows, error: r.error };
  }

  /** How many entries of batch `seq` this writer's committed transactions hold (its progress row). */
  private async committedEntries(seq: number): Promise<number> {
    try {
      const row = await this.readProgress(this.writerId);
      return row?.batch === seq ? row.entries : 0;
    } catch {
      return 0; // the database cannot be read either: the next flush finds out
    }
  }

  /** Deletes logged predictions older than `before` and beyond the newest `keep`; answers how many went. */
  async trim(before: string, keep: number): Promise<number> {
    const r = await this.request({ trim: { before, keep } });
    if (r.error) throw new Error(r.error.message);
    return r.removed ?? 0;
  }

  /** The thread's reply; a thread that failed meanwhile is a failed write (the next one starts a new thread). */
  private request(message: WriterRequest): Promise<WriterReply> {
    return this.channel.request(message).catch((e: Error): WriterReply => ({ id: THREAD_FAILED, written: 0, error: { message: e.message, code: null } }));
  }

  async close(): Promise<void> {
    const worker = this.channel.take();
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // Held until it has closed its connection: an unref'd thread would let the process end first.
    worker.ref();
    worker.postMessage({ close: true });
    await exited;
  }
}
