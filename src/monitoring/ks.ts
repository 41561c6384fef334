/**
 * Two-sample Kolmogorov–Smirnov test (two-sided), ported from SciPy 1.17.1.
 *
 * Ported, operation for operation where it matters for the result:
 *  - scipy/stats/_stats_py.py: `ks_2samp` (alternative='two-sided', method auto/exact/asymp,
 *    including the exact→asymp fallbacks), `_attempt_exact_2kssamp`,
 *    `_compute_prob_outside_square`;
 *  - scipy/stats/_stats_pythran.py: `_compute_outer_prob_inside_method`;
 *  - scipy/stats/_continuous_distns.py: `kstwo.sf` (support and argument checks);
 *  - scipy/stats/_ksstats.py: `_kolmogn` (sf), `_kolmogn_DMTW`, `_kolmogn_Pomeranz`,
 *    `_pomeranz_compute_j1j2`, `_kolmogn_PelzGood`, `_log_nfactorial_div_n_pow_n`
 *    and the Ruben–Gambino edge closed forms;
 *  - xsf (scipy.special) cephes/kolmogorov.h: `smirnov` (`_smirnov`, `modNX`, `updateBinomial`,
 *    `pow_D`, `pow2`, `pow2Scaled_D`, `pow4_D`, `computeAv`, `nextPowerOf2`) and the parts of
 *    cephes/dd_real.h (double-double arithmetic from the qd package) they use.
 *
 * SciPy is Copyright (c) 2001-2002 Enthought, Inc. 2003, SciPy Developers, distributed under the
 * BSD 3-Clause licence. The double-double routines derive from the qd package, Copyright (c)
 * 2003-2009, The Regents of the University of California, through Lawrence Berkeley National
 * Laboratory, distributed under the modified BSD (BSD-LBNL) licence. Cephes is Copyright 1984,
 * 1995 by Stephen L. Moshier (used in SciPy under its BSD licence).
 *
 * Numerical notes (why results match SciPy to a few ulp rather than always bit for bit):
 *  - where SciPy continues in numpy long double (the n!/n^n products of DMTW and Pomeranz once
 *    their 2**±128 rescaling kicks in) this port continues in double-double;
 *  - BLAS matrix products (DMTW) and dot products (np.convolve in Pomeranz) are summed in natural
 *    order; Math.pow/exp/log may differ from glibc by an ulp;
 *  - smirnov, n >= 1000: xsf evaluates every term of its O(n) series with several pow() calls
 *    (~55 ms in C for n = 50 000). Here only every 32nd term is evaluated that way; the terms in
 *    between follow from their predecessor by a well-conditioned ratio (one exp, two log1p). The
 *    double-double binomial coefficients and accumulation and the termination rule are xsf's.
 *    Measured agreement with scipy.special.smirnov: <= 3e-15 relative for results above 1e-300
 *    (this makes the 2.2 <= n*d^2 < 370 range of kstwo.sf ~6 ms instead of ~90 ms at n = 50 000).
 * Validated against fixtures/ks-vectors.json (tools/make-ks-vectors.py), see test/monitoring.
 */

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

// ---------------------------------------------------------------------------------------------
// Small float helpers
// ---------------------------------------------------------------------------------------------

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
// Index of the high 32-bit word of a float64 (little-endian, as on every Node platform).
const HI = 1;

/** POW2[e + 1074] = 2**e exactly, for e in [-1074, 1023]. */
const POW2 = (() => {
  const t = new Float64Array(2098);
  for (let e = -1022; e <= 1023; e++) {
    U32[0] = 0;
    U32[HI] = ((e + 1023) << 20) >>> 0;
    t[e + 1074] = F64[0];
  }
  for (let e = -1074; e < -1022; e++) t[e + 1074] = t[-1022 + 1074] * t[e + 1022 + 1074];
  return t;
})();

/** 2**e for integer e in [-1074, 1023], exact. */
const pow2i = (e: number): number => POW2[e + 1074];

/** C ldexp: x * 2**e rounded once (a single product by an exact power of two when possible). */
function ldexp(x: number, e: number): number {
  if (e >= -1074 && e <= 1023) return x * POW2[e + 1074];
  let y = x;
  let n = e;
  if (n > 1023) {
    y *= pow2i(1023);
    n -= 1023;
    if (n > 1023) {
      y *= pow2i(1023);
      n -= 1023;
      if (n > 1023) n = 1023;
    }
  } else {
    // musl scalbn: scale by 2**-969 while keeping y normal, then round once at the end.
    y *= pow2i(-1022 + 53);
    n += 1022 - 53;
    if (n < -1022) {
      y *= pow2i(-1022 + 53);
      n += 1022 - 53;
      if (n < -1022) n = -1022;
    }
  }
  return y * pow2i(n);
}

