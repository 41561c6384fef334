import { describe, expect, it } from 'vitest';
import { wasserstein1 } from '../../src/monitoring/statistics/wasserstein.js';

// scipy agreement is in statistics.test.ts; these are the properties a peer's vectors do not show.
describe('wasserstein1', () => {
  const f = (x: number[]) => Float64Array.from(x).sort();

  it('is the shift when the whole distribution moves, and symmetric', () => {
    const a = f([1, 2, 2, 5, 9]);
    const b = f([3.5, 4.5, 4.5, 7.5, 11.5]);
    expect(wasserstein1(a, b)).toBeCloseTo(2.5, 14);
    expect(wasserstein1(b, a)).toBe(wasserstein1(a, b));
    expect(wasserstein1(a, a)).toBe(0);
  });

  it('stays finite for values spanning more than the largest double', () => {
    expect(wasserstein1(f([-1e308, -1e308]), f([1e308, 1e308]))).toBe(Number.MAX_VALUE);
    expect(wasserstein1(f([-1e308, 0]), f([0, 1e308]))).toBe(1e308);
  });

  it('refuses an empty sample', () => {
    expect(() => wasserstein1(f([]), f([1]))).toThrow(new Error('wasserstein1: both samples need at least 1 value'));
    expect(() => wasserstein1(f([1]), f([]))).toThrow(new Error('wasserstein1: both samples need at least 1 value'));
  });
});
