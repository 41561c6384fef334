/** Downsampled empirical CDFs of a drift run, kept with the run for charts (the dashboard's). */

/** At most this many points per curve (the KS location is one of them). */
export const MAX_CURVE_POINTS = 200;
/** Curves are kept for at most this many features per run (the most drifted first). */
export const MAX_CURVE_FEATURES = 100;

export interface Curve {
  n: number;
  x: number[];
  cdf: number[];
}

export interface FeatureCurves {
  reference: Curve;
  current: Curve;
  ks: { x: number; referenceCdf: number; currentCdf: number; distance: number };
}

/** Count of values ≤ x in a sorted array. */
export function upperBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where the two empirical CDFs are farthest apart: the KS statistic's location and both CDF values there. */
export function ksLocation(a: Float64Array, b: Float64Array): { x: number; fa: number; fb: number } {
  let i = 0;
  let j = 0;
  let best = { x: a[0], fa: 0, fb: 0, d: -1 };
  while (i < a.length || j < b.length) {
    const v = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
    while (i < a.length && a[i] === v) i++;
    while (j < b.length && b[j] === v) j++;
    const fa = i / a.length;
    const fb = j / b.length;
    if (Math.abs(fa - fb) > best.d) best = { x: v, fa, fb, d: Math.abs(fa - fb) };
  }
  return { x: best.x, fa: best.fa, fb: best.fb };
}

/**
 * The empirical CDF F(x) = share of values ≤ x of a sorted sample, at no more than `maxPoints`
 * x values: values at evenly spaced ranks (so a step between two kept points is at most
 * 1/(maxPoints-1) high), always with the minimum, the maximum and the `extra` x values (the KS
 * location) included exactly.
 */
export function ecdfPoints(sorted: ArrayLike<number>, maxPoints = MAX_CURVE_POINTS, extra: readonly number[] = []): Curve {
  const n = sorted.length;
  const xs = new Set<number>();
  if (n > 0) {
    const slots = Math.max(2, maxPoints - extra.length);
    for (let k = 0; k < slots; k++) xs.add(sorted[Math.round((k * (n - 1)) / (slots - 1))]);
  }
  for (const e of extra) if (Number.isFinite(e)) xs.add(e);
  const x = [...xs].sort((a, b) => a - b);
  return { n, x, cdf: x.map((v) => upperBound(sorted, v) / n) };
}

/** Both curves of one feature, with the KS location included in each. */
export function featureCurves(referenceSorted: Float64Array, currentSorted: Float64Array): FeatureCurves {
  const at = ksLocation(referenceSorted, currentSorted);
  return {
    reference: ecdfPoints(referenceSorted, MAX_CURVE_POINTS, [at.x]),
    current: ecdfPoints(currentSorted, MAX_CURVE_POINTS, [at.x]),
    ks: { x: at.x, referenceCdf: at.fa, currentCdf: at.fb, distance: Math.abs(at.fa - at.fb) },
  };
}