let frexpExp = 0;
/** C frexp: returns the mantissa in [0.5, 1) (sign kept) and stores the exponent in frexpExp. */
function frexp(x: number): number {
  if (x === 0 || !Number.isFinite(x)) {
    frexpExp = 0;
    return x;
  }
  F64[0] = x;
  let ex = (U32[HI] >>> 20) & 0x7ff;
  let adj = 0;
  if (ex === 0) {
    // subnormal
    F64[0] = x * POW2[64 + 1074];
    ex = (U32[HI] >>> 20) & 0x7ff;
    adj = -64;
  }
  frexpExp = ex - 1022 + adj;
  U32[HI] = ((U32[HI] & 0x800fffff) | (1022 << 20)) >>> 0;
  return F64[0];
}

/** numpy.round / rint: round half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

function clip01(p: number): number {
  // like np.clip, NaN stays NaN
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

/** numpy's pairwise summation (np.sum of a contiguous float64 array). */
function pairwiseSum(a: Float64Array, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    let r0 = a[start];
    let r1 = a[start + 1];
    let r2 = a[start + 2];
    let r3 = a[start + 3];
    let r4 = a[start + 4];
    let r5 = a[start + 5];
    let r6 = a[start + 6];
    let r7 = a[start + 7];
    let i = 8;
    const end = n - (n % 8);
    for (; i < end; i += 8) {
      r0 += a[start + i];
      r1 += a[start + i + 1];
      r2 += a[start + i + 2];
      r3 += a[start + i + 3];
      r4 += a[start + i + 4];
      r5 += a[start + i + 5];
      r6 += a[start + i + 6];
      r7 += a[start + i + 7];
    }
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

// ---------------------------------------------------------------------------------------------
// Double-double arithmetic (qd / xsf dd_real.h), allocation-free: a value is a (hi, lo) pair of
// numbers; every operation leaves its result in the registers R = [hi, lo].
// two_prod uses Dekker's split, which yields the same exact error term as the fma in xsf.
// ---------------------------------------------------------------------------------------------

/** Result registers [hi, lo] (a typed array, so writes never box a number). */
const R = new Float64Array(2);
const SPLITTER = 134217729.0; // 2^27 + 1

/** (ah, al) + (bh, bl) — IEEE-style addition (Briggs/Kahan). */
function ddAdd(ah: number, al: number, bh: number, bl: number): void {
  let s1 = ah + bh;
  let c = s1 - ah;
  let s2 = ah - (s1 - c) + (bh - c);
  const t1 = al + bl;
  c = t1 - al;
  const t2 = al - (t1 - c) + (bl - c);
  s2 += t1;
  let s = s1 + s2;
  s2 = s2 - (s - s1);
  s1 = s;
  s2 += t2;
  s = s1 + s2;
  R[1] = s2 - (s - s1);
  R[0] = s;
}

/** (ah, al) + b (also b + dd). */
function ddAddD(ah: number, al: number, b: number): void {
  const s1 = ah + b;
  const c = s1 - ah;
  let s2 = ah - (s1 - c) + (b - c);
  s2 += al;
  const s = s1 + s2;
  R[1] = s2 - (s - s1);
  R[0] = s;
}

/** a - (bh, bl). */
function dSubDD(a: number, bh: number, bl: number): void {
  const s1 = a - bh;
  const c = s1 - a;
  let s2 = a - (s1 - c) + (-bh - c);
  s2 -= bl;
  const s = s1 + s2;
  R[1] = s2 - (s - s1);
  R[0] = s;
}

/** (ah, al) * (bh, bl). */
function ddMul(ah: number, al: number, bh: number, bl: number): void {
  const p1 = ah * bh;
  let t = SPLITTER * ah;
  const ahh = t - (t - ah);
  const ahl = ah - ahh;
  t = SPLITTER * bh;
  const bhh = t - (t - bh);
  const bhl = bh - bhh;
  let p2 = ahh * bhh - p1 + ahh * bhl + ahl * bhh + ahl * bhl;
  p2 += ah * bl + al * bh;
  const s = p1 + p2;
  R[1] = p2 - (s - p1);
  R[0] = s;
}

/** (ah, al) * b (also b * dd). */
function ddMulD(ah: number, al: number, b: number): void {
  const p1 = ah * b;
  let t = SPLITTER * ah;
  const ahh = t - (t - ah);
  const ahl = ah - ahh;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const e1 = ahh * bh - p1 + ahh * bl + ahl * bh + ahl * bl;
  const p2 = al * b;
  t = SPLITTER * al;
  const alh = t - (t - al);
  const all = al - alh;
  const e2 = alh * bh - p2 + alh * bl + all * bh + all * bl;
  const b2 = e2 + p2 + e1;
  const s = p1 + b2;
  R[1] = b2 - (s - p1);
  R[0] = s;
}

/** (ah, al) / (bh, bl) (also dd / double with bl = 0, double / dd with al = 0). */
function ddDiv(ah: number, al: number, bh: number, bl: number): void {
  let q1 = ah / bh;
  ddMulD(bh, bl, q1);
  ddAdd(ah, al, -R[0], -R[1]);
  let rh = R[0];
  let rl = R[1];
  let q2 = rh / bh;
  ddMulD(bh, bl, q2);
  ddAdd(rh, rl, -R[0], -R[1]);
  rh = R[0];
  rl = R[1];
  const q3 = rh / bh;
  const s = q1 + q2;
  q2 = q2 - (s - q1);
  q1 = s;
  ddAddD(q1, q2, q3);
}

/** (ah, al) / b, qd's accurate dd-by-double division. */
function ddDivDouble(ah: number, al: number, b: number): void {
  const q1 = ah / b;
  const p1 = q1 * b;
  let t = SPLITTER * q1;
  const qh = t - (t - q1);
  const ql = q1 - qh;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const p2 = qh * bh - p1 + qh * bl + ql * bh + ql * bl;
  const sd = ah - p1;
  const c = sd - ah;
  let e = ah - (sd - c) - (p1 + c);
  e += al;
  e -= p2;
  const q2 = (sd + e) / b;
  const s = q1 + q2;
  R[1] = q2 - (s - q1);
  R[0] = s;
}

/** floor of a double-double. */
function ddFloor(ah: number, al: number): void {
  let hi = Math.floor(ah);
  let lo = 0;
  if (hi === ah) {
    lo = Math.floor(al);
    const s = hi + lo;
    lo = lo - (s - hi);
    hi = s;
  }
  R[0] = hi;
  R[1] = lo;
}

/**
 * dd frexp, in place on R: mantissa with 0.5 <= |hi| < 1 (or |hi| == 1 with hi*lo < 0),
 * exponent in frexpExp.
 */
function ddFrexp(): void {
  const ah = R[0];
  if (ah === 0 || !Number.isFinite(ah)) {
    frexpExp = 0;
    return;
  }
  F64[0] = ah;
  let ex = (U32[HI] >>> 20) & 0x7ff;
  let adj = 0;
  if (ex === 0) {
    F64[0] = ah * POW2[64 + 1074];
    ex = (U32[HI] >>> 20) & 0x7ff;
    adj = -64;
  }
  let exponent = ex - 1022 + adj;
  U32[HI] = ((U32[HI] & 0x800fffff) | (1022 << 20)) >>> 0;
  let man = F64[0];
  let b1 = -exponent >= -1074 && -exponent <= 1023 ? R[1] * POW2[1074 - exponent] : ldexp(R[1], -exponent);
  if (Math.abs(man) === 0.5 && man * b1 < 0) {
    man *= 2;
    b1 *= 2;
    exponent -= 1;
  }
  frexpExp = exponent;
  R[0] = man;
  R[1] = b1;
}

// ---------------------------------------------------------------------------------------------
// scipy.special.smirnov (one-sided KS survival function), xsf cephes/kolmogorov.h
// ---------------------------------------------------------------------------------------------

const SMIRNOV_MAX_COMPUTE_N = 1000000;
/** n from which the term recurrence (see smirnovSf) replaces most pow() evaluations. */
const SMIRNOV_FAST_MIN_N = 1000;
/** Terms between exact (xsf) recomputations on the fast path. */
const SMIRNOV_ANCHOR = 32;
const SMIRNOV_RENORM_LO = 2 ** -600;
const SMIRNOV_RENORM_HI = 2 ** 600;
const SM_UPPER_MAX_TERMS = 3;
const SM_UPPERSUM_MIN_N = 10;
const SM_MAX_EXPONENT = 960;
const CEPHES_MINLOG = -7.451332191019412076235245305675398106812e2; // log(2**-1075)
const DBL_EPSILON = 2.220446049250313e-16;

function nextPowerOf2(x: number): number {
  const q = ldexp(x, 1 - 53);
  let L = Math.abs(q + x);
  if (L === 0) {
    L = Math.abs(x);
  } else {
    const Lint = Math.trunc(L);
    if (Lint === L) L = Lint;
  }
  return L;
}

/** pow_D, in place on R: R**m in double-double via pow() plus a correction for the low word. */
function powD(m: number): void {
  if (m <= 0) {
    if (m === 0) {
      R[0] = 1;
      R[1] = 0;
      return;
    }
    powD(-m);
    ddDiv(1, 0, R[0], R[1]);
    return;
  }
  const ah = R[0];
  const al = R[1];
  if (ah === 0 && al === 0) return;
  const ans = Math.pow(ah, m);
  const r = al / ah;
  let adj = m * r;
  if (Math.abs(adj) > 1e-8) {
    if (Math.abs(adj) < 1e-4) {
      adj += m * r * (((m - 1) / 2.0) * r);
    } else {
      adj = Math.expm1(m * Math.log1p(r));
    }
  }
  ddAddD(ans, 0, ans * adj);
}

/** pow2(a, b, m) = double((a + b)**m). */
function pow2(a: number, b: number, m: number): number {
  ddAddD(a, 0, b);
  powD(m);
  return R[0];
}

let scaledExp = 0;
/** pow2Scaled_D, in place on R: R**m = R' * 2**scaledExp with 0.5 <= |R'[0]| <= 1. */
function pow2ScaledD(m: number): void {
  let maxExpt = SM_MAX_EXPONENT;
  if (m <= 0) {
    if (m === 0) {
      scaledExp = 0;
      R[0] = 1;
      R[1] = 0;
      return;
    }
    pow2ScaledD(-m);
    const aE1 = scaledExp;
    ddDiv(1, 0, R[0], R[1]);
    ddFrexp();
    scaledExp = -aE1 + frexpExp;
    return;
  }
  ddFrexp();
  const yh = R[0];
  const yl = R[1];
  const yE = frexpExp;
  if (m === 1) {
    scaledExp = yE;
    return;
  }
  if ((m * (yh - 1)) / yh < -SM_MAX_EXPONENT * Math.LN2) {
    const lg2y = Math.log(yh) / Math.LN2;
    const lgAns = m * lg2y;
    if (lgAns <= -SM_MAX_EXPONENT) {
      maxExpt = Math.trunc(nextPowerOf2(-SM_MAX_EXPONENT / lg2y + 1) / 2);
    }
  }
  if (m <= maxExpt) {
    powD(m);
    ddFrexp();
    scaledExp = frexpExp + m * yE;
    return;
  }
  const q = Math.trunc(m / maxExpt);
  const r = m % maxExpt;
  pow2ScaledD(r);
  const y2rh = R[0];
  const y2rl = R[1];
  const y2rE = scaledExp;
  R[0] = yh;
  R[1] = yl;
  pow2ScaledD(maxExpt);
  const y2mE = scaledExp;
  pow2ScaledD(q);
  let y2mqE = scaledExp;
  ddMul(y2rh, y2rl, R[0], R[1]);
  ddFrexp();
  let ansE = frexpExp;
  y2mqE += y2mE * q;
  ansE += y2mqE + y2rE;
  ansE += m * yE;
  scaledExp = ansE;
}

/** pow4_D: ((a+b)/(c+d))**m in double-double. */
function pow4D(a: number, b: number, c: number, d: number, m: number): void {
  if (m <= 0) {
    if (m === 0) {
      R[0] = 1;
      R[1] = 0;
      return;
    }
    pow4D(c, d, a, b, -m);
    return;
  }
  ddAddD(a, 0, b);
  const Ah = R[0];
  const Al = R[1];
  ddAddD(c, 0, d);
  const Ch = R[0];
  const Cl = R[1];
  if (Ah === 0 && Al === 0) {
    R[0] = Ch === 0 && Cl === 0 ? NaN : 0;
    R[1] = R[0];
    return;
  }
  if (Ch === 0 && Cl === 0) {
    R[0] = Ah < 0 || (Ah === 0 && Al < 0) ? -Infinity : Infinity;
    R[1] = R[0];
    return;
  }
  ddDiv(Ah, Al, Ch, Cl);
  powD(m);
}

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
  const bUseUpperSum =
    (nUpperTerms <= 1 && x < 0.5) ||
    (n >= SM_UPPERSUM_MIN_N && nUpperTerms <= SM_UPPER_MAX_TERMS && x <= 0.5 / Math.sqrt(n));

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
  let cE = frexpExp;

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
      const t2E = scaledExp;
      ddDiv(v, 0, n, 0);
      ddAddD(R[0], R[1], x);
      pow2ScaledD(v - 1);
      const t1E = scaledExp;
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
        pe += frexpExp;
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
    cE += frexpExp;
    cH = R[0];
    cL = R[1];
  }
  ddMulD(sumH, sumL, x);
  const prob = R[0];
  const sf = step < 0 ? 1 - prob : prob;
  return sf < 0 ? 0 : sf > 1 ? 1 : sf;
}

