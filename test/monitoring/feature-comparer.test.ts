import { afterEach, describe, expect, it } from 'vitest';
import { compareFeature } from '../../src/monitoring/feature-compare.js';
import { FeatureComparer } from '../../src/monitoring/feature-comparer.js';

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

describe('FeatureComparer', () => {
  const comparers: FeatureComparer[] = [];
  afterEach(async () => {
    await Promise.all(comparers.splice(0).map((c) => c.close()));
  });

  it('runs on its own thread (the built dist/monitoring/drift-worker.js) with the same answers as in-thread', async () => {
    const comparer = new FeatureComparer();
    comparers.push(comparer);
    expect(comparer.threaded).toBe(true);
    const ref = sample(3_000, 1).sort();
    const cur = sample(2_000, 2, 0.05);
    const [threaded, inThread] = [await comparer.compare(ref, cur), compareFeature(ref, cur)];
    expect(threaded.ks).toEqual(inThread.ks);
    expect(threaded.psi).toBe(inThread.psi);
    expect(Array.from(threaded.curSorted)).toEqual(Array.from(inThread.curSorted));
    expect(threaded.ks.method).toBe('exact');
    // Several in flight at once come back each to its own caller.
    const many = await Promise.all([0, 0.1, 0.2].map((shift) => comparer.compare(ref, sample(500, 3, shift))));
    expect(many.map((m) => m.ks.statistic)).toEqual([0, 0.1, 0.2].map((shift) => compareFeature(ref, sample(500, 3, shift)).ks.statistic));
  });

  it('leaves the event loop free during an exact KS test that holds it for a long time in-thread', async () => {
    // Exact KS at 10 000 × 9 999 with a large distance: ~35–70 ms of arithmetic in one piece.
    const ref = sample(10_000, 4).sort();
    const cur = sample(9_999, 5, 0.2);
    const inThread = new FeatureComparer(null);
    const threaded = new FeatureComparer();
    comparers.push(inThread, threaded);
    await threaded.compare(ref, sample(10, 6)); // the thread is up
    const blocked = await longestStall(() => inThread.compare(ref, cur));
    const free = await longestStall(() => threaded.compare(ref, cur));
    expect(blocked).toBeGreaterThan(4 * free);
    expect(free).toBeLessThan(100);
  });

  it('answers a failing comparison with an error and keeps working', async () => {
    const comparer = new FeatureComparer();
    comparers.push(comparer);
    await expect(comparer.compare(new Float64Array([1]), new Float64Array([]))).rejects.toThrow();
    expect((await comparer.compare(sample(100, 7).sort(), sample(100, 8))).ks.pValue).toBeGreaterThan(0);
  });
});
