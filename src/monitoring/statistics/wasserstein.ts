import { defineStatistic } from './statistic.js';

/**
 * Wasserstein-1 (earth mover's) distance between two samples, both sorted ascending and finite:
 * the area between their empirical CDFs, ∫ |F_ref(x) − F_cur(x)| dx, as
 * scipy.stats.wasserstein_distance(ref, cur). In the feature's own units: a shift of the whole
 * distribution by c is a distance of |c|.
 *
 * One merge of the two sorted samples, O(n + m): between two consecutive distinct values the
 * CDFs are constant, at the share of each sample at or below the lower one (scipy's
 * searchsorted 'right'), and the area there is |F_ref − F_cur| times the gap.
 */
export function wasserstein1(refSorted: Float64Array, curSorted: Float64Array): number {
  const n = refSorted.length;
  const m = curSorted.length;
  if (n < 1 || m < 1) throw new Error('wasserstein1: both samples need at least 1 value');
  // Values spanning more than the largest double make a gap overflow: the sum is then taken over
  // half-gaps and doubled, which stays finite unless the distance itself is past 1.8e308.
  const area = (scale: number): number => {
    let i = 0;
    let j = 0;
    let prev = Math.min(refSorted[0], curSorted[0]) * scale;
    let sum = 0;
    while (i < n || j < m) {
      const v = j >= m || (i < n && refSorted[i] <= curSorted[j]) ? refSorted[i] : curSorted[j];
      const x = v * scale;
      // Both CDFs as scipy computes them: a count divided by the sample's size.
      sum += Math.abs(i / n - j / m) * (x - prev);
      while (i < n && refSorted[i] === v) i++;
      while (j < m && curSorted[j] === v) j++;
      prev = x;
    }
    return sum;
  };
  const whole = area(1);
  return Number.isFinite(whole) ? whole : Math.min(2 * area(0.5), Number.MAX_VALUE);
}

/** Informational: how far the current data moved, in the feature's units (KS says whether it did). */
export const wasserstein = defineStatistic({
  name: 'wasserstein',
  title: 'Wasserstein-1 distance',
  description: "Wasserstein-1 (earth mover's) distance: the area between the two empirical CDFs, in the feature's units, as scipy.stats.wasserstein_distance.",
  role: 'informational',
  fields: {
    wasserstein: {
      type: 'number',
      description: "Wasserstein-1 distance between reference and current data, in the feature's units (as scipy.stats.wasserstein_distance)",
    },
  },
  compute: (refSorted, curSorted) => ({ wasserstein: wasserstein1(refSorted, curSorted) }),
  mlflow: { wasserstein: 'wasserstein' },
  display: { field: 'wasserstein', label: 'W1', hint: "Wasserstein-1 distance, in the feature's units", format: (w) => w.toPrecision(4) },
});
