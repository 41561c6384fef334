import type { Alert, AlertSeverity } from '../monitoring/alert-types.js';
import type { AuditAction, AuditEntry, ModelSignature, ModelVersion, Stage } from '../registry/types.js';

/**
 * Rows of the registry, audit and alert tables as a driver returns them, and their domain
 * records. `J` is how a JSON column arrives: text from SQLite, already parsed from node-postgres;
 * each engine's rows.ts binds it with its decoder.
 */

export interface VersionRowOf<J> {
  model_name: string;
  version: string;
  seq: number;
  stage: Stage;
  artifact_sha256: string;
  /** node-postgres answers a BIGINT as a string. */
  artifact_bytes: number | string;
  source_path: string | null;
  signature: J;
  feature_names: J | null;
  metrics: J;
  tags: J;
  description: string;
  created_at: string;
  updated_at: string;
}

export interface AuditRowOf<J> {
  id: number;
  model_name: string;
  version: string | null;
  action: AuditAction;
  from_stage: Stage | null;
  to_stage: Stage | null;
  actor: string;
  reason: string | null;
  details: J | null;
  created_at: string;
}

export interface AlertRowOf<J> {
  id: number;
  type: Alert['type'];
  severity: AlertSeverity;
  model_name: string | null;
  version: string | null;
  message: string;
  details: J | null;
  created_at: string;
}

export interface RowMappers<J> {
  toVersion: (r: VersionRowOf<J>) => ModelVersion;
  toAudit: (r: AuditRowOf<J>) => AuditEntry;
  toAlert: (r: AlertRowOf<J>) => Alert;
}

/** The mappers for an engine whose JSON columns `decode` turns into values. */
export function rowMappers<J>(decode: (json: J) => unknown): RowMappers<J> {
  return {
    toVersion: (r) => ({
      name: r.model_name,
      version: r.version,
      seq: r.seq,
      stage: r.stage,
      artifactSha256: r.artifact_sha256,
      artifactBytes: Number(r.artifact_bytes),
      sourcePath: r.source_path,
      signature: decode(r.signature) as ModelSignature,
      featureNames: r.feature_names === null ? null : (decode(r.feature_names) as string[]),
      metrics: decode(r.metrics) as Record<string, number>,
      tags: decode(r.tags) as Record<string, string>,
      description: r.description,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }),
    toAudit: (r) => ({
      id: r.id,
      name: r.model_name,
      version: r.version,
      action: r.action,
      fromStage: r.from_stage,
      toStage: r.to_stage,
      actor: r.actor,
      reason: r.reason,
      details: r.details === null ? null : (decode(r.details) as Record<string, unknown>),
      createdAt: r.created_at,
    }),
    toAlert: (r) => ({
      id: r.id,
      type: r.type,
      severity: r.severity,
      name: r.model_name,
      version: r.version,
      message: r.message,
      details: r.details === null ? undefined : (decode(r.details) as Record<string, unknown>),
      createdAt: r.created_at,
    }),
  };
}
