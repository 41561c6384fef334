/**
 * The exact distribution of the two-sample KS statistic (scipy/stats/_stats_py.py
 * `_compute_prob_outside_square`, and the pythran kernel `_compute_outer_prob_inside_method` of
 * scipy/stats/_stats_pythran.py): the p-value of method 'exact'.
 */

/** Pr(D_{n,n} >= h/n) (scipy _compute_prob_outside_square). */
export function probOutsideSquare(n: number, h: number): number {
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
export function outerProbInside(m0: number, n0: number, g: number, h: number): number {
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
