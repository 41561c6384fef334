/** The performance domain's language: outcomes given for logged predictions, and what they say of each version. */

/** One outcome as given: the prediction's id and what actually happened (a number, or a class label). */
export interface OutcomeInput {
  predictionId: string;
  actual: number | string;
  /** The CSV line it came from, for errors (inline outcomes are named by their index). */
  line?: number | undefined;
}

/** Why an outcome was not joined to a prediction. */
export type UnmatchedReason = 'unknown' | 'expired' | 'other_model' | 'failed_prediction';

export interface Unmatched {
  predictionId: string;
  reason: UnmatchedReason;
}

export interface RecordResult {
  name: string;
  dryRun: boolean;
  source: string;
  received: number;
  matched: number;
  replaced: number;
  unknown: number;
  expired: number;
  failed: number;
  /** The first unmatched outcomes (at most UNMATCHED_LISTED), and how many more there are. */
  unmatched: Unmatched[];
  unmatchedNotListed: number;
  byVersion: Record<string, number>;
}

/** What a call to record outcomes gives: the outcomes inline, or a CSV of them (one of the two). */
export interface OutcomesGiven {
  outcomes?: OutcomeInput[] | undefined;
  csvPath?: string | undefined;
}
