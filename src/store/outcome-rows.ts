import type { LoggedEntry } from '../performance/ports.js';
import type { BatchOutput } from '../serving/outputs.js';

/** What both engines' adapters read and write of outcomes and the log entries they join to. */

/** A log entry's output column (JSON {"predictions", "probabilities"}); null for rows logged before migration 8's format or none. */
export function parseOutput(text: string | null): BatchOutput | null {
  if (text === null) return null;
  const o = JSON.parse(text) as Partial<BatchOutput>;
  return Array.isArray(o.predictions) ? { predictions: o.predictions, probabilities: o.probabilities ?? null } : null;
}

/** A row_indices blob (int32s, little-endian). */
export function int32sOf(blob: Buffer | null): Int32Array | null {
  return blob && new Int32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
}

export interface EntryRow {
  id: string;
  created_at: string;
  model_name: string;
  version: string | null;
  ok: number | boolean;
  row_indices: Buffer | null;
  output: string | null;
  routing_key: string | null;
}

export const entryOf = (r: EntryRow): LoggedEntry => ({
  id: r.id,
  createdAt: r.created_at,
  at: Date.parse(r.created_at),
  name: r.model_name,
  version: r.version,
  ok: r.ok === true || r.ok === 1,
  rowIndices: int32sOf(r.row_indices),
  output: parseOutput(r.output),
  routingKey: r.routing_key,
});

export const OUTCOME_COLUMNS =
  'prediction_id, model_name, version, predicted_at, routing_key, predicted, actual, predicted_label, actual_label, probabilities, p_actual, brier, p_positive, recorded_at';
