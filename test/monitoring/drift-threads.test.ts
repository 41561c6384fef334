import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { featureCurves } from '../../src/monitoring/curves.js';
import { prepareReference } from '../../src/monitoring/drift.js';
import { compareFeature } from '../../src/monitoring/feature-compare.js';
import { DriftThreads } from '../../src/monitoring/drift-threads.js';
import { tempDir } from '../helpers.js';

/** A deterministic sample (a linear congruential generator), shifted by `shift`. */
function sample(n: number, seed: number, shift = 0): Float64Array {
  let x = seed;
  return Float64Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31 + shift;
  });
}

/** The longest the event loop went without running a 1-ms timer while `work` ran. */
async function longestStall(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(longest, performance.now() - last);
}

describe('DriftThreads', () => {
  const comparers: DriftThreads[] = [];
  afterEach(async () => {
    await Promise.all(comparers.splice(0).map((c) => c.close()));
  });

  it('runs on its own thread (the built dist/monitoring/drift-worker.js) with the same answers as in-thread', async () => {
    const comparer = new DriftThreads();
    comparers.push(comparer);
    expect(comparer.threaded).toBe(true);
    const ref = sample(3_000, 1).sort();
    const cur = sample(2_000, 2, 0.05);
    const [inThread, threaded] = [compareFeature(ref, cur), await comparer.compare(ref, Float64Array.from(cur))];
    expect(threaded.values).toEqual(inThread.values);
    expect(Array.from(threaded.curSorted)).toEqual(Array.from(inThread.curSorted));
    // The run's curves come from the thread too (O(n) passes that held the event loop).
    expect(threaded.curves).toEqual(featureCurves(ref, inThread.curSorted));
    expect(threaded.values.method).toBe('exact');
    // Several in flight at once come back each to its own caller.
    const many = await Promise.all([0, 0.1, 0.2].map((shift) => comparer.compare(ref, sample(500, 3, shift))));
    expect(many.map((m) => m.values.statistic)).toEqual([0, 0.1, 0.2].map((shift) => compareFeature(ref, sample(500, 3, shift)).values.statistic));
  });

  it('leaves the event loop free during an exact KS test that holds it for a long time in-thread', async () => {
    // Exact KS at 10 000 × 9 999 with a large distance: ~35–70 ms of arithmetic in one piece.
    const ref = sample(10_000, 4).sort();
    const cur = sample(9_999, 5, 0.2);
    const inThread = new DriftThreads(null);
    const threaded = new DriftThreads();
    comparers.push(inThread, threaded);
    await threaded.compare(ref, sample(10, 6)); // the thread is up
    const blocked = await longestStall(() => inThread.compare(ref, cur));
    const free = await longestStall(() => threaded.compare(ref, cur));
    // Read on the event loop, 10 million values stall it for seconds; on the thread, only the
    // scheduler's hiccups remain (up to ~200 ms when a dozen processes share two cores).
    expect(blocked).toBeGreaterThan(4 * free);
    expect(free).toBeLessThan(250);
  });

  it('moves the current values to the thread (no copy) and copies the reference, which the caller keeps', async () => {
    const threads = new DriftThreads();
    comparers.push(threads);
    const ref = sample(1_000, 9).sort();
    const cur = sample(1_000, 10);
    await threads.compare(ref, cur);
    expect(cur.length).toBe(0); // detached: its buffer went to the thread
    expect(ref.length).toBe(1_000);
    const view = sample(1_000, 11).subarray(10); // a view of a larger buffer is copied instead
    await threads.compare(ref, view);
    expect(view.length).toBe(990);
  });

  it('compares two features at once: a short comparison is not queued behind a long one', async () => {
    const threads = new DriftThreads(undefined, 2);
    comparers.push(threads);
    await Promise.all([threads.compare(sample(10, 1).sort(), sample(10, 2)), threads.compare(sample(10, 1).sort(), sample(10, 2))]); // both threads up
    const order: string[] = [];
    const long = threads.compare(sample(10_000, 4).sort(), sample(9_999, 5, 0.2)).then(() => order.push('long'));
    const short = threads.compare(sample(100, 6).sort(), sample(100, 7)).then(() => order.push('short'));
    await Promise.all([long, short]);
    expect(order).toEqual(['short', 'long']);
  });

  it('reads a CSV on a thread through the descriptor it is given: the file opened, not the path', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'data.csv');
    fs.writeFileSync(file, 'a,b\n1,2\n3,4\n');
    const fd = fs.openSync(file, 'r');
    // The path now names another file: what was opened is still what is read.
    fs.writeFileSync(path.join(dir, 'other.csv'), 'a,b\n9,9\n');
    fs.renameSync(path.join(dir, 'other.csv'), file);
    const threads = new DriftThreads();
    comparers.push(threads);
    const progress: number[] = [];
    const columns = await threads.readCsv(fd, 'csv_path "data.csv"', ['b', 'a'], (n) => progress.push(n));
    fs.closeSync(fd);
    expect(columns).toEqual({ values: [Float64Array.of(2, 4), Float64Array.of(1, 3)], rows: 2, ignored: 0 });
    const bad = fs.openSync(path.join(dir, 'bad.csv'), 'w+');
    fs.writeSync(bad, 'a,b\n1,x\n');
    await expect(threads.readCsv(bad, 'csv_path "bad.csv"', ['a', 'b'])).rejects.toMatchObject({
      code: 'invalid_argument',
      message: 'csv_path "bad.csv" line 2, column "b": the cell is not a finite number.',
    });
    fs.closeSync(bad);
  });

  it('leaves the event loop free while a large CSV is read', async () => {
    const file = path.join(tempDir(), 'big.csv');
    const row = '1.25,2.5,3.75,4.125,5.0625,6,7,8.5,9.25,10.125\n';
    // Long enough that reading on the event loop stalls it far beyond a loaded machine's hiccups.
    fs.writeFileSync(file, `a,b,c,d,e,f,g,h,i,j\n${row.repeat(1_000_000)}`);
    const fd = fs.openSync(file, 'r');
    const features = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    const inThread = new DriftThreads(null);
    const threaded = new DriftThreads();
    comparers.push(inThread, threaded);
    await threaded.readCsv(fd, 'x', features); // the thread is up
    const blocked = await longestStall(() => inThread.readCsv(fd, 'x', features));
    const free = await longestStall(() => threaded.readCsv(fd, 'x', features));
    fs.closeSync(fd);
    // Read on the event loop, 10 million values stall it for seconds; on the thread, only the
    // scheduler's hiccups remain (up to ~200 ms when a dozen processes share two cores).
    expect(blocked).toBeGreaterThan(4 * free);
    expect(free).toBeLessThan(250);
  });

  it("sorts and summarizes a reference's feature on a thread, as in-thread, and refuses one that overflows", async () => {
    const threads = new DriftThreads();
    comparers.push(threads);
    const values = sample(5_000, 12);
    const inThread = prepareReference('f', values);
    const threaded = await threads.prepareReference('f', Float64Array.from(values));
    expect(threaded.summary).toEqual(inThread.summary);
    expect(Array.from(threaded.sorted)).toEqual(Array.from(inThread.sorted));
    await expect(threads.prepareReference('big', Float64Array.of(1.7e308, 1.7e308, -1))).rejects.toMatchObject({
      code: 'invalid_argument',
      message: expect.stringMatching(/feature "big" has values too large to summarise/),
    });
  });

  it('answers a failing comparison with an error and keeps working', async () => {
    const comparer = new DriftThreads();
    comparers.push(comparer);
    await expect(comparer.compare(new Float64Array([1]), new Float64Array([]))).rejects.toThrow();
    expect((await comparer.compare(sample(100, 7).sort(), sample(100, 8))).values.pValue).toBeGreaterThan(0);
  });
});
