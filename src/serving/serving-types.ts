import type { AlertDraft } from '../monitoring/alert-types.js';
import type { Stage } from '../registry/types.js';
import type { PredictionValue } from './outputs.js';
import type { Routing, SinceEvent, TrafficConfig } from './traffic.js';

/** What serving answers: predictions, batches, traffic changes and reports. */

/**
 * How a request's version was chosen: asked for, the production version (no split: nothing to
 * draw, a routing key changes nothing), or within a split by the routing key's bucket or a draw.
 */
export type RoutedBy = 'explicit' | 'production' | 'sticky' | 'random';

export const ROUTED_BY = ['explicit', 'production', 'sticky', 'random'] as const satisfies readonly RoutedBy[];

export interface PredictOptions {
  version?: string | undefined;
  routingKey?: string | undefined;
  /** When the prediction is logged as made (epoch ms; default now): the demo's simulated history. */
  at?: number | undefined;
}

export interface Prediction {
  predictionId: string;
  name: string;
  version: string;
  stage: Stage;
  prediction: PredictionValue;
  probabilities: Record<string, number> | null;
  /** A multi-target regressor's target names, when the model names them. */
  targetNames: string[] | null;
  latencyMs: number;
  routedBy: RoutedBy;
}

export interface BatchPrediction {
  batchId: string;
  name: string;
  rows: number;
  /** One entry per version that served rows, with how many. */
  served: Array<{ version: string; stage: Stage; rows: number }>;
  /** The version of each row; null when one version served them all. */
  versionPerRow: string[] | null;
  predictions: PredictionValue[];
  probabilities: Record<string, number[]> | null;
  /** A multi-target regressor's target names, when every version served names them alike. */
  targetNames: string[] | null;
  latencyMs: number;
}

export interface TrafficChange {
  name: string;
  dryRun: boolean;
  before: Record<string, number>;
  after: Record<string, number>;
  routing: Routing;
  alerts: AlertDraft[];
}

export interface VariantReport {
  version: string;
  stage: Stage | null;
  weight: number;
  count: number;
  errors: number;
  errorRate: number;
  latencyMs: { p50: number; p95: number; p99: number } | null;
  meanOutput: number | null;
}

export interface TrafficReport {
  /** The split in force (the explicit one, else all to production); null when nothing is routed. */
  config: TrafficConfig | null;
  explicit: boolean;
  since: string;
  sinceEvent: SinceEvent;
  variants: VariantReport[];
}
