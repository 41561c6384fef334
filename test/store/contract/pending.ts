import type { PendingPredictions } from '../../../src/serving/ports.js';

/** A request's pending rows: row j has features [j, j+1] and prediction 10·j. */
export function pending(rows: number, extra: Partial<PendingPredictions> = {}): PendingPredictions {
  return {
    id: 'b',
    indices: Array.from({ length: rows }, (_, j) => j * 2),
    rows,
    name: 'm',
    version: 'v1',
    ok: true,
    error: null,
    matrix: Float64Array.from({ length: rows * 2 }, (_, i) => Math.floor(i / 2) + (i % 2)),
    width: 2,
    rawFeatures: null,
    output: { predictions: Array.from({ length: rows }, (_, j) => 10 * j), probabilities: { a: Array.from({ length: rows }, (_, j) => j / rows) } },
    latencyMs: 1,
    routingKey: null,
    at: 0,
    ...extra,
  };
}
