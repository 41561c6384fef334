/**
 * The exact algorithms behind scipy.stats.kstwo.sf for small n·d² (scipy/stats/_ksstats.py):
 * the Durbin matrix of Marsaglia–Tsang–Wang (`_kolmogn_DMTW`) and Pomeranz's recursion
 * (`_kolmogn_Pomeranz`, `_pomeranz_compute_j1j2`). Both answer the SF, 1 - clipped CDF.
 *
 * Where SciPy continues in numpy long double (the n!/n^n products once their 2**±128 rescaling
 * kicks in) this port continues in double-double. BLAS matrix products and np.convolve's dot
 * products are summed in natural order; Math.pow may differ from glibc by an ulp, so results
 * match SciPy to a few ulp rather than always bit for bit.
 */
import { ddMulD, ddDiv, dSubDD, R } from './double-double.js';
import { clip01, ldexp, pow2i } from './float.js';

const E128 = 128;
const EP128 = pow2i(128);
const EM128 = pow2i(-128);

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
export function kolmognDMTWSf(n: number, d: number): number {
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
  const s = start < 0 ? Math.max(len + start, 0) : Math.min(start, len);
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
export function kolmognPomeranzSf(n: number, x: number): number {
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
