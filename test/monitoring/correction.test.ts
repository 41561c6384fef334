import { describe, expect, it } from 'vitest';
import { adjustPValues, type PValueCorrection } from '../../src/monitoring/correction.js';

// Agreement with statsmodels is in ks.test.ts (fixtures/ks-vectors.json); these are the edges of
// what a drift run may hand it.
describe('adjusting p-values', () => {
  const corrections: PValueCorrection[] = ['none', 'bonferroni', 'fdr'];

  it('takes p-values of exactly 0 and 1, and keeps them', () => {
    for (const c of corrections) expect(adjustPValues([0, 1], c), c).toEqual([0, 1]);
  });

  it('returns a copy for no correction: the caller may change it', () => {
    const p = [0.2, 0.4];
    const out = adjustPValues(p, 'none');
    out[0] = 1;
    expect(p).toEqual([0.2, 0.4]);
  });

  it('names the index and the value of a p-value outside [0, 1], or not a number', () => {
    expect(() => adjustPValues([0.5, -0.1], 'none')).toThrow(new Error('adjustPValues: p-value at index 1 is not in [0, 1]: -0.1'));
    expect(() => adjustPValues([1.0000001], 'fdr')).toThrow(new Error('adjustPValues: p-value at index 0 is not in [0, 1]: 1.0000001'));
    expect(() => adjustPValues(['0.5' as unknown as number], 'none')).toThrow(new Error('adjustPValues: p-value at index 0 is not in [0, 1]: 0.5'));
  });

  it('refuses a correction it does not know, naming it', () => {
    expect(() => adjustPValues([0.5], 'holm' as PValueCorrection)).toThrow(new Error('adjustPValues: unknown correction holm'));
  });
});
