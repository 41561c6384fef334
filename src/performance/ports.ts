import type { Actor } from '../registry/types.js';
import type { BatchOutput } from '../serving/outputs.js';

/** A prediction log entry as the join reads it: a predict call's prediction, or one version's rows of a batch. */
export interface LoggedEntry {
  id: string;
  createdAt: string;
  /** createdAt in epoch ms. */
  at: number;
  name: string;
  version: string | null;
  ok: boolean;
  /** The batch row of each of the entry's rows, ascending; null for a single prediction. */
  rowIndices: Int32Array | null;
  output: BatchOutput | null;
  routingKey: string | null;
}

/** An outcome joined to its prediction, as stored: what the prediction was, and what happened. */
export interface OutcomeRow {
  predictionId: string;
  name: string;
  version: string;
  /** When the prediction was made (its log entry's time), epoch ms. */
  predictedAt: number;
  routingKey: string | null;
  /** A regressor's prediction and the actual value; null for a classifier. */
  predicted: number | null;
  actual: number | null;
  /** A classifier's predicted and actual labels; null for a regressor. */
  predictedLabel: string | null;
  actualLabel: string | null;
  /** A classifier's probability of each class, in the order of its version's class labels; null without scores. */
  probabilities: Float64Array | null;
  /** What those probabilities add to log loss, Brier and ROC AUC (null without scores; pPositive null unless binary). */
  pActual: number | null;
  brier: number | null;
  pPositive: number | null;
}

/** An outcome as a window holds it: what measuring needs, no more. */
export type StoredOutcome = Pick<
  OutcomeRow,
  'version' | 'predictedAt' | 'predicted' | 'actual' | 'predictedLabel' | 'actualLabel' | 'pActual' | 'brier' | 'pPositive'
>;

/**
 * A window's outcomes column by column (see columns.ts), newest prediction first: index i of
 * every column is one outcome. Numbers are NaN where null; versions and labels are codes into
 * `versions` and `labels` (−1 where null).
 */
export interface OutcomeColumns {
  length: number;
  versions: string[];
  labels: string[];
  version: Int32Array;
  /** Epoch ms. */
  predictedAt: Float64Array;
  predicted: Float64Array;
  actual: Float64Array;
  predictedLabel: Int32Array;
  actualLabel: Int32Array;
  pActual: Float64Array;
  brier: Float64Array;
  pPositive: Float64Array;
}

/** Which outcomes to read: the newest `lastN` by prediction time, within [since, until). */
export interface OutcomeWindow {
  version?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  lastN: number;
  /**
   * Only the columns of one task: a regressor's predicted and actual values, or a classifier's
   * labels and probability terms; the other task's columns are left null (NaN, −1). Default both.
   */
  task?: 'regression' | 'classification' | undefined;
}

/**
 * What outcomes need of storage. The join reads the prediction log by (entry id, time logged):
 * the time comes from the id itself, so a late outcome costs an index probe of one day's log.
 * Writes replace by prediction id (the last outcome given for a prediction holds), so servers
 * recording at once never wait on a shared row.
 */
export interface OutcomeStore {
  /** Entries logged at exactly `createdAt` with these ids, of any model (a batch split between versions has one per version). */
  findPredictions(keys: ReadonlyArray<{ id: string; createdAt: string }>): Promise<LoggedEntry[]>;
  /** When the oldest entry the log still holds was logged; null when the log is empty. */
  oldestPrediction(): Promise<string | null>;
  /** Of these prediction ids, those that have an outcome already. */
  existing(ids: readonly string[]): Promise<Set<string>>;
  /**
   * Stores the outcomes (replacing any earlier outcome of the same prediction) and an audit row
   * of the model, in one transaction. Answers how many replaced an earlier one.
   */
  record(name: string, rows: readonly OutcomeRow[], who: Actor, details: Record<string, unknown>): Promise<{ replaced: number; recordedAt: string }>;
  /** The model's outcomes in the window, newest prediction first, as columns (a window may hold 100 000). */
  outcomes(name: string, window: OutcomeWindow): Promise<OutcomeColumns>;
  /** Models with at least one outcome. */
  modelsWithOutcomes(): Promise<string[]>;
}