// ---------------------------------------------------------------------------------------------
// Two-sided one-sample KS distribution (scipy.stats.kstwo), scipy/stats/_ksstats.py
// ---------------------------------------------------------------------------------------------

const E128 = 128;
const EP128 = pow2i(128);
const EM128 = pow2i(-128);
const SQRT2PI = 2.5066282746310002;
const LOG_2PI = 1.8378770664093453;
const MIN_LOG = -708;
const SQRT3 = 1.7320508075688772;
const PI_SQUARED = 9.869604401089358;
const PI_FOUR = 97.40909103400242;
const PI_SIX = 961.3891935753043;
const STIRLING_COEFFS = [
  -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3,
  8.4175084175084175084e-4, -5.952380952380952381e-4, 7.9365079365079365079e-4,
  -2.7777777777777777778e-3, 8.3333333333333333333e-2,
];

/** log(n! / n**n) via Stirling, as scipy's _log_nfactorial_div_n_pow_n. */
function logNFactorialDivNPowN(n: number): number {
  const rn = 1.0 / n;
  const x = rn / n;
  let y = 0;
  for (const c of STIRLING_COEFFS) y = y * x + c; // np.polyval
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * y;
}

/**
 * Multiply p by i/n for i = 1..n with scipy's 2**±128 rescaling. SciPy switches to numpy long
 * double once a rescale happens; we continue in double-double from that point.
 * Returns sf = 1 - cdf, where cdf = clip(ldexp(product, expnt)).
 */
