import { z } from 'zod';
import { informationalShape, verdictShape } from '../statistics.js';

export const featureSummary = z.object({
  feature: z.string(),
  n: z.number().int(),
  mean: z.number(),
  std: z.number(),
  min: z.number(),
  max: z.number(),
  quantiles: z.object({ p05: z.number(), p25: z.number(), p50: z.number(), p75: z.number(), p95: z.number() }),
});

const featureDrift = z.object({
  feature: z.string(),
  ...verdictShape,
  p_value_adjusted: z.number().describe('After the correction (equal to p_value with correction none)'),
  drift_detected: z.boolean().describe('p_value_adjusted < threshold'),
  n_ref: z.number().int(),
  n_cur: z.number().int(),
  ...informationalShape,
});

/** What detect_drift and get_drift_report answer. */
export const driftRunOutput = {
  run_id: z.string(),
  name: z.string(),
  version: z.string().nullable().describe('Version whose data or traffic was checked, if named'),
  reference_version: z.string().nullable().describe('Reference compared against: a version, or null for the model-wide one'),
  source: z.string().describe('Where the current data came from'),
  threshold: z.number(),
  correction: z.enum(['none', 'bonferroni', 'fdr']),
  features: z.array(featureDrift),
  drifted_features: z.array(z.string()),
  drifted_share: z.number().describe('Share of compared features that drifted'),
  dataset_drift: z.boolean().describe('drifted_share ≥ dataset_drift_share'),
  monitored: z
    .boolean()
    .describe(
      "false: a check by a read-only caller (read role or read-only server): kept (get_drift_report by run_id) but never the model's latest check that health_check and the dashboard show, and raising no alert",
    ),
  created_at: z.string(),
};

const curve = z.object({
  n: z.number().int().describe('Size of the sample'),
  x: z.array(z.number()).describe('Values, ascending'),
  cdf: z.array(z.number()).describe('Share of the sample ≤ x, at each x'),
});

/** What get_drift_curves answers. */
export const driftCurvesOutput = {
  name: z.string(),
  run_id: z.string().describe('The drift run charted'),
  created_at: z.string().describe('When the run was made'),
  feature: z.string(),
  statistic: z.number().describe("The run's KS statistic D for this feature"),
  p_value_adjusted: z.number().describe("The run's p-value for this feature, after its correction"),
  drift_detected: z.boolean(),
  ...informationalShape,
  reference: curve.nullable().describe('The reference ECDF; null when the run kept no curves for this feature'),
  current: curve.nullable().describe("The current data's ECDF; null when the run kept no curves for this feature"),
  ks: z
    .object({
      x: z.number().describe('Where the two ECDFs are farthest apart'),
      reference_cdf: z.number(),
      current_cdf: z.number(),
      distance: z.number().describe('|reference_cdf - current_cdf|: the KS statistic of the samples charted'),
    })
    .nullable()
    .describe('Where the two ECDFs are farthest apart, computed on the charted samples; null without the current curve'),
  note: z.string().nullable().describe('Why a curve is missing, if one is'),
};
