import fs from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DomainError } from '../errors.js';
import { WorkerChannel } from '../worker-channel.js';
import type { CsvColumns } from './csv-columns.js';
import { readCsvColumns } from './csv-read.js';
import { prepareReference } from './drift.js';
import type { ReferenceFeature } from './drift-types.js';
import type { DriftReply, DriftRequest } from './drift-worker.js';
import { compareFeature, type FeatureComparison } from './feature-compare.js';

/** Drift threads' nice value on Linux (see drift-worker.ts): below request threads, like the prediction log's writer. */
export const DRIFT_NICE = 10;

type Request = DistributiveOmit<DriftRequest, 'id'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * Drift work off the event loop: reading a CSV into columns, sorting and summarizing a
 * reference's features, comparing features (an exact KS p-value is O(n·m), ~30 ms a feature at
 * 2 000 × 5 000 values; a 100 000-row CSV ~30–50 ms of parsing, a column's sort ~4 ms). On the event loop a ten-feature check held every other request for a quarter of a
 * second. Up to two threads (one per core), each started on first use and left idle (unref'd)
 * between checks; a request goes to the one with fewer waiting, so a check's features are
 * compared two at a time.
 *
 * The threads run dist/monitoring/drift-worker.js: from dist that is the file beside this one;
 * from src (the tests, after `npm run build`) the built copy. Without a build the work runs
 * here, yielding to other requests between features.
 */
export class DriftThreads {
  private readonly channels: Array<WorkerChannel<Request, DriftReply, number>>;
  /** Without threads: the last work queued here, so each piece runs on a turn of its own. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(script: string | null = workerScript(), threads = Math.min(2, availableParallelism())) {
    this.channels =
      script === null
        ? []
        : Array.from(
            { length: Math.max(1, threads) },
            () => new WorkerChannel<Request, DriftReply, number>(() => new Worker(script, { workerData: { nice: DRIFT_NICE } }), 'drift thread'),
          );
  }

  /** Whether the work runs on threads of its own (false: on the event loop). */
  get threaded(): boolean {
    return this.channels.length > 0;
  }

  /**
   * Every drift statistic of one feature. `refSorted` is copied to the thread (a caller may keep it);
   * `current`, when it owns its whole buffer, is moved there (detached here, not copied).
   */
  async compare(refSorted: Float64Array, current: Float64Array): Promise<FeatureComparison> {
    if (!this.threaded) return this.inTurn(() => compareFeature(refSorted, current));
    const reply = await this.request({ kind: 'compare', refSorted, current }, movable(current));
    if (!reply.compared) throw new Error('drift thread: no comparison in its reply');
    return reply.compared;
  }

  /** A CSV read into columns (see readCsvColumns) from the descriptor `fd`, which the caller keeps open until this settles. */
  async readCsv(fd: number, displayName: string, features: readonly string[], onProgress?: (rows: number) => void): Promise<CsvColumns> {
    if (!this.threaded) return readCsvColumns(fd, displayName, features, onProgress);
    const reply = await this.request({ kind: 'csv', fd, displayName, features: [...features] }, [], onProgress);
    if (!reply.columns) throw new Error('drift thread: no columns in its reply');
    return reply.columns;
  }

  /** One feature of a reference, sorted and summarized (prepareReference); `values`, when it owns its whole buffer, is moved to the thread. */
  async prepareReference(feature: string, values: Float64Array): Promise<ReferenceFeature> {
    if (!this.threaded) return this.inTurn(() => prepareReference(feature, values));
    const reply = await this.request({ kind: 'reference', feature, values }, movable(values));
    if (!reply.reference) throw new Error('drift thread: no reference in its reply');
    return reply.reference;
  }

  async close(): Promise<void> {
    await Promise.all(this.channels.map(async (c) => c.take()?.terminate()));
  }

  /** Without threads: `work` on a turn of the event loop of its own, after the work queued before it. */
  private inTurn<T>(work: () => T): Promise<T> {
    const run = this.tail.then(() => new Promise((resolve) => setImmediate(resolve))).then(work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async request(message: Request, transfer: ArrayBuffer[], onNotice?: (rows: number) => void): Promise<DriftReply> {
    const channel = this.channels.reduce((a, b) => (b.pending < a.pending ? b : a));
    const reply = await channel.request(message, onNotice, transfer);
    if (reply.error) throw reply.error.code ? new DomainError(reply.error.code, reply.error.message) : new Error(reply.error.message);
    return reply;
  }
}

/** The buffer of `values` to move to a thread, when the array is all of it (else it is copied). */
function movable(values: Float64Array): ArrayBuffer[] {
  return values.byteOffset === 0 && values.byteLength === values.buffer.byteLength && values.buffer instanceof ArrayBuffer ? [values.buffer] : [];
}

/** The built worker beside this module (dist), else the package's dist copy (src), else none. */
function workerScript(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'drift-worker.js'), path.resolve(here, '../../dist/monitoring/drift-worker.js')];
  return candidates.find((file) => fs.existsSync(file)) ?? null;
}
