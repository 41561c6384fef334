import type { PValueCorrection } from './correction.js';
import type { FeatureCurves } from './curves.js';
import type { InformationalValues, VerdictFieldValues } from './statistics/index.js';

export interface FeatureSummary {
  feature: string;
  n: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  quantiles: { p05: number; p25: number; p50: number; p75: number; p95: number };
}

/** One feature of a reference sample: its values sorted once, and their summary. */
export interface ReferenceFeature {
  feature: string;
  sorted: Float64Array;
  summary: FeatureSummary;
}

export interface DriftReference {
  name: string;
  /** null: the model-wide reference; else the version it belongs to. */
  version: string | null;
  source: string;
  rows: number;
  createdAt: string;
  features: ReferenceFeature[];
}

/**
 * One feature of a drift run: the fields of every statistic in statistics/index.ts beside the
 * verdict. A run stored before an informational statistic was added lacks its fields.
 */
export type FeatureDrift = {
  feature: string;
  /** The verdict's pValue after the run's correction (equal to it with correction none). */
  pValueAdjusted: number;
  driftDetected: boolean;
  nRef: number;
  nCur: number;
} & VerdictFieldValues &
  Partial<InformationalValues>;

export interface DriftRun {
  id: string;
  name: string;
  /** The version whose traffic or data was checked, if one was named. */
  version: string | null;
  /** The reference compared against: a version label, or null for the model-wide one. */
  referenceVersion: string | null;
  source: string;
  threshold: number;
  correction: PValueCorrection;
  datasetDriftShare: number;
  datasetDrift: boolean;
  driftedShare: number;
  features: FeatureDrift[];
  actor: string;
  createdAt: string;
  /**
   * false: a check by a caller who may only read. It is kept (found by its id) but is never a
   * model's latest check (what health_check and the dashboard show), raises no alert and is not
   * mirrored to MLflow: the lowest role cannot change what others see as the drift state. Absent
   * on runs stored before the field existed, which were all monitoring runs.
   */
  monitored?: boolean;
  /** Downsampled reference and current ECDFs per feature (the most drifted first), for charts. */
  curves?: Record<string, FeatureCurves>;
}

/** Whether a run counts as the model's check (see DriftRun.monitored). */
export const isMonitored = (run: Pick<DriftRun, 'monitored'>): boolean => run.monitored !== false;
