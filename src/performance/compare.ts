import type { ModelVersion } from '../registry/types.js';
import { isClassifier } from './evaluate.js';
import type { OutcomeColumns } from './ports.js';
import { cohensH, meanInterval, meanVar, sampleSizes, twoProportionTest, welchTest, wilsonInterval, type Interval } from './stats.js';

export type Verdict = 'better' | 'worse' | 'not yet';

export interface VariantResult {
  version: string;
  weight: number;
  n: number;
  /** MAE (regressors) or accuracy (classifiers) of the variant's outcomes since the split was set. */
  value: number | null;
  interval: Interval | null;
}

export interface ChallengerResult {
  version: string;
  /** challenger − control, in the metric's units. */
  difference: number | null;
  interval: Interval | null;
  statistic: number | null;
  pValue: number | null;
  df: number | null;
  /** better / worse only when the difference is significant at alpha; not yet otherwise. */
  verdict: Verdict;
  /** The smallest difference the test should detect (metric units), and the outcomes per variant that takes at 80% power. */
  minEffect: number | null;
  required: { control: number; challenger: number } | null;
  /** More outcomes, split as the traffic is, until both variants have what they need; 0 once they do. */
  outcomesNeeded: number | null;
}

export interface Comparison {
  metric: 'mae' | 'accuracy';
  /**
   * The comparison covers predictions made since the last variant to be served began (its oldest
   * outcome in the window): every variant over the same period. Null when a variant has none.
   */
  since: string | null;
  alpha: number;
  power: number;
  control: string;
  variants: VariantResult[];
  challengers: ChallengerResult[];
}

export interface CompareOptions {
  alpha: number;
  power: number;
  confidence: number;
  /** Metric units; default: 2% of the control's value. */
  minEffect?: number | undefined;
}

/** min_effect when none is given: 2% of the control's value (the guides' degradation figure). */
const DEFAULT_MIN_EFFECT = 0.02;

/**
 * The A/B comparison of a split (weights by version) over a window's outcomes:
 * the control is the production version when it is in the split, else the heaviest; every other
 * variant is a challenger. Regressors compare mean absolute errors (Welch's t test), classifiers
 * accuracy (two-proportion z test).
 */
