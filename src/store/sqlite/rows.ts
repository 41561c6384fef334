import type { LoggedFeatures } from '../../serving/ports.js';
import { float64sOf } from '../log-reading.js';
import { rowMappers, type AlertRowOf, type AuditRowOf, type VersionRowOf } from '../rows.js';

/** Rows as SQLite returns them: JSON columns as text. */
export type VersionRow = VersionRowOf<string>;
export type AuditRow = AuditRowOf<string>;
export type AlertRow = AlertRowOf<string>;

export const { toVersion, toAudit, toAlert } = rowMappers<string>((json) => JSON.parse(json));

/**
 * An entry's features (migration 8): float64s as a BLOB, or, for a row logged before it, a JSON
 * array. null for anything else (what a failed request sent is never read as features).
 */
export function decodeFeatures(row: { version: string; row_count: number; width: number | null; features: Buffer | string }): LoggedFeatures | null {
  if (typeof row.features === 'string') {
    const values = JSON.parse(row.features) as unknown;
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'number')) return null;
    return { version: row.version, rows: 1, width: values.length, values: Float64Array.from(values) };
  }
  const width = row.width ?? 0;
  if (!width || row.features.byteLength !== row.row_count * width * 8) return null;
  return { version: row.version, rows: row.row_count, width, values: float64sOf(row.features) };
}
