/** The registry's domain language, after MLflow's model registry (stages, transitions, audit). */

import type { AlertDraft } from '../monitoring/alert-types.js';
import type { TrafficConfig } from '../serving/traffic.js';

export const STAGES = ['none', 'staging', 'production', 'archived'] as const;
export type Stage = (typeof STAGES)[number];

/** One input or output of an ONNX graph as onnxruntime reports it. */
export interface TensorSpec {
  name: string;
  /** onnxruntime element type (`float32`, `float64`, `int64`, …) or `non-tensor` (maps, sequences). */
  type: string;
  /** Dimensions; a string is a symbolic dimension such as `N`, null when unknown. */
  shape: Array<number | string> | null;
}

export type ModelTask = 'regression' | 'classification';

/** What a classifier's score output holds: probabilities, or logits (answered through softmax, a single logit through the logistic function). */
export type ScoreKind = 'probabilities' | 'logits';

/** One change registration made to the file it was given, so that onnxruntime-node can serve it. */
export type DerivationStep =
  | {
      /** The model kept tensors in files beside it: their bytes were put inside (the registered artifact is that file). */
      kind: 'external_data_inlined';
      /** The .onnx file as given. */
      sourceSha256: string;
      sourceBytes: number;
      files: Array<{ location: string; bytes: number }>;
    }
  | {
      /** A ZipMap output (a sequence of maps) is answered as the probability tensor that fed it. */
      kind: 'zipmap_removed';
      output: string;
      tensor: string;
    };

/** The graph onnxruntime serves, when it is not the registered artifact byte for byte. */
export interface ServingArtifact {
  /** Stored content-addressed in the artifact store, beside the registered artifact. */
  sha256: string;
  bytes: number;
  derivation: DerivationStep[];
}

export interface ModelSignature {
  inputs: TensorSpec[];
  /** The outputs of the graph served (see `serving`). */
  outputs: TensorSpec[];
  /** A classifier's class labels in probability-column order, read from the ONNX graph; null for a regressor. */
  classLabels?: string[] | null;
  /** Decided at registration; absent for versions registered before: a classifier then is a graph with class labels. */
  task?: ModelTask;
  /** A classifier's score output and what it holds; null for a regressor or a classifier that answers labels only. */
  scores?: { output: string; kind: ScoreKind } | null;
  /** A multi-target regressor's target names, in output-column order, when the model names them (metadata target_names). */
  targetNames?: string[] | null;
  /** What registration derived from the given file to serve it; absent when the registered artifact is served as is. */
  serving?: ServingArtifact;
}

export interface ModelVersion {
  name: string;
  version: string;
  /** Registration order within the model, 1-based. */
  seq: number;
  stage: Stage;
  artifactSha256: string;
  artifactBytes: number;
  /** The path the artifact was registered from (for the record; the registry serves its own copy). */
  sourcePath: string | null;
  signature: ModelSignature;
  featureNames: string[] | null;
  metrics: Record<string, number>;
  tags: Record<string, string>;
  description: string;
  createdAt: string;
  updatedAt: string;
}

export type AuditAction = 'register' | 'promote' | 'rollback' | 'archive' | 'configure_traffic' | 'set_drift_reference' | 'record_outcomes' | 'refused';

export interface AuditEntry {
  id: number;
  name: string;
  version: string | null;
  action: AuditAction;
  fromStage: Stage | null;
  toStage: Stage | null;
  actor: string;
  reason: string | null;
  details: Record<string, unknown> | null;
  createdAt: string;
}

/** One version moving from one stage to another, as part of a change. */
export interface StageChange {
  version: string;
  from: Stage;
  to: Stage;
}

/** Who asks for a change, and why: recorded on every audit row. */
export interface Actor {
  actor: string;
  /** The actor's display name, when one is known beside an identifier (a signed-in person's name). */
  actorName?: string | undefined;
  reason?: string | undefined;
  /** Who approved the change, when a person approved it (MCP elicitation). */
  approvedBy?: string | undefined;
  /** The approver's own reason, kept beside the caller's `reason` (never in its place). */
  approverReason?: string | undefined;
}

/** A version's label and registration order: all that choosing a new label needs. */
export type VersionLabel = Pick<ModelVersion, 'version' | 'seq'>;

/** What the registry decides to insert, given the model's current versions; the store sets the rest. */
export type NewVersion = Omit<ModelVersion, 'seq' | 'stage' | 'createdAt' | 'updatedAt'>;

/** A model's state as the registry's rules read it. */
export interface ModelState {
  name: string;
  /** In registration order. */
  versions: ModelVersion[];
  /**
   * The version production had before the current one: the newest that an audit row moved into
   * production, other than the current production version and still registered (null if none).
   */
  previousProduction: string | null;
  /** The explicit traffic split, if one is set (else all traffic goes to production). */
  traffic: TrafficConfig | null;
}

/** The outcome of a stage rule: the changes to make, audited under one action, and alerts to raise. */
export interface StagePlan {
  action: AuditAction;
  changes: StageChange[];
  alerts: AlertDraft[];
  /** The change ends the model's explicit traffic split (traffic goes back to production). */
  clearTraffic?: boolean;
}
