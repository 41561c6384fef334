import type { LoggedEntry, OutcomeWindow } from '../performance/ports.js';
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

/** A window's columns in the order OutcomeColumnsBuilder.push takes them, named so … */
export const WINDOW_NAMES = 'version, predicted_at, predicted, actual, predicted_label, actual_label, p_actual, brier, p_positive';

/** … and as selected: the other task's as NULL. */
export function windowColumns(task: OutcomeWindow['task']): string[] {
  const regression = task === 'classification' ? ['NULL AS predicted', 'NULL AS actual'] : ['predicted', 'actual'];
  const classification =
    task === 'regression'
      ? ['NULL AS predicted_label', 'NULL AS actual_label', 'NULL AS p_actual', 'NULL AS brier', 'NULL AS p_positive']
      : ['predicted_label', 'actual_label', 'p_actual', 'brier', 'p_positive'];
  return ['version', 'predicted_at', ...regression, ...classification];
}

export const OUTCOME_COLUMNS =
  'prediction_id, model_name, version, predicted_at, routing_key, predicted, actual, predicted_label, actual_label, probabilities, p_actual, brier, p_positive, recorded_at';
