/**
 * scipy.special.smirnov, the one-sided KS survival function, from xsf cephes/kolmogorov.h
 * (`_smirnov`, `modNX`, `updateBinomial`, `computeAv`). Cephes is Copyright 1984, 1995 by Stephen
 * L. Moshier (used in SciPy under its BSD licence).
 *
 * n >= 1000: xsf evaluates every term of its O(n) series with several pow() calls (~55 ms in C for
 * n = 50 000). Here only every 32nd term is evaluated that way; the terms in between follow from
 * their predecessor by a well-conditioned ratio (one exp, two log1p). The double-double binomial
 * coefficients and accumulation and the termination rule are xsf's. Measured agreement with
 * scipy.special.smirnov: <= 3e-15 relative for results above 1e-300 (this makes the
 * 2.2 <= n*d^2 < 370 range of kstwo.sf ~6 ms instead of ~90 ms at n = 50 000).
 */
import { pow2, pow2ScaledD, pow4D, SCALED_EXP } from './dd-power.js';
import { ddAdd, ddAddD, ddDiv, ddDivDouble, ddFloor, ddFrexp, ddMul, ddMulD, frexp, FREXP_EXP, R } from './double-double.js';
import { ldexp, POW2 } from './float.js';

const SMIRNOV_MAX_COMPUTE_N = 1000000;
/** n from which the term recurrence (see smirnovSf) replaces most pow() evaluations. */
const SMIRNOV_FAST_MIN_N = 1000;
/** Terms between exact (xsf) recomputations on the fast path. */
const SMIRNOV_ANCHOR = 32;
const SMIRNOV_RENORM_LO = 2 ** -600;
const SMIRNOV_RENORM_HI = 2 ** 600;
const SM_UPPER_MAX_TERMS = 3;
const SM_UPPERSUM_MIN_N = 10;
// eslint-disable-next-line no-loss-of-precision -- cephes' literal, read as the nearest double as in C
const CEPHES_MINLOG = -7.451332191019412076235245305675398106812e2; // log(2**-1075)
const DBL_EPSILON = 2.220446049250313e-16;

/**
 * One-sided Kolmogorov–Smirnov survival function Pr(D_n^+ >= d) (== scipy.special.smirnov(n, d)).
 */
