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
