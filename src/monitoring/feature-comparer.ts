import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CompareReply, CompareRequest } from './drift-worker.js';
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
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (r: FeatureComparison) => void; reject: (e: Error) => void }>();
  private readonly script: string | null;
  /** Without the thread: the last comparison queued here, so each runs on a turn of its own. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(script: string | null = workerScript()) {
    this.script = script;
  }

  /** Whether comparisons run on a thread of their own (false: on the event loop). */
  get threaded(): boolean {
    return this.script !== null;
  }

  async compare(refSorted: Float64Array, current: Float64Array): Promise<FeatureComparison> {
    if (!this.script) {
      const run = this.tail.then(() => new Promise((resolve) => setImmediate(resolve))).then(() => compareFeature(refSorted, current));
      this.tail = run.catch(() => undefined);
      return run;
    }
    const worker = this.start(this.script);
    const id = this.nextId++;
    worker.ref();
    return new Promise<FeatureComparison>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // Copies: the reference may be cached by the caller, and the current values are small.
      worker.postMessage({ id, refSorted, current } satisfies CompareRequest);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }

  private start(script: string): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(script);
    worker.unref();
    worker.on('message', (m: CompareReply) => {
      const pending = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (!this.waiting.size) worker.unref();
      if (!pending) return;
      if (m.error !== undefined) pending.reject(new Error(m.error));
      else pending.resolve(m.result);
    });
    const fail = (message: string) => {
      if (this.worker === worker) this.worker = null; // the next comparison starts a new thread
      for (const { reject } of this.waiting.values()) reject(new Error(message));
      this.waiting.clear();
    };
    worker.on('error', (e) => fail(`drift thread failed: ${e.message}`));
    worker.on('exit', (code) => fail(`drift thread exited (code ${code})`));
    this.worker = worker;
    return worker;
  }
}

/** The built worker beside this module (dist), else the package's dist copy (src), else none. */
function workerScript(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'drift-worker.js'), path.resolve(here, '../../dist/monitoring/drift-worker.js')];
  return candidates.find((file) => fs.existsSync(file)) ?? null;
}
