/**
 * Two-sample Kolmogorov–Smirnov test (two-sided), ported from SciPy 1.17.1: the entry point,
 * scipy.stats.ks_2samp(alternative='two-sided', method auto/exact/asymp, with its exact→asymp
 * fallbacks and `_attempt_exact_2kssamp`). Its parts, one concern a file:
 *  - statistic.ts: the statistic D, by one merge of the two sorted samples;
 *  - exact.ts: the exact two-sample distribution (method 'exact');
 *  - kstwo.ts, kstwo-recursions.ts: scipy.stats.kstwo.sf (method 'asymp'), which uses
 *    smirnov.ts: scipy.special.smirnov, with dd-power.ts and double-double.ts (xsf's
 *    double-double arithmetic) and float.ts (C and numpy float semantics).
 *
 * SciPy is Copyright (c) 2001-2002 Enthought, Inc. 2003, SciPy Developers, distributed under the
 * BSD 3-Clause licence (the other sources' licences are named in their files).
 *
 * Results match SciPy to a few ulp rather than always bit for bit (the files say where and why);
 * validated against fixtures/ks-vectors.json (tools/make-ks-vectors.py) in
 * test/monitoring/ks.test.ts.
 */
import { outerProbInside, probOutsideSquare } from './exact.js';
import { clip01, gcd, roundHalfEven } from './float.js';
import { kolmogorovSmirnovSf } from './kstwo.js';
import { ksStatistic } from './statistic.js';

export type KsMethod = 'auto' | 'exact' | 'asymp';

export interface KsOptions {
  /** 'auto' (default) = exact when max(n1, n2) <= 10000, asymptotic otherwise. */
  method?: KsMethod;
  /** Inputs are already sorted ascending Float64Arrays: used as-is (no copy, no sort). */
  presorted?: boolean;
}

export interface KsResult {
  statistic: number;
  pValue: number;
  /** The method actually used (after SciPy's fallbacks). */
  method: 'exact' | 'asymp';
}

/** scipy's MAX_AUTO_N: 'auto' attempts the exact distribution when max(n1, n2) <= this. */
export const KS_MAX_AUTO_N = 10000;

const INT32_MAX = 2147483647;

function prepare(x: ArrayLike<number>, presorted: boolean, name: string): Float64Array {
  const n = x.length;
  if (!(n >= 1)) throw new Error(`ksTwoSample: sample ${name} needs at least 1 observation`);
  let prev = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`ksTwoSample: sample ${name} has a non-finite value at index ${i}`);
    }
    if (presorted) {
      if (v < prev) throw new Error(`ksTwoSample: sample ${name} is not sorted ascending (index ${i})`);
      prev = v;
    }
  }
  if (presorted) return x instanceof Float64Array ? x : Float64Array.from(x);
  const copy = x instanceof Float64Array ? x.slice() : Float64Array.from(x);
  return copy.sort();
}

/**
 * Two-sided two-sample Kolmogorov–Smirnov test, equivalent to
 * scipy.stats.ks_2samp(a, b, alternative='two-sided', method=method).
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>, options: KsOptions = {}): KsResult {
  const method = options.method ?? 'auto';
  if (method !== 'auto' && method !== 'exact' && method !== 'asymp') {
    throw new Error(`ksTwoSample: invalid method ${String(method)}`);
  }
  const presorted = options.presorted === true;
  const data1 = prepare(a, presorted, 'a');
  const data2 = prepare(b, presorted, 'b');
  const n1 = data1.length;
  const n2 = data2.length;
  let d = ksStatistic(data1, data2).statistic;

  const g = gcd(n1, n2);
  const n1g = n1 / g;
  const n2g = n2 / g;
  let mode: 'exact' | 'asymp';
  if (method === 'auto') {
    mode = Math.max(n1, n2) <= KS_MAX_AUTO_N ? 'exact' : 'asymp';
  } else if (method === 'exact') {
    // lcm(n1, n2) too big: scipy switches to 'asymp' (with a RuntimeWarning)
    mode = n1g >= INT32_MAX / n2g ? 'asymp' : 'exact';
  } else {
    mode = 'asymp';
  }

  let prob = -Infinity;
  if (mode === 'exact') {
    const lcm = n1g * n2;
    const h = roundHalfEven(d * lcm);
    d = (h * 1.0) / lcm;
    if (h === 0) {
      prob = 1.0;
    } else {
      prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
      // scipy: "Exact calculation unsuccessful. Switching to method=asymp" when not 0 <= p <= 1
      if (!(prob >= 0 && prob <= 1)) mode = 'asymp';
    }
  }
  if (mode === 'asymp') {
    const mm = Math.max(n1, n2);
    const nn = Math.min(n1, n2);
    const en = (mm * nn) / (mm + nn);
    prob = kolmogorovSmirnovSf(d, roundHalfEven(en));
  }
  return { statistic: d, pValue: clip01(prob), method: mode };
}
