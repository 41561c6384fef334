/** Float helpers with C and numpy semantics (ldexp, rounding, pairwise sums) for the KS ports. */

export const F64 = new Float64Array(1);
export const U32 = new Uint32Array(F64.buffer);
// Index of the high 32-bit word of a float64 (little-endian, as on every Node platform).
export const HI = 1;

/** POW2[e + 1074] = 2**e exactly, for e in [-1074, 1023]. */
export const POW2 = (() => {
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
export const pow2i = (e: number): number => POW2[e + 1074];

/** C ldexp: x * 2**e rounded once (a single product by an exact power of two when possible). */
export function ldexp(x: number, e: number): number {
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

/** numpy.round / rint: round half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

export function clip01(p: number): number {
  // like np.clip, NaN stays NaN
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

export function gcd(a: number, b: number): number {
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
export function pairwiseSum(a: Float64Array, start: number, n: number): number {
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
