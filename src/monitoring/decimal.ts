/**
 * The double nearest a decimal of 16 to 19 significant digits, m × 10^scale with -22 ≤ scale ≤ 0
 * (m = hi × 10^r + lo: hi its first 15 digits, lo the r ≤ 4 others): what Number() gives for the text,
 * without the text. Such cells are what pandas' to_csv writes for computed floats (shortest
 * round-trip, ~17 digits). Returns NaN outside that range (the caller then uses Number()).
 *
 * How it is exact: m < 2^64 is held exactly as a sum of two doubles (Dekker's product and Knuth's
 * sum); q = fl(mh / P), P = 10^-scale (an exact double), is within 1.5 ulp of m / P; the residual
 * m - q·P is a sum of doubles whose sign against ±P·ulp/2 (exact products of P by powers of two)
 * is decided exactly with Shewchuk's expansion arithmetic; q steps to its neighbour until neither
 * is nearer, ties to even: the correctly rounded quotient, the double Number() returns.
 */

const POW10 = Float64Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
/** Veltkamp's splitter for doubles: 2^27 + 1. */
const SPLITTER = 134217729;
const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
/** A product or sum's rounding error, beside its result (module state: no allocation per call). */
let err = 0;

function twoSum(a: number, b: number): number {
  const s = a + b;
  const bb = s - a;
  err = a - (s - bb) + (b - bb);
  return s;
}

function twoProduct(a: number, b: number): number {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  err = ah * bh - p + ah * bl + al * bh + al * bl;
  return p;
}

/** The sign (-1, 0, 1) of a + b + c + d, exactly: the largest non-zero part of their expansion (Shewchuk's Grow-Expansion). */
function signOfSum(a: number, b: number, c: number, d: number): number {
  // Expansion of a + b: [e0, e1]; then of + c: [f0, f1, f2]; then of + d: [g0, g1, g2, g3] (increasing magnitude).
  const e1 = twoSum(b, a);
  const e0 = err;
  let q = twoSum(c, e0);
  const f0 = err;
  const f2 = twoSum(q, e1);
  const f1 = err;
  q = twoSum(d, f0);
  const g0 = err;
  q = twoSum(q, f1);
  const g1 = err;
  const g3 = twoSum(q, f2);
  const g2 = err;
  const top = g3 !== 0 ? g3 : g2 !== 0 ? g2 : g1 !== 0 ? g1 : g0;
  return top > 0 ? 1 : top < 0 ? -1 : 0;
}

export function nearestDecimal(hi: number, r: number, lo: number, scale: number): number {
  if (scale < -22 || scale > 0 || r < 1 || r > 4) return Number.NaN;
  // m = mh + ml exactly: hi·10^r = p + e (exact); p + lo = mh + t (exact); t + e is a sum of two
  // small integers, exact.
  const p = twoProduct(hi, POW10[r]);
  const e = err;
  const mh = twoSum(p, lo);
  const ml = err + e;
  const P = POW10[-scale];
  // fl(mh / P) is within 1.5 ulp of m / P (ml is up to an ulp of m): step to the nearest, at most twice.
  let q = mh / P;
  for (let step = 0; step < 3; step++) {
    bits[0] = q;
    const exponent = (words[1] >>> 20) & 0x7ff;
    if (exponent <= 53 || exponent >= 0x7fe) return Number.NaN; // outside this range of m and scale; Number() decides
    const odd = (words[0] & 1) === 1;
    const powerOfTwo = (words[1] & 0xfffff) === 0 && words[0] === 0;
    // ulp(q) above q; below q the same, or half of it when q is a power of two.
    bits[0] = 0;
    words[1] = (exponent - 52) << 20;
    const up = bits[0];
    const down = powerOfTwo ? up / 2 : up;
    // The residual m - q·P = (mh - qp) + ml - qe, with mh - qp exact (Sterbenz: qp is within a
    // factor of two of mh). P·up/2 and P·down/2 are exact (P times a power of two).
    const qp = twoProduct(q, P);
    const qe = err;
    const d1 = mh - qp;
    // The residual in plain arithmetic is off by far less than 1% of P·ulp/2 (its terms are
    // within a few ulps of m·2^-52): clearly inside both half-ulps, q is the nearest.
    const halfUp = (P * up) / 2;
    const halfDown = (P * down) / 2;
    const approx = d1 + ml - qe;
    if (approx < 0.99 * halfUp && approx > -0.99 * halfDown) return q;
    // Past q + up/2 (or at it, q odd): q + up is nearer. Past q - down/2 (or at it, q odd): q - down.
    const above = signOfSum(d1, ml, -qe, -halfUp);
    if (above > 0 || (above === 0 && odd)) {
      q += up;
      continue;
    }
    const below = signOfSum(d1, ml, -qe, halfDown);
    if (below < 0 || (below === 0 && odd)) {
      q -= down;
      continue;
    }
    return q;
  }
  return Number.NaN;
}
