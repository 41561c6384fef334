import { featureCurves, type FeatureCurves } from './curves.js';
import { ksTwoSample, type KsResult } from './ks.js';
import { populationStabilityIndex } from './psi.js';
import { sortedCopy } from './sort.js';

/** PSI's floor for an empty bin's share (see psi.ts): keeps ln(p_cur / p_ref) finite. */
export const PSI_EPSILON = 1e-4;
export const PSI_BINS = 10;

/** One feature's comparison: the current values sorted (for the charts), KS and PSI, and the run's curves. */
export interface FeatureComparison {
  curSorted: Float64Array;
  ks: KsResult;
  curves: FeatureCurves;
  psi: number;
}

/**
 * KS and PSI of one feature's current values against its sorted reference, and the downsampled
 * curves a run keeps (O(n) passes over both sides: done here, on the drift thread, not on the
 * event loop). Pure, with no
 * imports beyond the statistics, so drift-worker.ts can run it on another thread.
 */
export function compareFeature(refSorted: Float64Array, current: Float64Array): FeatureComparison {
  const curSorted = sortedCopy(current);
  const ks = ksTwoSample(refSorted, curSorted, { method: 'auto', presorted: true });
  const psi = populationStabilityIndex(refSorted, curSorted, { bins: PSI_BINS, epsilon: PSI_EPSILON, currentSorted: true });
  return { curSorted, ks, psi, curves: featureCurves(refSorted, curSorted) };
}
