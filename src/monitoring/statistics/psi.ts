import { upperBound } from '../curves.js';
import { defineStatistic } from './statistic.js';

/**
 * Population Stability Index between a reference sample and a current sample.
 *
 * Definition (mirrored by the numpy reference implementation in tools/make-ks-vectors.py):
 *  - bin edges are the reference quantiles at k/bins for k = 1..bins-1, computed with numpy's
 *    default 'linear' method (== numpy.quantile(reference, k / bins)); duplicate edges are removed;
 *  - bins are right-closed: (-inf, e1], (e1, e2], ..., (e_last, +inf) — a value v falls in bin
 *    #{edges < v} (numpy.searchsorted(edges, v, side='left'));
 *  - proportions p = count / n for each sample, floored at epsilon (so empty bins stay finite);
 *  - PSI = sum over bins of (p_cur - p_ref) * ln(p_cur / p_ref).
 */

export interface PsiOptions {
  /** Number of quantile bins before de-duplication of edges (default 10). */
  bins?: number;
  /** Floor applied to every bin proportion (default 1e-4). */
  epsilon?: number;
  /** `current` is sorted ascending: its bins are counted by binary search on the edges (same counts, O(bins · log n)). */
  currentSorted?: boolean;
}

/**
 * numpy.quantile(sorted, q) with the default method='linear' (Hyndman & Fan type 7),
 * including numpy's interpolation formula (_lerp) so results are bit-identical.
 * `sorted` must be ascending and non-empty; 0 <= q <= 1.
 */
export function quantileLinear(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n < 1) throw new Error('quantileLinear: empty sample');
  if (!(q >= 0 && q <= 1)) throw new Error(`quantileLinear: q must be in [0, 1], got ${q}`);
  const virtualIndex = (n - 1) * q;
  if (virtualIndex >= n - 1) return sorted[n - 1];
  const prev = Math.floor(virtualIndex);
  const gamma = virtualIndex - prev;
  const a = sorted[prev];
  const b = sorted[prev + 1];
  const diff = b - a;
  // numpy _lerp: a + diff*t, but b - diff*(1-t) where t >= 0.5
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

/** Per right-closed bin, how many of the ascending `sorted` values fall in it: bin k holds edges[k-1] < v <= edges[k]. */
function sortedCounts(sorted: ArrayLike<number>, edges: Float64Array): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  let below = 0;
  for (let k = 0; k < edges.length; k++) {
    const upTo = upperBound(sorted, edges[k]);
    counts[k] = upTo - below;
    below = upTo;
  }
  counts[edges.length] = sorted.length - below;
  return counts;
}

/** Index of the right-closed bin holding v: number of edges strictly below v. */
function binOf(edges: Float64Array, v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * PSI of `current` against `sortedReference` (ascending). See the module comment for the exact
 * definition. Throws on empty samples, non-finite values, an unsorted reference or bad options.
 */
export function populationStabilityIndex(sortedReference: Float64Array, current: ArrayLike<number>, options: PsiOptions = {}): number {
  const bins = options.bins ?? 10;
  const epsilon = options.epsilon ?? 1e-4;
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`populationStabilityIndex: bins must be a positive integer, got ${bins}`);
  if (!(epsilon > 0 && Number.isFinite(epsilon))) {
    throw new Error(`populationStabilityIndex: epsilon must be a positive finite number, got ${epsilon}`);
  }
  const nRef = sortedReference.length;
  const nCur = current.length;
  if (nRef < 1) throw new Error('populationStabilityIndex: reference sample is empty');
  if (nCur < 1) throw new Error('populationStabilityIndex: current sample is empty');
  let prev = -Infinity;
  for (let i = 0; i < nRef; i++) {
    const v = sortedReference[i];
    if (!Number.isFinite(v)) throw new Error(`populationStabilityIndex: reference has a non-finite value at index ${i}`);
    if (v < prev) throw new Error(`populationStabilityIndex: reference is not sorted ascending (index ${i})`);
    prev = v;
  }

  // Edges: reference quantiles at k/bins, duplicates removed (they are non-decreasing).
  const raw: number[] = [];
  for (let k = 1; k < bins; k++) {
    const e = quantileLinear(sortedReference, k / bins);
    if (raw.length === 0 || e !== raw[raw.length - 1]) raw.push(e);
  }
  const edges = Float64Array.from(raw);
  const nBins = edges.length + 1;

  const refCounts = sortedCounts(sortedReference, edges);
  const curCounts = new Float64Array(nBins);
  if (options.currentSorted) {
    // Sorted, a NaN or an infinity would be at an end.
    for (const i of [0, nCur - 1]) {
      if (!Number.isFinite(current[i])) throw new Error(`populationStabilityIndex: current has a non-finite value at index ${i}`);
    }
    curCounts.set(sortedCounts(current, edges));
  } else {
    for (let i = 0; i < nCur; i++) {
      const v = current[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new Error(`populationStabilityIndex: current has a non-finite value at index ${i}`);
      }
      curCounts[binOf(edges, v)]++;
    }
  }

  let psi = 0;
  for (let k = 0; k < nBins; k++) {
    const pr = Math.max(refCounts[k] / nRef, epsilon);
    const pc = Math.max(curCounts[k] / nCur, epsilon);
    psi += (pc - pr) * Math.log(pc / pr);
  }
  return psi;
}

/** The bins a drift run's PSI uses: reference deciles. */
export const PSI_BINS = 10;
/** The floor of an empty bin's share: keeps ln(p_cur / p_ref) finite. */
export const PSI_EPSILON = 1e-4;

export const psi = defineStatistic({
  name: 'psi',
  title: 'Population Stability Index',
  description: `Population Stability Index over ${PSI_BINS} reference-quantile bins (empty bins floored at ${PSI_EPSILON.toExponential()}), the sum of (p_cur - p_ref) * ln(p_cur / p_ref).`,
  role: 'informational',
  fields: {
    psi: {
      type: 'number',
      description: `Population Stability Index over ${PSI_BINS} reference-quantile bins (empty bins floored at ${PSI_EPSILON.toExponential()})`,
    },
  },
  compute: (refSorted, curSorted) => ({ psi: populationStabilityIndex(refSorted, curSorted, { bins: PSI_BINS, epsilon: PSI_EPSILON, currentSorted: true }) }),
  mlflow: { psi: 'psi' },
  display: { field: 'psi', label: 'PSI', hint: 'Population Stability Index', format: (v) => v.toFixed(4) },
});