function nFactorialOverNPowN(p0: number, expnt0: number, n: number): number {
  let p = p0;
  let expnt = expnt0;
  let i = 1;
  for (; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      break;
    }
  }
  if (i > n) {
    const cdf = clip01(expnt !== 0 ? ldexp(p, expnt) : p);
    return clip01(1.0 - cdf);
  }
  // long double region
  let ph = p * EP128;
  let pl = 0;
  expnt -= E128;
  for (i += 1; i <= n; i++) {
    ddMulD(ph, pl, i);
    ddDiv(R[0], R[1], n, 0);
    ph = R[0];
    pl = R[1];
    if (Math.abs(ph) < EM128) {
      ph *= EP128;
      pl *= EP128;
      expnt -= E128;
    }
  }
  return sfFromExtended(ph, pl, expnt);
}

/** clip(1 - clip(ldexp(P, expnt))) with P = (ph, pl) in double-double, rounded to double at the end. */
function sfFromExtended(ph: number, pl: number, expnt: number): number {
  let ch = expnt !== 0 ? ldexp(ph, expnt) : ph;
  let cl = expnt !== 0 ? ldexp(pl, expnt) : pl;
  if (ch < 0) {
    ch = 0;
    cl = 0;
  } else if (ch > 1 || (ch === 1 && cl > 0)) {
    ch = 1;
    cl = 0;
  }
  dSubDD(1.0, ch, cl);
  return clip01(R[0]);
}