export function smirnovSf(n: number, x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (!(n > 0 && x >= 0.0 && x <= 1.0)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0.0) return 1.0;
  if (x === 1.0) return 0.0;

  // modNX: floor(n*x) and the remainder, computed exactly
  ddMulD(x, 0, n);
  const nxh = R[0];
  const nxl = R[1];
  ddFloor(nxh, nxl);
  const flh = R[0];
  ddAdd(nxh, nxl, -flh, -R[1]);
  let alpha = R[0];
  let nxfl = Math.trunc(flh);
  if (alpha === 1) {
    nxfl += 1;
    alpha = 0;
  }

  let n1mxfl = n - nxfl - (alpha === 0 ? 0 : 1);
  let n1mxceil = n - nxfl;
  if (alpha === 0) {
    n1mxfl -= 1;
    n1mxceil += 1;
  }

  // x <= 1/n
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) {
    const t = pow2(1, x, n - 1);
    const cdf = x * t;
    return 1 - cdf;
  }
  // sf underflows
  if (-2 * n * x * x < CEPHES_MINLOG) return 0;
  // x >= 1 - 1/n
  if (nxfl >= n - 1) return pow2(1, -x, n);
  // n too big to compute: approximation
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    const logp = -Math.pow(6.0 * n * x + 1, 2) / 18.0 / n;
    if (logp < -Math.LN2) return Math.exp(logp);
    const cdf = -Math.expm1(logp);
    return 1 - cdf;
  }

  const nUpperTerms = n - n1mxceil + 1;
  const bUseUpperSum = (nUpperTerms <= 1 && x < 0.5) || (n >= SM_UPPERSUM_MIN_N && nUpperTerms <= SM_UPPER_MAX_TERMS && x <= 0.5 / Math.sqrt(n));

  let start = 0;
  let step = 1;
  let nTerms = n1mxfl + 1;
  const vmid = Math.trunc(n / 2);
  if (bUseUpperSum) {
    start = n;
    step = -1;
    nTerms = n - n1mxceil + 1;
    pow4D(1, x, 1, 0, n - 1);
  } else {
    pow4D(1, -x, 1, 0, n);
    ddDiv(R[0], R[1], x, 0);
  }
  ddAdd(0, 0, R[0], R[1]);
  let sumH = R[0];
  let sumL = R[1];

  // Binomial coefficient as (Cman: double-double mantissa, Cexpt: exponent); updateBinomial(n, 0)
  ddDiv(n, 0, 1.0, 0);
  ddMul(1, 0, R[0], R[1]);
  ddFrexp();
  let cH = R[0];
  let cL = R[1];
  let cE = FREXP_EXP[0];

  // Fast path (this port's only deviation from xsf's loop, for speed at large n): between anchor
  // terms, P_v = (x+v/n)^(v-1) * (1-x-v/n)^(n-v) follows from P_{v-1} by an O(1)-conditioned
  // ratio (one exp, two log1p); every SMIRNOV_ANCHOR terms P_v is recomputed exactly as xsf does.
  // Binomial coefficients, the double-double sum and the termination rule are xsf's.
  const fast = !bUseUpperSum && n >= SMIRNOV_FAST_MIN_N;
  let pm = 0; // P_v = pm * 2**pe on the fast path
  let pe = 0;
  for (let j = 1; j < nTerms; j += 1) {
    const v = start + j * step;
    let e: number;
    if (!fast || (j - 1) % SMIRNOV_ANCHOR === 0) {
      // computeAv: Binomial(n,v) * (1-x-v/n)^(n-v) * (x+v/n)^(v-1)
      ddDiv(n - v, 0, n, 0);
      ddAddD(R[0], R[1], -x);
      pow2ScaledD(n - v);
      const t2h = R[0];
      const t2l = R[1];
      const t2E = SCALED_EXP[0];
      ddDiv(v, 0, n, 0);
      ddAddD(R[0], R[1], x);
      pow2ScaledD(v - 1);
      const t1E = SCALED_EXP[0];
      ddMul(R[0], R[1], t2h, t2l);
      if (fast) {
        pm = R[0] + R[1];
        pe = t1E + t2E;
      }
      ddMul(R[0], R[1], cH, cL);
      e = cE + t1E + t2E;
    } else {
      const w = v - 1;
      const s1 = nxfl + w + alpha; // n * (x + w/n)
      const s2 = n - nxfl - w - alpha; // n * (1 - x - w/n)
      pm *= ((s1 + 1) / s2) * Math.exp((w - 1) * Math.log1p(1 / s1) + (n - w - 1) * Math.log1p(-1 / s2));
      if (pm !== 0 && !(pm > SMIRNOV_RENORM_LO && pm < SMIRNOV_RENORM_HI)) {
        pm = frexp(pm);
        pe += FREXP_EXP[0];
      }
      ddMulD(cH, cL, pm);
      e = cE + pe;
    }
    let ajH: number;
    let ajL: number;
    if (e >= -1074 && e <= 1023) {
      const s2 = POW2[e + 1074];
      ajH = R[0] * s2;
      ajL = R[1] * s2;
    } else {
      ajH = ldexp(R[0], e);
      ajL = ldexp(R[1], e);
    }

    const nonZero = ajH !== 0 || ajL !== 0;
    if (Number.isFinite(ajH) && nonZero) {
      ddAdd(sumH, sumL, ajH, ajL);
      sumH = R[0];
      sumL = R[1];
    }
    if (nonZero) {
      if (4 * (nTerms - j) * Math.abs(ajH) < DBL_EPSILON * sumH && j !== nTerms - 1) break;
    } else if (j > vmid) {
      break;
    }
    // updateBinomial(n, j): Cman * ((n - j) / (j + 1)); the fast path uses the cheaper
    // (Cman * (n - j)) / (j + 1), which agrees to ~1e-32.
    if (fast) {
      ddMulD(cH, cL, n - j);
      ddDivDouble(R[0], R[1], j + 1.0);
    } else {
      ddDiv(n - j, 0, j + 1.0, 0);
      ddMul(cH, cL, R[0], R[1]);
    }
    ddFrexp();
    cE += FREXP_EXP[0];
    cH = R[0];
    cL = R[1];
  }
  ddMulD(sumH, sumL, x);
  const prob = R[0];
  const sf = step < 0 ? 1 - prob : prob;
  return sf < 0 ? 0 : sf > 1 ? 1 : sf;
}
