import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/**
 * The statistics of outcomes, as scipy and statsmodels compute them (checked to 1e-9 on the
 * vectors of tools/make-performance-vectors.py). The distributions are stdlib's ports of Boost
 * and FreeBSD's libm, which scipy's own rest on.
 */

export interface Interval {
  low: number;
  high: number;
}

/** Upper tail of the standard normal, without 1 − cdf's cancellation. */
export const normalSf = (z: number): number => normalCdf(-z, 0, 1);
export const normalPpf = (p: number): number => normalQuantile(p, 0, 1);
/** Upper tail of Student's t with `df` degrees of freedom. */
export const tSf = (t: number, df: number): number => tCdf(-t, df);
export const tPpf = (p: number, df: number): number => tQuantile(p, df);

/** Mean and sample variance (ddof 1) by Welford's update: no cancellation on large values. */
export function meanVar(x: ArrayLike<number>): { n: number; mean: number; variance: number } {
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - mean;
    mean += d / (i + 1);
    m2 += d * (x[i] - mean);
  }
  return { n: x.length, mean, variance: x.length > 1 ? m2 / (x.length - 1) : Number.NaN };
}

/** The t interval of a mean: scipy.stats.t.interval(confidence, n − 1, loc=mean, scale=sem); null below 2 values. */
export function meanInterval(n: number, mean: number, variance: number, confidence: number): Interval | null {
  if (n < 2 || !Number.isFinite(variance)) return null;
  const half = tPpf((1 + confidence) / 2, n - 1) * Math.sqrt(variance / n);
  return { low: mean - half, high: mean + half };
}

/** Wilson's score interval of a proportion: statsmodels proportion_confint(count, n, alpha, method='wilson'); null for n 0. */
export function wilsonInterval(count: number, n: number, confidence: number): Interval | null {
  if (n <= 0) return null;
  const z = normalPpf((1 + confidence) / 2);
  const p = count / n;
  const z2 = z * z;
  const center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: center - half, high: center + half };
}

/** A normal interval estimate ± z·se, clipped to [lo, hi]. */
export function normalInterval(estimate: number, se: number, confidence: number, lo = -Infinity, hi = Infinity): Interval | null {
  if (!Number.isFinite(se)) return null;
  const half = normalPpf((1 + confidence) / 2) * se;
  return { low: Math.max(lo, estimate - half), high: Math.min(hi, estimate + half) };
}

export interface TestResult {
  /** b − a. */
  difference: number;
  interval: Interval;
  statistic: number;
  pValue: number;
  /** Welch's degrees of freedom (t test); null for a z test. */
  df: number | null;
}

/**
 * Welch's t test of mean(b) − mean(a): scipy.stats.ttest_ind(b, a, equal_var=False), two-sided,
 * with its confidence_interval(confidence). Null when a side has fewer than 2 values or both
 * have no variance.
 */
export function welchTest(
  a: { n: number; mean: number; variance: number },
  b: { n: number; mean: number; variance: number },
  confidence: number,
): TestResult | null {
  if (a.n < 2 || b.n < 2) return null;
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const se = Math.sqrt(va + vb);
  if (!(se > 0)) return null;
  const df = (va + vb) ** 2 / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1));
  const difference = b.mean - a.mean;
  const t = difference / se;
  const half = tPpf((1 + confidence) / 2, df) * se;
  return { difference, interval: { low: difference - half, high: difference + half }, statistic: t, pValue: Math.min(1, 2 * tSf(Math.abs(t), df)), df };
}

/**
 * The two-proportion z test of pb − pa with the pooled variance (statsmodels
 * proportions_ztest([xb, xa], [nb, na])), two-sided, and Newcombe's hybrid score interval of the
 * difference (statsmodels confint_proportions_2indep(xb, nb, xa, na, method='newcombe')). Null
 * when a side is empty or the pooled proportion is 0 or 1.
 */
export function twoProportionTest(xa: number, na: number, xb: number, nb: number, confidence: number): TestResult | null {
  if (na <= 0 || nb <= 0) return null;
  const pa = xa / na;
  const pb = xb / nb;
  const pooled = (xa + xb) / (na + nb);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb));
  if (!(se > 0)) return null;
  const z = (pb - pa) / se;
  const wa = wilsonInterval(xa, na, confidence) as Interval;
  const wb = wilsonInterval(xb, nb, confidence) as Interval;
  const difference = pb - pa;
  const low = difference - Math.sqrt((pb - wb.low) ** 2 + (wa.high - pa) ** 2);
  const high = difference + Math.sqrt((wb.high - pb) ** 2 + (pa - wa.low) ** 2);
  return { difference, interval: { low, high }, statistic: z, pValue: Math.min(1, 2 * normalSf(Math.abs(z))), df: null };
}

/** statsmodels normal_power(effect, nobs, alpha, 'two-sided'): both tails. */
export function normalPower(effect: number, nobs: number, alpha: number): number {
  const crit = normalPpf(1 - alpha / 2);
  const shift = Math.abs(effect) * Math.sqrt(nobs);
  return normalSf(crit - shift) + normalCdf(-crit - shift, 0, 1);
}

/**
 * The nobs at which normalPower(effect, nobs, alpha) reaches `power`, found by bisection to the
 * last bit (power grows with nobs). Infinity for no effect.
 */
export function nobsForPower(effect: number, alpha: number, power: number): number {
  if (!(Math.abs(effect) > 0)) return Infinity;
  let lo = 0;
  let hi = 1;
  while (normalPower(effect, hi, alpha) < power) {
    hi *= 2;
    if (hi > 1e300) return Infinity;
  }
  for (let i = 0; i < 2000; i++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (normalPower(effect, mid, alpha) < power) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * Outcomes per variant that a two-sided test at `alpha` needs to detect a difference `delta`
 * with `power`, when variant b gets `ratio` outcomes per outcome of a and the difference's
 * variance is sa²/na + sb²/nb: na solves normal_power(delta / √(sa² + sb²/ratio), na) = power.
 * For proportions this is statsmodels NormalIndPower().solve_power(effect_size=h, alpha=alpha,
 * power=power, ratio=ratio) with sa = sb = 1 and delta = Cohen's h.
 */
export function sampleSizes(delta: number, sa: number, sb: number, ratio: number, alpha: number, power: number): { a: number; b: number } {
  const v = sa * sa + (sb * sb) / ratio;
  const a = nobsForPower(delta / Math.sqrt(v), alpha, power);
  return { a, b: a * ratio };
}

/** Cohen's h between two proportions: statsmodels proportion_effectsize(p1, p2). */
export const cohensH = (p1: number, p2: number): number => 2 * Math.asin(Math.sqrt(p1)) - 2 * Math.asin(Math.sqrt(p2));
