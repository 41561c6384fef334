import { rowMappers, type AlertRowOf, type AuditRowOf, type VersionRowOf } from '../rows.js';

/** Rows as node-postgres returns them: JSON columns already parsed, timestamps as ISO strings. */
export type VersionRow = VersionRowOf<unknown>;
export type AuditRow = AuditRowOf<unknown>;
export type AlertRow = AlertRowOf<unknown>;

export const VERSION_COLUMNS =
  'model_name, version, seq, stage, artifact_sha256, artifact_bytes, source_path, signature, feature_names, metrics, tags, description, created_at, updated_at';

export const { toVersion, toAudit, toAlert } = rowMappers<unknown>((json) => json);
