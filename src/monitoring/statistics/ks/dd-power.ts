/**
 * Powers of double-doubles from xsf cephes/kolmogorov.h (`pow_D`, `pow2`, `pow2Scaled_D`,
 * `pow4_D`, `nextPowerOf2`), used by smirnovSf: results in R (scaled ones with their exponent in
 * `scaledExp`).
 */
import { ddAddD, ddDiv, ddFrexp, ddMul, FREXP_EXP, R } from './double-double.js';
import { ldexp } from './float.js';

const SM_MAX_EXPONENT = 960;

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
export function pow2(a: number, b: number, m: number): number {
  ddAddD(a, 0, b);
  powD(m);
  return R[0];
}

export const SCALED_EXP = new Float64Array(1);
/** pow2Scaled_D, in place on R: R**m = R' * 2**scaledExp with 0.5 <= |R'[0]| <= 1. */
export function pow2ScaledD(m: number): void {
  let maxExpt = SM_MAX_EXPONENT;
  if (m <= 0) {
    if (m === 0) {
      SCALED_EXP[0] = 0;
      R[0] = 1;
      R[1] = 0;
      return;
    }
    pow2ScaledD(-m);
    const aE1 = SCALED_EXP[0];
    ddDiv(1, 0, R[0], R[1]);
    ddFrexp();
    SCALED_EXP[0] = -aE1 + FREXP_EXP[0];
    return;
  }
  ddFrexp();
  const yh = R[0];
  const yl = R[1];
  const yE = FREXP_EXP[0];
  if (m === 1) {
    SCALED_EXP[0] = yE;
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
    SCALED_EXP[0] = FREXP_EXP[0] + m * yE;
    return;
  }
  const q = Math.trunc(m / maxExpt);
  const r = m % maxExpt;
  pow2ScaledD(r);
  const y2rh = R[0];
  const y2rl = R[1];
  const y2rE = SCALED_EXP[0];
  R[0] = yh;
  R[1] = yl;
  pow2ScaledD(maxExpt);
  const y2mE = SCALED_EXP[0];
  pow2ScaledD(q);
  let y2mqE = SCALED_EXP[0];
  ddMul(y2rh, y2rl, R[0], R[1]);
  ddFrexp();
  let ansE = FREXP_EXP[0];
  y2mqE += y2mE * q;
  ansE += y2mqE + y2rE;
  ansE += m * yE;
  SCALED_EXP[0] = ansE;
}

/** pow4_D: ((a+b)/(c+d))**m in double-double. */
export function pow4D(a: number, b: number, c: number, d: number, m: number): void {
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
