/**
 * The two-sided one-sample KS distribution's survival function, scipy.stats.kstwo.sf
 * (scipy/stats/_continuous_distns.py, and `_kolmogn`, `_kolmogn_PelzGood`,
 * `_log_nfactorial_div_n_pow_n` and the Ruben–Gambino closed forms of scipy/stats/_ksstats.py):
 * the p-value of the asymptotic two-sample method. Each range of n·d² goes to the algorithm SciPy
 * picks for it.
 */
import { kolmognDMTWSf, kolmognPomeranzSf } from './kstwo-recursions.js';
import { clip01, pairwiseSum, roundHalfEven } from './float.js';
import { smirnovSf } from './smirnov.js';

const SQRT2PI = 2.5066282746310002;
const LOG_2PI = 1.8378770664093453;
const MIN_LOG = -708;
const SQRT3 = 1.7320508075688772;
const PI_SQUARED = 9.869604401089358;
const PI_FOUR = 97.40909103400242;
const PI_SIX = 961.3891935753043;
// The literals as scipy's C source writes them; as in C, each is read as the nearest double.
/* eslint-disable no-loss-of-precision */
const STIRLING_COEFFS = [
  -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4, -5.952380952380952381e-4, 7.9365079365079365079e-4,
  -2.7777777777777777778e-3, 8.3333333333333333333e-2,
];
/* eslint-enable no-loss-of-precision */

/** log(n! / n**n) via Stirling, as scipy's _log_nfactorial_div_n_pow_n. */
function logNFactorialDivNPowN(n: number): number {
  const rn = 1.0 / n;
  const x = rn / n;
  let y = 0;
  for (const c of STIRLING_COEFFS) y = y * x + c; // np.polyval
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * y;
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
