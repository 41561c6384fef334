import type { BatchPrediction, Prediction } from '../serving/serving-types.js';

/** Predictions in the snake_case shape both the MCP tools and the REST API answer with. */

const ms = (x: number) => Math.round(x * 1000) / 1000;

export const predictionAnswer = (p: Prediction) => ({
  prediction_id: p.predictionId,
  name: p.name,
  version: p.version,
  stage: p.stage,
  prediction: p.prediction,
  probabilities: p.probabilities,
  target_names: p.targetNames,
  latency_ms: ms(p.latencyMs),
  routed_by: p.routedBy,
});

export const batchAnswer = (b: BatchPrediction) => ({
  batch_id: b.batchId,
  name: b.name,
  rows: b.rows,
  served: b.served,
  version_per_row: b.versionPerRow,
  predictions: b.predictions,
  probabilities: b.probabilities,
  target_names: b.targetNames,
  latency_ms: ms(b.latencyMs),
});
