import type { Alert, AlertSeverity } from '../../monitoring/alert-types.js';
import type { AuditAction, AuditEntry, ModelSignature, ModelVersion, Stage } from '../../registry/types.js';

/** Rows as node-postgres returns them (json parsed, timestamps as ISO strings), and their domain records. */

export interface VersionRow {
  model_name: string;
  version: string;
  seq: number;
  stage: Stage;
  artifact_sha256: string;
  artifact_bytes: number;
  source_path: string | null;
  signature: ModelSignature;
  feature_names: string[] | null;
  metrics: Record<string, number>;
  tags: Record<string, string>;
  description: string;
  created_at: string;
  updated_at: string;
}

export const VERSION_COLUMNS =
  'model_name, version, seq, stage, artifact_sha256, artifact_bytes, source_path, signature, feature_names, metrics, tags, description, created_at, updated_at';

export const toVersion = (r: VersionRow): ModelVersion => ({
  name: r.model_name,
  version: r.version,
  seq: r.seq,
  stage: r.stage,
  artifactSha256: r.artifact_sha256,
  artifactBytes: Number(r.artifact_bytes),
  sourcePath: r.source_path,
  signature: r.signature,
  featureNames: r.feature_names,
  metrics: r.metrics,
  tags: r.tags,
  description: r.description,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface AuditRow {
  id: number;
  model_name: string;
  version: string | null;
  action: AuditAction;
  from_stage: Stage | null;
  to_stage: Stage | null;
  actor: string;
  reason: string | null;
  details: Record<string, unknown> | null;
  created_at: string;
}

export const toAudit = (r: AuditRow): AuditEntry => ({
  id: r.id,
  name: r.model_name,
  version: r.version,
  action: r.action,
  fromStage: r.from_stage,
  toStage: r.to_stage,
  actor: r.actor,
  reason: r.reason,
  details: r.details,
  createdAt: r.created_at,
});

export interface AlertRow {
  id: number;
  type: Alert['type'];
  severity: AlertSeverity;
  model_name: string | null;
  version: string | null;
  message: string;
  details: Record<string, unknown> | null;
  created_at: string;
}

export const toAlert = (r: AlertRow): Alert => ({
  id: r.id,
  type: r.type,
  severity: r.severity,
  name: r.model_name,
  version: r.version,
  message: r.message,
  details: r.details ?? undefined,
  createdAt: r.created_at,
});
