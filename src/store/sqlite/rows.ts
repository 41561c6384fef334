import type { Alert, AlertSeverity } from '../../monitoring/alert-types.js';
import type { AuditAction, AuditEntry, ModelSignature, ModelVersion, Stage } from '../../registry/types.js';
import type { LoggedFeatures } from '../../serving/ports.js';
import { float64sOf } from '../log-reading.js';

/** Rows as SQLite returns them (snake_case columns, JSON as text), and their domain records. */

export interface VersionRow {
  model_name: string;
  version: string;
  seq: number;
  stage: Stage;
  artifact_sha256: string;
  artifact_bytes: number;
  source_path: string | null;
  signature: string;
  feature_names: string | null;
  metrics: string;
  tags: string;
  description: string;
  created_at: string;
  updated_at: string;
}

export interface AuditRow {
  id: number;
  model_name: string;
  version: string | null;
  action: AuditAction;
  from_stage: Stage | null;
  to_stage: Stage | null;
  actor: string;
  reason: string | null;
  details: string | null;
  created_at: string;
}

export interface AlertRow {
  id: number;
  type: Alert['type'];
  severity: AlertSeverity;
  model_name: string | null;
  version: string | null;
  message: string;
  details: string | null;
  created_at: string;
}

export const toVersion = (r: VersionRow): ModelVersion => ({
  name: r.model_name,
  version: r.version,
  seq: r.seq,
  stage: r.stage,
  artifactSha256: r.artifact_sha256,
  artifactBytes: r.artifact_bytes,
  sourcePath: r.source_path,
  signature: JSON.parse(r.signature) as ModelSignature,
  featureNames: r.feature_names === null ? null : (JSON.parse(r.feature_names) as string[]),
  metrics: JSON.parse(r.metrics) as Record<string, number>,
  tags: JSON.parse(r.tags) as Record<string, string>,
  description: r.description,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toAudit = (r: AuditRow): AuditEntry => ({
  id: r.id,
  name: r.model_name,
  version: r.version,
  action: r.action,
  fromStage: r.from_stage,
  toStage: r.to_stage,
  actor: r.actor,
  reason: r.reason,
  details: r.details === null ? null : (JSON.parse(r.details) as Record<string, unknown>),
  createdAt: r.created_at,
});

export const toAlert = (r: AlertRow): Alert => ({
  id: r.id,
  type: r.type,
  severity: r.severity,
  name: r.model_name,
  version: r.version,
  message: r.message,
  details: r.details === null ? undefined : (JSON.parse(r.details) as Record<string, unknown>),
  createdAt: r.created_at,
});


/**
 * An entry's features (migration 8): float64s as a BLOB, or, for a row logged before it, a JSON
 * array. null for anything else (what a failed request sent is never read as features).
 */
export function decodeFeatures(row: { version: string; row_count: number; width: number | null; features: Buffer | string }): LoggedFeatures | null {
  if (typeof row.features === 'string') {
    const values = JSON.parse(row.features) as unknown;
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'number')) return null;
    return { version: row.version, rows: 1, width: values.length, values: Float64Array.from(values as number[]) };
  }
  const width = row.width ?? 0;
  if (!width || row.features.byteLength !== row.row_count * width * 8) return null;
  return { version: row.version, rows: row.row_count, width, values: float64sOf(row.features) };
}
