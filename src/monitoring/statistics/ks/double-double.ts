/**
 * Double-double arithmetic as xsf's cephes/dd_real.h has it (from the qd package), and C's frexp
 * beside its double-double twin: the exponent both leave in `frexpExp`.
 *
 * The double-double routines derive from the qd package, Copyright (c) 2003-2009, The Regents of
 * the University of California, through Lawrence Berkeley National Laboratory, distributed under
 * the modified BSD (BSD-LBNL) licence.
 */
import { F64, HI, ldexp, POW2, U32 } from './float.js';

/** The exponent of the last frexp or ddFrexp (their second result, as C's out-parameter). */
export const FREXP_EXP = new Float64Array(1);
/** C frexp: returns the mantissa in [0.5, 1) (sign kept) and stores the exponent in frexpExp. */
export function frexp(x: number): number {
  if (x === 0 || !Number.isFinite(x)) {
    FREXP_EXP[0] = 0;
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
  FREXP_EXP[0] = ex - 1022 + adj;
  U32[HI] = ((U32[HI] & 0x800fffff) | (1022 << 20)) >>> 0;
  return F64[0];
}

// Allocation-free: a value is a (hi, lo) pair of numbers; every operation leaves its result in the
// registers R = [hi, lo]. two_prod uses Dekker's split, which yields the same exact error term as
// the fma in xsf.

/** Result registers [hi, lo] (a typed array, so writes never box a number). */
export const R = new Float64Array(2);
const SPLITTER = 134217729.0; // 2^27 + 1

/** (ah, al) + (bh, bl) — IEEE-style addition (Briggs/Kahan). */
export function ddAdd(ah: number, al: number, bh: number, bl: number): void {
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
export function ddAddD(ah: number, al: number, b: number): void {
  const s1 = ah + b;
  const c = s1 - ah;
  let s2 = ah - (s1 - c) + (b - c);
  s2 += al;
  const s = s1 + s2;
  R[1] = s2 - (s - s1);
  R[0] = s;
}

/** a - (bh, bl). */
export function dSubDD(a: number, bh: number, bl: number): void {
  const s1 = a - bh;
  const c = s1 - a;
  let s2 = a - (s1 - c) + (-bh - c);
  s2 -= bl;
  const s = s1 + s2;
  R[1] = s2 - (s - s1);
  R[0] = s;
}

/** (ah, al) * (bh, bl). */
export function ddMul(ah: number, al: number, bh: number, bl: number): void {
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
export function ddMulD(ah: number, al: number, b: number): void {
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
export function ddDiv(ah: number, al: number, bh: number, bl: number): void {
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
export function ddDivDouble(ah: number, al: number, b: number): void {
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
export function ddFloor(ah: number, al: number): void {
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
export function ddFrexp(): void {
  const ah = R[0];
  if (ah === 0 || !Number.isFinite(ah)) {
    FREXP_EXP[0] = 0;
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
  FREXP_EXP[0] = exponent;
  R[0] = man;
  R[1] = b1;
}
