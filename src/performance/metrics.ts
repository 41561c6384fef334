import { meanInterval, meanVar, normalInterval, wilsonInterval, type Interval } from './stats.js';

/**
 * Metrics of a version's outcomes, as scikit-learn computes them on the same data, each with n
 * and an interval at `confidence` (0.95 in answers):
 * - means of per-outcome values (MAE, bias, log loss, Brier) and MSE: Student's t interval;
 *   RMSE's is the square root of MSE's;
 * - proportions (accuracy, precision, recall): Wilson's score interval;
 * - R² and F1: the delta method on the means they are ratios of (normal interval);
 * - ROC AUC: DeLong's variance (normal interval, clipped to [0, 1]).
 */

export interface MetricValue {
  value: number;
  n: number;
  interval: Interval | null;
}

export interface RegressionMetrics {
  r2: MetricValue | null;
  mae: MetricValue;
  rmse: MetricValue;
  /** Mean of prediction − actual. */
  bias: MetricValue;
}

export interface ClassMetrics {
  label: string;
  support: number;
  precision: MetricValue | null;
  recall: MetricValue | null;
  f1: MetricValue | null;
}

export interface ClassificationMetrics {
  accuracy: MetricValue;
  classes: ClassMetrics[];
  logLoss: MetricValue | null;
  brier: MetricValue | null;
  /** Binary models only: the second class label is the positive one (scikit-learn's pos_label for sorted labels). */
  rocAuc: MetricValue | null;
}

const metric = (value: number, n: number, interval: Interval | null): MetricValue => ({ value, n, interval });

export function regressionMetrics(predicted: ArrayLike<number>, actual: ArrayLike<number>, confidence: number): RegressionMetrics {
  const n = actual.length;
  const err = new Float64Array(n);
  const abs = new Float64Array(n);
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    err[i] = predicted[i] - actual[i];
    abs[i] = Math.abs(err[i]);
    sq[i] = err[i] * err[i];
  }
  const e = meanVar(err);
  const a = meanVar(abs);
  const s = meanVar(sq);
  const mseInterval = meanInterval(n, s.mean, s.variance, confidence);
  return {
    r2: r2(actual, sq, s.mean, confidence),
    mae: metric(a.mean, n, meanInterval(n, a.mean, a.variance, confidence)),
    rmse: metric(Math.sqrt(s.mean), n, mseInterval && { low: Math.sqrt(Math.max(0, mseInterval.low)), high: Math.sqrt(mseInterval.high) }),
    bias: metric(e.mean, n, meanInterval(n, e.mean, e.variance, confidence)),
  };
}

/**
 * R² = 1 − mean(sq)/mean(dev), dev the squared deviations of the actual values from their mean
 * (sklearn r2_score; a constant actual gives 1 for perfect predictions, else 0, as sklearn's
 * force_finite). Interval: the delta method on the ratio of the two means, with their sample
 * (co)variances.
 */
function r2(actual: ArrayLike<number>, sq: Float64Array, mse: number, confidence: number): MetricValue | null {
  const n = actual.length;
  if (n < 2) return null;
  const y = meanVar(actual);
  const dev = new Float64Array(n);
  for (let i = 0; i < n; i++) dev[i] = (actual[i] - y.mean) ** 2;
  const d = meanVar(dev);
  if (!(d.mean > 0)) return metric(mse === 0 ? 1 : 0, n, null);
  const s = meanVar(sq);
  let cov = 0;
  for (let i = 0; i < n; i++) cov += (sq[i] - s.mean) * (dev[i] - d.mean);
  cov /= n - 1;
  const ratio = s.mean / d.mean;
  const variance = (s.variance - 2 * ratio * cov + ratio * ratio * d.variance) / (n * d.mean * d.mean);
  return metric(1 - ratio, n, normalInterval(1 - ratio, Math.sqrt(Math.max(0, variance)), confidence));
}

/** What an outcome's class probabilities add to the probability metrics, computed once when it is recorded. */
export interface ProbabilityTerms {
  /** The probability given to the actual class (log loss). */
  pActual: number;
  /** sklearn brier_score_loss's term: Σ over classes of (p − y)², halved for two classes (scale_by_half 'auto'). */
  brier: number;
  /** The second class's probability, for a binary model (ROC AUC); else null. */
  pPositive: number | null;
}

export function probabilityTerms(probabilities: ArrayLike<number>, actual: number): ProbabilityTerms {
  let brier = 0;
  for (let c = 0; c < probabilities.length; c++) brier += (probabilities[c] - (c === actual ? 1 : 0)) ** 2;
  const k = probabilities.length;
  return { pActual: probabilities[actual], brier: k <= 2 ? brier / 2 : brier, pPositive: k === 2 ? probabilities[1] : null };
}

/** Each outcome's probability terms, column by column; pPositive only for a binary model. */
export interface ScoreColumns {
  pActual: ArrayLike<number>;
  brier: ArrayLike<number>;
  pPositive: ArrayLike<number> | null;
}

/**
 * `predicted` and `actual` are labels of `labels` (the version's class labels, in probability
 * order); `scores` holds each outcome's probability terms, or is null when the model answers
 * labels only.
 */
