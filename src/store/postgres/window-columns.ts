import type { OutcomeColumns } from '../../performance/ports.js';

/**
 * A window of outcomes read as columns in one row: each column is the `string_agg` of its
 * values' binary form (float8send, int4send: 8 or 4 bytes, big-endian), which pg hands over as
 * one Buffer; versions and labels come as codes into the window's distinct values. Reading
 * 100 000 rows of scalars through the text protocol (a string parsed per value, an array per
 * row) is what this avoids. Null numbers travel as NaN (neither engine stores NaN), null labels
 * as −1. Every aggregate reads the materialized window in its order, newest first.
 */
export const windowColumnsSql = (where: string, limit: string) => `
  WITH w AS MATERIALIZED (
         SELECT version, predicted_at, predicted, actual, predicted_label, actual_label, p_actual, brier, p_positive
           FROM outcomes WHERE ${where} ORDER BY predicted_at DESC, prediction_id DESC LIMIT ${limit}),
       v AS (SELECT coalesce(array_agg(version), '{}') AS d FROM (SELECT DISTINCT version FROM w) AS x),
       l AS (SELECT coalesce(array_agg(label), '{}') AS d
               FROM (SELECT predicted_label AS label FROM w UNION SELECT actual_label FROM w) AS x WHERE label IS NOT NULL)
  SELECT (SELECT d FROM v) AS versions, (SELECT d FROM l) AS labels,
         string_agg(int4send(array_position((SELECT d FROM v), version) - 1), ''::bytea) AS version,
         string_agg(float8send((extract(epoch FROM predicted_at) * 1000)::float8), ''::bytea) AS predicted_at,
         string_agg(float8send(coalesce(predicted, 'NaN')), ''::bytea) AS predicted,
         string_agg(float8send(coalesce(actual, 'NaN')), ''::bytea) AS actual,
         string_agg(int4send(coalesce(array_position((SELECT d FROM l), predicted_label) - 1, -1)), ''::bytea) AS predicted_label,
         string_agg(int4send(coalesce(array_position((SELECT d FROM l), actual_label) - 1, -1)), ''::bytea) AS actual_label,
         string_agg(float8send(coalesce(p_actual, 'NaN')), ''::bytea) AS p_actual,
         string_agg(float8send(coalesce(brier, 'NaN')), ''::bytea) AS brier,
         string_agg(float8send(coalesce(p_positive, 'NaN')), ''::bytea) AS p_positive
    FROM w`;

export interface WindowColumnsRow {
  versions: string[];
  labels: string[];
  version: Buffer | null;
  predicted_at: Buffer | null;
  predicted: Buffer | null;
  actual: Buffer | null;
  predicted_label: Buffer | null;
  actual_label: Buffer | null;
  p_actual: Buffer | null;
  brier: Buffer | null;
  p_positive: Buffer | null;
}

function float8s(b: Buffer | null): Float64Array {
  if (b === null) return new Float64Array(0);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Float64Array(b.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8);
  return out;
}

function int4s(b: Buffer | null): Int32Array {
  if (b === null) return new Int32Array(0);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Int32Array(b.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt32(i * 4);
  return out;
}

export function columnsOfRow(r: WindowColumnsRow): OutcomeColumns {
  const version = int4s(r.version);
  return {
    length: version.length,
    versions: r.versions,
    labels: r.labels,
    version,
    predictedAt: float8s(r.predicted_at),
    predicted: float8s(r.predicted),
    actual: float8s(r.actual),
    predictedLabel: int4s(r.predicted_label),
    actualLabel: int4s(r.actual_label),
    pActual: float8s(r.p_actual),
    brier: float8s(r.brier),
    pPositive: float8s(r.p_positive),
  };
}
