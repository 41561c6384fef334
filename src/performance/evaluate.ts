import type { ModelVersion } from '../registry/types.js';
import { classificationMetrics, regressionMetrics, type ClassificationMetrics, type MetricValue, type RegressionMetrics } from './metrics.js';
import type { OutcomeColumns } from './ports.js';

/** Metric names as answers, baselines (registration metrics) and Prometheus spell them. */
export const METRIC_NAMES = ['r2', 'mae', 'rmse', 'bias', 'accuracy', 'log_loss', 'brier', 'roc_auc'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** Metrics where a larger value is better; for the others (errors, losses) smaller is. bias has no direction. */
const HIGHER_IS_BETTER = new Set<MetricName>(['r2', 'accuracy', 'roc_auc']);
/** Registration metric names that mean one of ours (the demo models register `auc`). */
const ALIASES: Record<string, MetricName> = { auc: 'roc_auc', brier_score: 'brier', r2_score: 'r2', logloss: 'log_loss' };

export interface Evaluation {
  task: 'regression' | 'classification';
  n: number;
  regression: RegressionMetrics | null;
  classification: ClassificationMetrics | null;
  /** Each named metric's value (null when it cannot be computed: one class only, no scores, n < 2). */
  values: Partial<Record<MetricName, MetricValue>>;
}

export const isClassifier = (v: ModelVersion) =>
  v.signature.task === 'classification' || (v.signature.task === undefined && Boolean(v.signature.classLabels?.length));

/**
 * The metric a version is shown by first (over time, in health_check) and an A/B test compares:
 * MAE for regressors (an error in the target's units, which R² is not: a wider spread of actual
 * values raises R² with the same errors), accuracy for classifiers.
 */
export const primaryMetric = (task: Evaluation['task']): MetricName => (task === 'classification' ? 'accuracy' : 'mae');

/** One version's outcomes, measured: the window's rows `rows` (all of one version, in the window's order). */
export function evaluate(version: ModelVersion, w: OutcomeColumns, rows: Int32Array, confidence: number): Evaluation {
  const n = rows.length;
  const column = (c: Float64Array) => {
    const out = new Float64Array(n);
    for (let j = 0; j < n; j++) out[j] = c[rows[j]];
    return out;
  };
  if (!isClassifier(version)) {
    const regression = regressionMetrics(column(w.predicted), column(w.actual), confidence);
    const values: Evaluation['values'] = { mae: regression.mae, rmse: regression.rmse, bias: regression.bias };
    if (regression.r2) values.r2 = regression.r2;
    return { task: 'regression', n, regression, classification: null, values };
  }
  const labels = version.signature.classLabels ?? [];
  const pActual = column(w.pActual);
  const brier = column(w.brier);
  const scored = n > 0 && !pActual.some(Number.isNaN) && !brier.some(Number.isNaN);
  const pPositive = scored && labels.length === 2 ? column(w.pPositive) : null;
  const label = (codes: Int32Array) => {
    const out = new Array<string>(n);
    for (let j = 0; j < n; j++) out[j] = codes[rows[j]] < 0 ? (null as unknown as string) : w.labels[codes[rows[j]]];
    return out;
  };
  const classification = classificationMetrics(
    labels,
    label(w.predictedLabel),
    label(w.actualLabel),
    scored ? { pActual, brier, pPositive: pPositive && !pPositive.some(Number.isNaN) ? pPositive : null } : null,
    confidence,
  );
  const values: Evaluation['values'] = { accuracy: classification.accuracy };
  if (classification.logLoss) values.log_loss = classification.logLoss;
  if (classification.brier) values.brier = classification.brier;
  if (classification.rocAuc) values.roc_auc = classification.rocAuc;
  return { task: 'classification', n, regression: null, classification, values };
}

export interface BaselineComparison {
  metric: MetricName;
  baseline: number;
  value: number | null;
  /** value − baseline. */
  change: number | null;
  /** How far the value is worse than the baseline, as a fraction of it (negative: better); null for bias. */
  worseBy: number | null;
}

/** The version's registration metrics that name one of ours, next to what its outcomes say. */
export function baselines(version: ModelVersion, e: Evaluation): BaselineComparison[] {
  const out: BaselineComparison[] = [];
  for (const [key, baseline] of Object.entries(version.metrics)) {
    const metric = (METRIC_NAMES as readonly string[]).includes(key) ? (key as MetricName) : ALIASES[key];
    if (!metric || out.some((b) => b.metric === metric)) continue;
    const value = e.values[metric]?.value ?? null;
    const change = value === null ? null : value - baseline;
    const worseBy = change === null || metric === 'bias' || baseline === 0 ? null : (HIGHER_IS_BETTER.has(metric) ? -change : change) / Math.abs(baseline);
    out.push({ metric, baseline, value, change, worseBy });
  }
  return out;
}

/** A version's floors: tags `min_<metric>` (e.g. min_r2 "0.92") and `max_<metric>` (e.g. max_mae "4"). */
export function floors(version: ModelVersion): Array<{ metric: MetricName; bound: 'min' | 'max'; limit: number }> {
  const out: Array<{ metric: MetricName; bound: 'min' | 'max'; limit: number }> = [];
  for (const [tag, text] of Object.entries(version.tags)) {
    const m = /^(min|max)_(.+)$/.exec(tag);
    if (!m) continue;
    const metric = (METRIC_NAMES as readonly string[]).includes(m[2]) ? (m[2] as MetricName) : ALIASES[m[2]];
    const limit = Number(text);
    if (metric && text.trim() !== '' && Number.isFinite(limit)) out.push({ metric, bound: m[1] as 'min' | 'max', limit });
  }
  return out;
}
