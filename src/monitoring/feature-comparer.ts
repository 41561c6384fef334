import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CompareReply, CompareRequest } from './drift-worker.js';
import { WorkerChannel } from '../worker-channel.js';
import { compareFeature, type FeatureComparison } from './feature-compare.js';

/**
 * Runs drift comparisons on a worker thread: an exact KS p-value is O(n·m) (~30 ms a feature at
 * 2 000 × 5 000 values), and on the event loop a ten-feature check held every other request
 * for a quarter of a second. One thread, started on first use and left idle (unref'd) between
 * checks; comparisons queue on it in order.
 *
 * The thread runs dist/monitoring/drift-worker.js: from dist that is the file beside this one;
 * from src (the tests, after `npm run build`) the built copy. Without a build the comparisons
 * run here, yielding to other requests between features.
 */
export class FeatureComparer {
  private readonly channel: WorkerChannel<Omit<CompareRequest, 'id'>, CompareReply> | null;
  /** Without the thread: the last comparison queued here, so each runs on a turn of its own. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(script: string | null = workerScript()) {
    this.channel = script === null ? null : new WorkerChannel(() => new Worker(script), 'drift thread');
  }

  /** Whether comparisons run on a thread of their own (false: on the event loop). */
  get threaded(): boolean {
    return this.channel !== null;
  }

  async compare(refSorted: Float64Array, current: Float64Array): Promise<FeatureComparison> {
    if (!this.channel) {
      const run = this.tail.then(() => new Promise((resolve) => setImmediate(resolve))).then(() => compareFeature(refSorted, current));
      this.tail = run.catch(() => undefined);
      return run;
    }
    // Copies: the reference may be cached by the caller, and the current values are small.
    const reply = await this.channel.request({ refSorted, current });
    if (reply.error !== undefined) throw new Error(reply.error);
    return reply.result;
  }

  async close(): Promise<void> {
    await this.channel?.take()?.terminate();
  }
}

/** The built worker beside this module (dist), else the package's dist copy (src), else none. */
function workerScript(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'drift-worker.js'), path.resolve(here, '../../dist/monitoring/drift-worker.js')];
  return candidates.find((file) => fs.existsSync(file)) ?? null;
}
