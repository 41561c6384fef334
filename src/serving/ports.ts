import type { Actor, ModelState, ModelVersion } from '../registry/types.js';
import type { BatchOutput } from './outputs.js';
import type { TrafficConfig, TrafficPlan } from './traffic.js';

/**
 * Predictions waiting to be written: one request's rows that share a model, version, outcome,
 * latency and time (a predict call, or one served version's share of a batch). Features and
 * outputs stay as the typed arrays and columns the request produced; the sink makes them one
 * entry of the log, so the request thread pays neither encoding nor the database for them.
 */
export interface PendingPredictions {
  /** A single prediction's id, or the batch id: row j is logged as `${id}:${indices[j]}`. */
  id: string;
  indices: number[] | null;
  rows: number;
  name: string;
  version: string | null;
  ok: boolean;
  error: string | null;
  /** Row-major features of these rows (rows × width); null when the request failed before they were read. */
  matrix: Float64Array | null;
  width: number;
  /**
   * What the caller sent, as JSON text (at most 10 000 characters), for a request that failed
   * before its features were read; else null. Text, not the value: a value a writer thread cannot
   * be sent (an in-process caller's Proxy) would fail every later flush of the log.
   */
  rawFeatures: string | null;
  /** The answer of these rows, row j at index j. */
  output: BatchOutput | null;
  latencyMs: number;
  routingKey: string | null;
  at: number;
}

export interface WriteResult {
  /** Rows written, from the start of what was sent (all of them when error is null); whole entries always. */
  written: number;
  error: { message: string; code: string | null } | null;
}

/** How far a writer's committed transactions got: batch `batch` is written up to entry `entries`. */
export interface WriterProgress {
  batch: number;
  entries: number;
}

/** Where the prediction log's flushes go: a writer with a connection of its own. */
export interface PredictionSink {
  /** Names this writer's progress row: one per writer, so one per process. */
  readonly writerId: string;
  /**
   * Writes the batch in order, whole entries per transaction, each transaction also recording
   * `seq` and how many of the batch's entries are written so far in this writer's progress row.
   */
  write(batch: readonly PendingPredictions[], seq: number): Promise<WriteResult>;
  /** Deletes predictions older than `before` and beyond the newest `keep`; answers how many went. */
  trim(before: string, keep: number): Promise<number>;
  close(): Promise<void>;
}

/** Predictions of a version, failed ones, and the sum and count of numeric outputs (for a mean). */
export interface VariantTally {
  count: number;
  errors: number;
  sum: number;
  n: number;
}

/** Logged features of one entry: `rows` rows of `width` values, row-major, in the version's feature order. */
export interface LoggedFeatures {
  version: string;
  rows: number;
  width: number;
  values: Float64Array;
}

export interface LogWindow {
  version?: string | undefined;
  since?: string | undefined;
  lastN?: number | undefined;
}

/** The prediction log as every writer left it: what serving and drift checks read. */
export interface PredictionLogStore {
  /**
   * Per version (null: failed before a version was chosen), the predictions logged at or after
   * `since`, and writer `writerId`'s progress as read in the same snapshot: the counts hold
   * exactly the predictions that progress says are written.
   */
  tallies(name: string, since: string, writerId: string): Promise<{ tallies: Map<string | null, VariantTally>; progress: WriterProgress | null }>;
  /** Predictions the log holds, a batch's rows counted one by one. */
  count(): Promise<number>;
  /**
   * Logged features of successful predictions, newest first: the last `lastN`, or since a time,
   * optionally of one version (a batch entry's newest rows are its last; past lastN only those
   * are kept).
   */
  loggedFeatures(name: string, window: LogWindow): Promise<LoggedFeatures[]>;
  /** A writer for this process's predictions. */
  openSink(): PredictionSink;
}

/** What routing needs of a model: its versions and split. */
export interface ServingState {
  versions: ModelVersion[];
  traffic: TrafficConfig | null;
}

export interface TrafficStore {
  /** undefined: no such model. */
  servingState(name: string): Promise<ServingState | undefined>;
  /**
   * Sets a model's split: `plan` validates it against the model's state inside the
   * transaction, with the model locked against other writers; the split, its audit row (weights
   * before and after) and its alerts land together.
   */
  setTraffic(
    name: string,
    plan: (state: ModelState) => TrafficPlan,
    who: Actor,
  ): Promise<{ plan: TrafficPlan; before: TrafficConfig | null; config: TrafficConfig }>;
  trafficConfigs(): Promise<Array<{ name: string; config: TrafficConfig }>>;
}

/**
 * Tells when registry or traffic state may have changed, here or on another server: a cache of
 * that state is valid while the token stays the same. Synchronous and cheap (it is read on
 * every prediction).
 */
export interface ChangeFeed {
  token(): number;
}