export function classificationMetrics(
  labels: readonly string[],
  predicted: readonly string[],
  actual: readonly string[],
  scores: ScoreColumns | null,
  confidence: number,
): ClassificationMetrics {
  const n = actual.length;
  const k = labels.length;
  const index = new Map(labels.map((l, i) => [l, i]));
  const tp = new Float64Array(k);
  const predictedCount = new Float64Array(k);
  const support = new Float64Array(k);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const a = index.get(actual[i]) as number;
    const p = index.get(predicted[i]);
    support[a]++;
    if (p !== undefined) predictedCount[p]++;
    if (p === a) {
      correct++;
      tp[a]++;
    }
  }
  const classes = labels.map((label, c) => {
    const fp = predictedCount[c] - tp[c];
    const fn = support[c] - tp[c];
    const precision = predictedCount[c] ? metric(tp[c] / predictedCount[c], predictedCount[c], wilsonInterval(tp[c], predictedCount[c], confidence)) : null;
    const recall = support[c] ? metric(tp[c] / support[c], support[c], wilsonInterval(tp[c], support[c], confidence)) : null;
    return { label, support: support[c], precision, recall, f1: f1(tp[c], fp, fn, n, confidence) };
  });
  return {
    accuracy: metric(correct / n, n, wilsonInterval(correct, n, confidence)),
    classes,
    logLoss: scores && n ? perOutcomeMean(n, (i) => -Math.log(Math.min(1 - EPS, Math.max(EPS, scores.pActual[i]))), confidence) : null,
    brier: scores && n ? perOutcomeMean(n, (i) => scores.brier[i], confidence) : null,
    rocAuc: scores?.pPositive && k === 2 ? rocAuc(scores.pPositive, actual, labels[1], confidence) : null,
  };
}

/** float64's machine epsilon: sklearn clips probabilities to [eps, 1 − eps] before the log. */
const EPS = 2 ** -52;

function perOutcomeMean(n: number, value: (i: number) => number, confidence: number): MetricValue {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = value(i);
  const m = meanVar(x);
  return metric(m.mean, n, meanInterval(n, m.mean, m.variance, confidence));
}

/**
 * F1 = 2tp/(2tp + fp + fn) and the delta-method interval over the multinomial shares of tp, fp
 * and fn among the n outcomes. Null when the class is neither predicted nor present.
 */
function f1(tp: number, fp: number, fn: number, n: number, confidence: number): MetricValue | null {
  const denominator = 2 * tp + fp + fn;
  if (!denominator) return null;
  const value = (2 * tp) / denominator;
  const [ptp, pfp, pfn] = [tp / n, fp / n, fn / n];
  const d = 2 * ptp + pfp + pfn;
  const g = [(2 * (pfp + pfn)) / (d * d), (-2 * ptp) / (d * d), (-2 * ptp) / (d * d)];
  const p = [ptp, pfp, pfn];
  let variance = 0;
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) variance += g[i] * g[j] * ((i === j ? p[i] : 0) - p[i] * p[j]);
  return metric(value, n, normalInterval(value, Math.sqrt(Math.max(0, variance / n)), confidence, 0, 1));
}

/**
 * ROC AUC of the positive label's probability (sklearn roc_auc_score; ties count half) and
 * DeLong's variance. Each side sorted on its own (a typed array's numeric sort), then one merge
 * gives every positive the share of negatives below it (V10) and every negative the share of
 * positives above it (V01), ties counting half: AUC = mean(V10). Null without both classes.
 */
function rocAuc(pPositive: ArrayLike<number>, actual: readonly string[], positive: string, confidence: number): MetricValue | null {
  let m = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i] === positive) m++;
  const n = actual.length - m;
  if (!m || !n) return null;
  const pos = new Float64Array(m);
  const neg = new Float64Array(n);
  for (let i = 0, a = 0, b = 0; i < actual.length; i++) {
    if (actual[i] === positive) pos[a++] = pPositive[i];
    else neg[b++] = pPositive[i];
  }
  pos.sort();
  neg.sort();
  const v10 = sharesBelow(pos, neg);
  const above = sharesBelow(neg, pos);
  const v01 = new Float64Array(n);
  for (let j = 0; j < n; j++) v01[j] = 1 - above[j];
  const auc = meanVar(v10).mean;
  const s10 = m > 1 ? meanVar(v10).variance : 0;
  const s01 = n > 1 ? meanVar(v01).variance : 0;
  return metric(auc, m + n, normalInterval(auc, Math.sqrt(s10 / m + s01 / n), confidence, 0, 1));
}

/** For each value of sorted `x`, the share of sorted `y` below it, ties counting half. */
function sharesBelow(x: Float64Array, y: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  let below = 0;
  let upTo = 0;
  for (let i = 0; i < x.length; i++) {
    while (below < y.length && y[below] < x[i]) below++;
    if (upTo < below) upTo = below;
    while (upTo < y.length && y[upTo] === x[i]) upTo++;
    out[i] = (below + (upTo - below) / 2) / y.length;
  }
  return out;
}
