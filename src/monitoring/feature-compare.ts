import { featureCurves, type FeatureCurves } from './curves.js';
import { sortedCopy } from './sort.js';
import { computeStatistics, type StatisticValues } from './statistics/index.js';

/** One feature's comparison: the current values sorted (for the charts), every statistic's fields, and the run's curves. */
export interface FeatureComparison {
  curSorted: Float64Array;
  values: StatisticValues;
  curves: FeatureCurves;
}

/**
 * Every drift statistic (statistics/index.ts) of one feature's current values against its sorted
 * reference, and the downsampled curves a run keeps (O(n) passes over both sides: done here, on
 * the drift thread, not on the event loop). Pure, with no imports beyond the statistics, so
 * drift-worker.ts can run it on another thread.
 */
export function compareFeature(refSorted: Float64Array, current: Float64Array): FeatureComparison {
  const curSorted = sortedCopy(current);
  return { curSorted, values: computeStatistics(refSorted, curSorted), curves: featureCurves(refSorted, curSorted) };
}
