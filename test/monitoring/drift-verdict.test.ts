import { describe, expect, it } from 'vitest';
import type { PValueCorrection } from '../../src/monitoring/correction.js';
import { compareToReference, prepareReference } from '../../src/monitoring/drift.js';
import { compareFeature } from '../../src/monitoring/feature-compare.js';

const range = (from: number, n: number) => Float64Array.from({ length: n }, (_, i) => from + i);

/** Five features: `shifted` moved by `shift` (0..99 against shift..shift+99), four others unchanged (p = 1). */
async function verdict(shift: number, correction: PValueCorrection) {
  const names = ['shifted', 'a', 'b', 'c', 'd'];
  const reference = names.map((f) => prepareReference(f, range(0, 100)));
  const current = new Map(names.map((f) => [f, range(f === 'shifted' ? shift : 0, 100)]));
  const result = await compareToReference(reference, current, { threshold: 0.05, correction, datasetDriftShare: 0.2 }, async (ref, cur) =>
    compareFeature(ref, cur),
  );
  return { ...result, shifted: result.features[0] };
}

describe('the drift verdict follows the corrected p-value, not the raw one', () => {
  it.each(['bonferroni', 'fdr'] as const)('%s: raw p under the threshold, corrected p over it: not drifted', async (correction) => {
    const { shifted, datasetDrift, driftedShare } = await verdict(20, correction);
    expect(shifted.pValue).toBeLessThan(0.05);
    expect(shifted.pValue).toBeGreaterThan(0.01);
    // Five features: both corrections multiply the one small p-value by 5.
    expect(shifted.pValueAdjusted).toBeCloseTo(shifted.pValue * 5, 12);
    expect(shifted.driftDetected).toBe(false);
    expect([driftedShare, datasetDrift]).toEqual([0, false]);
  });

  it('without a correction the same shift is drift, and so is the dataset at a share of 1 in 5', async () => {
    const { shifted, datasetDrift, driftedShare } = await verdict(20, 'none');
    expect(shifted.pValueAdjusted).toBe(shifted.pValue);
    expect(shifted.driftDetected).toBe(true);
    expect([driftedShare, datasetDrift]).toEqual([0.2, true]);
  });

  it('a shift large enough survives either correction', async () => {
    for (const correction of ['bonferroni', 'fdr'] as const) {
      const { shifted } = await verdict(40, correction);
      expect(shifted.pValueAdjusted).toBeLessThan(0.05);
      expect(shifted.driftDetected).toBe(true);
    }
  });
});