export function compareSplit(
  weights: Record<string, number>,
  versions: ReadonlyMap<string, ModelVersion>,
  w: OutcomeColumns,
  options: CompareOptions,
): Comparison | null {
  const labels = Object.keys(weights).filter((v) => versions.has(v));
  if (labels.length < 2) return null;
  const production = labels.find((v) => versions.get(v)?.stage === 'production');
  const control = production ?? [...labels].sort((a, b) => weights[b] - weights[a])[0];
  const classifier = isClassifier(versions.get(control) as ModelVersion);
  // Window rows by version code; -1: a version outside the split.
  const slot = w.versions.map((v) => labels.indexOf(v));
  const oldest = new Float64Array(labels.length).fill(Infinity);
  for (let i = 0; i < w.length; i++) {
    const s = slot[w.version[i]];
    if (s >= 0 && w.predictedAt[i] < oldest[s]) oldest[s] = w.predictedAt[i];
  }
  const since = oldest.every(Number.isFinite) ? Math.max(...oldest) : null;
  const rows: number[][] = labels.map(() => []);
  for (let i = 0; i < w.length; i++) {
    const s = slot[w.version[i]];
    if (s >= 0 && (since === null || w.predictedAt[i] >= since)) rows[s].push(i);
  }

  const samples = new Map(
    labels.map((v, s) => {
      const os = rows[s];
      let correct = 0;
      const abs = new Float64Array(classifier ? 0 : os.length);
      for (let j = 0; j < os.length; j++) {
        const i = os[j];
        if (classifier) correct += w.predictedLabel[i] === w.actualLabel[i] ? 1 : 0;
        else abs[j] = Math.abs(w.predicted[i] - w.actual[i]);
      }
      return [v, { n: os.length, correct, errors: meanVar(abs) }] as const;
    }),
  );
  const variants: VariantResult[] = labels.map((v) => {
    const s = samples.get(v)!;
    if (!s.n) return { version: v, weight: weights[v], n: 0, value: null, interval: null };
    return classifier
      ? { version: v, weight: weights[v], n: s.n, value: s.correct / s.n, interval: wilsonInterval(s.correct, s.n, options.confidence) }
      : { version: v, weight: weights[v], n: s.n, value: s.errors.mean, interval: meanInterval(s.n, s.errors.mean, s.errors.variance, options.confidence) };
  });

  const a = samples.get(control)!;
  const challengers = labels
    .filter((v) => v !== control)
    .map((v): ChallengerResult => {
      const b = samples.get(v)!;
      const test = classifier ? twoProportionTest(a.correct, a.n, b.correct, b.n, 1 - options.alpha) : welchTest(a.errors, b.errors, 1 - options.alpha);
      // Lower error or higher accuracy is better.
      const improvement = test ? (classifier ? test.difference : -test.difference) : 0;
      const verdict: Verdict = test && test.pValue < options.alpha ? (improvement > 0 ? 'better' : improvement < 0 ? 'worse' : 'not yet') : 'not yet';
      const ratio = weights[v] / weights[control];
      const need = required(classifier, a, b, ratio, options);
      const outcomesNeeded =
        need && Number.isFinite(need.control) && Number.isFinite(need.challenger)
          ? Math.max(0, Math.ceil(Math.max((need.control - a.n) * (1 + ratio), ((need.challenger - b.n) * (1 + ratio)) / ratio)))
          : null;
      return {
        version: v,
        difference: test?.difference ?? null,
        interval: test?.interval ?? null,
        statistic: test?.statistic ?? null,
        pValue: test?.pValue ?? null,
        df: test?.df ?? null,
        verdict,
        minEffect: need?.minEffect ?? null,
        required: outcomesNeeded !== null && need ? { control: Math.ceil(need.control), challenger: Math.ceil(need.challenger) } : null,
        outcomesNeeded,
      };
    });
  return {
    metric: classifier ? 'accuracy' : 'mae',
    since: since === null ? null : new Date(since).toISOString(),
    alpha: options.alpha,
    power: options.power,
    control,
    variants,
    challengers,
  };
}

type Sample = { n: number; correct: number; errors: { n: number; mean: number; variance: number } };

/**
 * Outcomes each variant needs to detect `minEffect` at options.power (two-sided, alpha), with
 * the variants' current spread: classifiers by Cohen's h between the control's accuracy and that
 * plus the effect (statsmodels NormalIndPower), regressors by the normal approximation of
 * Welch's test with each side's standard deviation of absolute errors. Null until the control
 * has outcomes (and, for regressors, both sides a spread).
 */
function required(
  classifier: boolean,
  a: Sample,
  b: Sample,
  ratio: number,
  options: CompareOptions,
): { control: number; challenger: number; minEffect: number } | null {
  if (a.n < 2 || !(ratio > 0)) return null;
  if (classifier) {
    const pa = a.correct / a.n;
    const minEffect = options.minEffect ?? DEFAULT_MIN_EFFECT * pa;
    const target = pa + minEffect <= 1 ? pa + minEffect : pa - minEffect;
    if (!(minEffect > 0) || target < 0) return null;
    const n = sampleSizes(cohensH(target, pa), 1, 1, ratio, options.alpha, options.power);
    return { control: n.a, challenger: n.b, minEffect };
  }
  if (b.n < 2) return null;
  const minEffect = options.minEffect ?? DEFAULT_MIN_EFFECT * a.errors.mean;
  if (!(minEffect > 0)) return null;
  const n = sampleSizes(minEffect, Math.sqrt(a.errors.variance), Math.sqrt(b.errors.variance), ratio, options.alpha, options.power);
  return { control: n.a, challenger: n.b, minEffect };
}
