/**
 * Multiple-testing adjustment of p-values.
 *
 *  - 'none': p-values returned unchanged (copied);
 *  - 'bonferroni': min(1, m * p);
 *  - 'fdr': Benjamini–Hochberg adjusted p-values, computed exactly as statsmodels
 *    `multipletests(p, method='fdr_bh')[1]`: sort ascending, p_(i) / (i / m), cumulative minimum
 *    from the largest rank down, values above 1 set to 1, restored to the input order.
 */

export type PValueCorrection = 'none' | 'bonferroni' | 'fdr';

export function adjustPValues(pValues: readonly number[], correction: PValueCorrection): number[] {
  const m = pValues.length;
  for (let i = 0; i < m; i++) {
    const p = pValues[i];
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new Error(`adjustPValues: p-value at index ${i} is not in [0, 1]: ${String(p)}`);
    }
  }
  switch (correction) {
    case 'none':
      return pValues.slice();
    case 'bonferroni':
      return pValues.map((p) => Math.min(1, p * m));
    case 'fdr': {
      const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => pValues[a] - pValues[b] || a - b);
      const out = new Array<number>(m);
      let running = Infinity;
      for (let r = m - 1; r >= 0; r--) {
        const idx = order[r];
        // statsmodels: pvals_sorted / ecdffactor with ecdffactor = arange(1, m+1) / m
        const raw = pValues[idx] / ((r + 1) / m);
        if (raw < running) running = raw;
        out[idx] = running > 1 ? 1 : running;
      }
      return out;
    }
    default:
      throw new Error(`adjustPValues: unknown correction ${String(correction)}`);
  }
}