/** Durbin matrix algorithm, Marsaglia–Tsang–Wang; returns the SF (1 - clipped CDF). */
function kolmognDMTWSf(n: number, d: number): number {
  if (d >= 1.0) return 0;
  const nd = n * d;
  if (nd <= 0.5) return 1;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;

  let H = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  for (let j = 1; j <= m; j++) v[j - 1] = 1.0 - Math.pow(h, j);
  let fac = 1.0;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] *= fac;
  }
  const tt = Math.pow(Math.max(2 * h - 1.0, 0), m) - 2 * Math.pow(h, m);
  v[m - 1] = (1.0 + tt) * fac;
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)];
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r];
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c];

  let Hpwr = new Float64Array(m * m);
  for (let r = 0; r < m; r++) Hpwr[r * m + r] = 1;
  let tmp = new Float64Array(m * m);
  let nn = n;
  let expnt = 0;
  let Hexpnt = 0;
  const kk = (k - 1) * m + (k - 1);
  while (nn > 0) {
    if (nn % 2) {
      matmul(Hpwr, H, tmp, m);
      const t = Hpwr;
      Hpwr = tmp;
      tmp = t;
      expnt += Hexpnt;
    }
    nn = Math.floor(nn / 2);
    if (nn === 0) break; // the remaining squaring would be unused
    matmul(H, H, tmp, m);
    const t = H;
    H = tmp;
    tmp = t;
    Hexpnt *= 2;
    if (Math.abs(H[kk]) > EP128) {
      for (let i = 0; i < m * m; i++) H[i] /= EP128;
      Hexpnt += E128;
    }
  }
  return nFactorialOverNPowN(Hpwr[kk], expnt, n);
}

