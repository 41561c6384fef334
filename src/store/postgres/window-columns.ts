import { Codes } from '../../performance/columns.js';
import type { OutcomeColumns, OutcomeWindow } from '../../performance/ports.js';
import { windowColumns } from '../outcome-rows.js';

const floats = (x: string) => `string_agg(float8send(coalesce(${x}, 'NaN')), ''::bytea)`;

/**
 * A window of outcomes read as columns in one row: each numeric column is the `string_agg` of its
 * values' binary form (float8send, int8send: 8 bytes big-endian), which pg hands over as one
 * Buffer; each text column one JSON array. Reading 100 000 rows of scalars through the text
 * protocol (a string parsed per value, an array per row) is what this avoids. Null numbers travel
 * as NaN (neither engine stores NaN). Prediction times travel as whole epoch ms (int8: the
 * numeric-to-float8 cast goes through text, 1 µs a row): they are log entries' times, whole ms.
 * Every aggregate reads the subquery's rows in its order, newest first.
 */
export const windowColumnsSql = (where: string, limit: string, task: OutcomeWindow['task']) => `
  SELECT json_agg(version) AS version,
         ${task === 'regression' ? 'NULL AS predicted_label, NULL AS actual_label' : 'json_agg(predicted_label) AS predicted_label, json_agg(actual_label) AS actual_label'},
         string_agg(int8send((extract(epoch FROM predicted_at) * 1000)::int8), ''::bytea) AS predicted_at,
         ${task === 'classification' ? 'NULL AS predicted, NULL AS actual' : `${floats('predicted')} AS predicted, ${floats('actual')} AS actual`},
         ${task === 'regression' ? 'NULL AS p_actual, NULL AS brier, NULL AS p_positive' : `${floats('p_actual')} AS p_actual, ${floats('brier')} AS brier, ${floats('p_positive')} AS p_positive`}
    FROM (SELECT ${windowColumns(task).join(', ')}
            FROM outcomes WHERE ${where} ORDER BY predicted_at DESC, prediction_id DESC LIMIT ${limit}) AS w`;

export interface WindowColumnsRow {
  version: string[] | null;
  predicted_label: Array<string | null> | null;
  actual_label: Array<string | null> | null;
  predicted_at: Buffer | null;
  predicted: Buffer | null;
  actual: Buffer | null;
  p_actual: Buffer | null;
  brier: Buffer | null;
  p_positive: Buffer | null;
}

/** A column of n numbers; a column not read (NULL) is n NaNs. */
function float8s(b: Buffer | null, n: number): Float64Array {
  if (b === null) return new Float64Array(n).fill(NaN);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Float64Array(b.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8);
  return out;
}

/** Whole numbers as int8s (exact below 2^53). */
function int8s(b: Buffer | null): Float64Array {
  if (b === null) return new Float64Array(0);
  const out = new Float64Array(b.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = b.readInt32BE(i * 8) * 2 ** 32 + b.readUInt32BE(i * 8 + 4);
  return out;
}

/** A column of n codes of `codes`; a column not read (NULL) is n × −1. */
function coded(values: ReadonlyArray<string | null> | null, codes: Codes, n: number): Int32Array {
  if (values === null) return new Int32Array(n).fill(-1);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = codes.code(values[i]);
  return out;
}

export function columnsOfRow(r: WindowColumnsRow): OutcomeColumns {
  const versions = new Codes();
  const labels = new Codes();
  const n = r.version?.length ?? 0;
  const version = coded(r.version, versions, n);
  return {
    length: n,
    versions: versions.values,
    labels: labels.values,
    version,
    predictedAt: int8s(r.predicted_at),
    predicted: float8s(r.predicted, n),
    actual: float8s(r.actual, n),
    predictedLabel: coded(r.predicted_label, labels, n),
    actualLabel: coded(r.actual_label, labels, n),
    pActual: float8s(r.p_actual, n),
    brier: float8s(r.brier, n),
    pPositive: float8s(r.p_positive, n),
  };
}
