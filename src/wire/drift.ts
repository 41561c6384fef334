import type { FeatureCurves } from '../monitoring/curves.js';
import { isMonitored, type DriftRun, type FeatureDrift } from '../monitoring/drift-types.js';
import {
  informationalValues,
  RUN_FIELDS,
  VERDICT,
  wireName,
  withKeys,
  type FieldValue,
  type InformationalValues,
  type VerdictFieldValues,
  type Wire,
} from '../monitoring/statistics/index.js';

/**
 * Drift runs in the snake_case shape the tools answer with: each field of a feature under its
 * wireName (`pValueAdjusted` → `p_value_adjusted`), the statistics' fields from their list.
 */

/** The informational statistics' fields of a feature, under their wire names, null where the run has none. */
type InformationalAnswer = { [K in keyof Wire<InformationalValues>]: Wire<InformationalValues>[K] | null };

/** A feature of a run as answered: the run's fields, the verdict's and the informational statistics'. */
export type FeatureAnswer = { feature: string; p_value_adjusted: number; drift_detected: boolean; n_ref: number; n_cur: number } & Wire<VerdictFieldValues> &
  InformationalAnswer;

/** The informational statistics' fields of a feature under their wire names, null where the run has none. */
export const informationalAnswer = (f: FeatureDrift): InformationalAnswer => withKeys(informationalValues(f), wireName);

/** One feature of a run: the run's and the verdict's fields, then every informational field (a field no statistic in the list has is left out). */
export function featureAnswer(f: FeatureDrift): FeatureAnswer {
  const held = f as unknown as Record<string, FieldValue | boolean>;
  const out: Record<string, FieldValue | boolean | null> = {};
  for (const field of [...RUN_FIELDS, ...Object.keys(VERDICT.fields)]) out[wireName(field)] = held[field];
  return Object.assign(out, informationalAnswer(f)) as unknown as FeatureAnswer;
}

/** Where a run's two ECDFs are farthest apart, as get_drift_curves answers it. */
export const ksAnswer = (ks: FeatureCurves['ks']) => ({ x: ks.x, reference_cdf: ks.referenceCdf, current_cdf: ks.currentCdf, distance: ks.distance });

/** A run as detect_drift and get_drift_report answer it. */
export const driftRunAnswer = (run: DriftRun) => ({
  run_id: run.id,
  name: run.name,
  version: run.version,
  reference_version: run.referenceVersion,
  source: run.source,
  threshold: run.threshold,
  correction: run.correction,
  features: run.features.map(featureAnswer),
  drifted_features: run.features.filter((f) => f.driftDetected).map((f) => f.feature),
  drifted_share: run.driftedShare,
  dataset_drift: run.datasetDrift,
  monitored: isMonitored(run),
  created_at: run.createdAt,
});