/** out = A @ B for m×m row-major matrices (out must not alias A or B). */
function matmul(A: Float64Array, B: Float64Array, out: Float64Array, m: number): void {
  out.fill(0);
  for (let i = 0; i < m; i++) {
    const io = i * m;
    for (let l = 0; l < m; l++) {
      const a = A[io + l];
      if (a === 0) continue;
      const lo = l * m;
      for (let j = 0; j < m; j++) out[io + j] += a * B[lo + j];
    }
  }
}

/** Python slice bounds [start:stop] on a sequence of length len (step 1). */
function pySlice(len: number, start: number, stop: number): [number, number] {
  let s = start < 0 ? Math.max(len + start, 0) : Math.min(start, len);
  let e = stop < 0 ? Math.max(len + stop, 0) : Math.min(stop, len);
  if (e < s) e = s;
  return [s, e];
}

function pomeranzJ1J2(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pomeranz recursion; returns the SF (1 - clipped CDF). */
function kolmognPomeranzSf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = 1.0 * (t - ll);
  const g = Math.min(f, 1.0 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1.0;
  twogpower[0] = 1.0;
  onem2gpower[0] = 1.0;
  let expnt = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1] * gOverN) / m;
    twogpower[m] = (twogpower[m - 1] * twoGOverN) / m;
    onem2gpower[m] = (onem2gpower[m - 1] * oneMinusTwoGOverN) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  const conv = new Float64Array(2 * npwrs + 1);
  let [j1, j2] = pomeranzJ1J2(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    const tv = V0;
    V0 = V1;
    V1 = tv;
    const ts = V0s;
    V0s = V1s;
    V1s = ts;
    V1.fill(0.0);
    [j1, j2] = pomeranzJ1J2(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      const [as, ae] = pySlice(npwrs, k1 - V0s, k1 - V0s + ln2);
      const [, be] = pySlice(npwrs, 0, ln2);
      const la = ae - as;
      const lb = be;
      // full convolution of V0[as:ae] and pwrs[:lb]
      const lc = la > 0 && lb > 0 ? la + lb - 1 : 0;
      for (let c = 0; c < lc; c++) {
        let s = 0;
        const lo = Math.max(0, c - lb + 1);
        const hi = Math.min(c, la - 1);
        for (let q = lo; q <= hi; q++) s += V0[as + q] * pwrs[c - q];
        conv[c] = s;
      }
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      const [cs, ce] = pySlice(lc, convStart, convStart + convLen);
      const [, de] = pySlice(npwrs, 0, convLen);
      const cnt = Math.min(ce - cs, de);
      for (let q = 0; q < cnt; q++) V1[q] = conv[cs + q];
      let mx = -Infinity;
      for (let q = 0; q < npwrs; q++) if (V1[q] > mx) mx = V1[q];
      if (mx > 0 && mx < EM128) {
        for (let q = 0; q < npwrs; q++) V1[q] *= EP128;
        expnt -= E128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  // multiply by n!
  const idx = n - V1s;
  let ans = V1[idx < 0 ? idx + npwrs : idx];
  let m = 1;
  for (; m <= n; m++) {
    if (Math.abs(ans) > EP128) break;
    ans *= m;
  }
  if (m > n) {
    const cdf = clip01(expnt !== 0 ? ldexp(ans, expnt) : ans);
    return clip01(1.0 - cdf);
  }
  // long double region (numpy long double in scipy): continue in double-double
  let ah = ans;
  let al = 0;
  for (; m <= n; m++) {
    if (Math.abs(ah) > EP128) {
      ah *= EM128;
      al *= EM128;
      expnt += E128;
    }
    ddMulD(ah, al, m);
    ah = R[0];
    al = R[1];
  }
  return sfFromExtended(ah, al, expnt);
}

/** Pelz–Good approximation to the CDF Pr(D_n <= x). */
function kolmognPelzGoodCdf(n: number, x: number): number {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const z = Math.sqrt(n) * x;
  const zsquared = Math.pow(z, 2);
  const zthree = Math.pow(z, 3);
  const zfour = Math.pow(z, 4);
  const zsix = Math.pow(z, 6);

  const qlog = -PI_SQUARED / 8 / zsquared;
  if (qlog < MIN_LOG) return 0.0;
  let q = Math.exp(qlog);

  const k1a = -zsquared;
  const k1b = PI_SQUARED / 4;
  const k2a = 6 * zsix + 2 * zfour;
  const k2b = ((2 * zfour - 5 * zsquared) * PI_SQUARED) / 4;
  const k2c = (PI_FOUR * (1 - 2 * zsquared)) / 16;
  const k3d = (PI_SIX * (5 - 30 * zsquared)) / 64;
  const k3c = (PI_FOUR * (-60 * zsquared + 212 * zfour)) / 16;
  const k3b = (PI_SQUARED * (135 * zfour - 96 * zsix)) / 4;
  const k3a = -30 * zsix - 90 * Math.pow(z, 8);

  let K0 = 0;
  let K1 = 0;
  let K2 = 0;
  let K3 = 0;
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const msquared = m * m;
    const mfour = msquared * msquared;
    const msix = mfour * msquared;
    const qpower = Math.pow(q, 8 * k);
    const c1 = k1a + k1b * msquared;
    const c2 = k2a + k2b * msquared + k2c * mfour;
    const c3 = k3a + k3b * msquared + k3c * mfour + k3d * msix;
    K0 = K0 * qpower + 1.0;
    K1 = K1 * qpower + c1;
    K2 = K2 * qpower + c2;
    K3 = K3 * qpower + c3;
  }
  K0 *= q;
  K1 *= q;
  K2 *= q;
  K3 *= q;
  K0 *= SQRT2PI;
  K1 *= SQRT2PI;
  K2 *= SQRT2PI;
  K3 *= SQRT2PI;
  K0 /= z;
  K1 /= 6 * zfour;
  K2 /= 72 * Math.pow(z, 7);
  K3 /= 6480 * Math.pow(z, 10);

  q = Math.exp(-PI_SQUARED / 2 / zsquared);
  const sqrt3z = SQRT3 * z;
  const t2 = new Float64Array(maxk);
  const t3 = new Float64Array(maxk);
  for (let idx = 0; idx < maxk; idx++) {
    const k = maxk - idx;
    const ksquared = k * k;
    const kspi = Math.PI * k;
    const qpw = Math.pow(q, ksquared);
    t2[idx] = ksquared * qpw;
    t3[idx] = (sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpw;
  }
  let k2extra = pairwiseSum(t2, 0, maxk);
  k2extra *= (PI_SQUARED * SQRT2PI) / (-36 * zthree);
  K2 += k2extra;
  let k3extra = pairwiseSum(t3, 0, maxk);
  k3extra *= (PI_SQUARED * SQRT2PI) / (216 * zsix);
  K3 += k3extra;
  K1 /= Math.pow(n, 0.5);
  K2 /= n;
  K3 /= Math.pow(n, 1.5);
  return 0 + K0 + K1 + K2 + K3;
}

/** scipy _kolmogn(n, x, cdf=False) for integer n >= 1. */
function kolmognSf(n: number, x: number): number {
  if (x >= 1.0) return 0;
  if (x <= 0.0) return 1;
  const t = n * x;
  if (t <= 1.0) {
    // Ruben–Gambino: 1/2n <= x <= 1/n
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      const inv = 1.0 / n;
      const tt = 2 * t - 1;
      prob = 1 * inv * tt;
      for (let i = 2; i <= n; i++) prob *= i * inv * tt;
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1.0 - prob);
  }
  if (t >= n - 1) {
    // Ruben–Gambino
    return clip01(2 * Math.pow(1.0 - x, n));
  }
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));

  const nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) return kolmognDMTWSf(n, x);
    if (nxsquared <= 4) return kolmognPomeranzSf(n, x);
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxsquared >= 370.0) return 0.0;
  if (nxsquared >= 2.2) return clip01(2 * smirnovSf(n, x));
  // (nxsquared >= 18 cannot happen here: handled above for the SF)
  if (n <= 100000 && n * Math.pow(x, 1.5) <= 1.4) return kolmognDMTWSf(n, x);
  return clip01(1.0 - clip01(kolmognPelzGoodCdf(n, x)));
}

/**
 * Survival function of the two-sided one-sample KS statistic, Pr(D_n >= d)
 * (== scipy.stats.kstwo.sf(d, n)). n must be a positive integer, otherwise NaN (as SciPy).
 */
export function kolmogorovSmirnovSf(d: number, n: number): number {
  if (Number.isNaN(d) || Number.isNaN(n)) return NaN;
  if (!(n >= 1 && n === roundHalfEven(n))) return NaN;
  if (d <= 0.5 / n) return 1.0;
  if (!(d < 1.0)) return 0.0;
  return kolmognSf(n, d);
}

// ---------------------------------------------------------------------------------------------
// Exact two-sample distribution (scipy _attempt_exact_2kssamp and helpers)
// ---------------------------------------------------------------------------------------------

/** Pr(D_{n,n} >= h/n) (scipy _compute_prob_outside_square). */
function probOutsideSquare(n: number, h: number): number {
  let P = 0.0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1.0;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1.0 - P);
    k -= 1;
  }
  return 2 * P;
}

/** Proportion of lattice paths not staying strictly inside |x/m - y/n| < h/lcm (pythran kernel). */
function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  let m = m0;
  let n = n0;
  if (m < n) {
    m = n0;
    n = m0;
  }
  const mg = Math.floor(m / g);
  const ng = Math.floor(n / g);
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1.0);
  A.fill(0.0, minj, Math.min(maxj, lenA));
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.max(Math.floor((ng * i - h) / mg) + 1, 0);
    minj = Math.min(minj, n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1.0;
    let val = minj === 0 ? 0.0 : 1.0;
    const span = maxj - minj;
    const off = minj - lastminj;
    for (let jj = 0; jj < span; jj++) {
      const j = jj + minj;
      val = (A[jj + off] * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = span;
    if (lastlen > curlen) {
      A.fill(1, Math.min(span, lenA), Math.min(span + (lastlen - curlen), lenA));
    }
  }
  return A[maxj - minj - 1];
}

// ---------------------------------------------------------------------------------------------
// Statistic and test
// ---------------------------------------------------------------------------------------------

/**
 * Two-sided KS statistic D = max |F1 - F2| over the pooled values, with ties handled as SciPy
 * (ECDFs evaluated with searchsorted 'right', i.e. after every run of equal values on both sides).
 * Inputs must be sorted ascending (not checked here) and contain no NaN (throws).
 */
export function ksStatistic(sortedA: Float64Array, sortedB: Float64Array): { statistic: number } {
  const n1 = sortedA.length;
  const n2 = sortedB.length;
  if (n1 < 1 || n2 < 1) throw new Error('ksStatistic: both samples need at least 1 observation');
  let i = 0;
  let j = 0;
  let maxS = -Infinity;
  let minS = Infinity;
  while (i < n1 || j < n2) {
    let v: number;
    if (i < n1 && j < n2) v = sortedA[i] <= sortedB[j] ? sortedA[i] : sortedB[j];
    else if (i < n1) v = sortedA[i];
    else v = sortedB[j];
    const i0 = i;
    const j0 = j;
    while (i < n1 && sortedA[i] === v) i++;
    while (j < n2 && sortedB[j] === v) j++;
    if (i === i0 && j === j0) throw new Error('ksStatistic: samples must not contain NaN');
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  let negMin = -minS;
  if (negMin < 0) negMin = 0;
  else if (negMin > 1) negMin = 1;
  return { statistic: negMin > maxS ? negMin : maxS };
}

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
