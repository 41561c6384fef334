import type { MlflowLink } from '../mlflow/ports.js';
import type { Actor, AuditAction, AuditEntry, ModelState, ModelVersion, NewVersion, Stage, StagePlan, VersionLabel } from './types.js';

export interface VersionQuery {
  name?: string | undefined;
  stage?: Stage | undefined;
  createdBefore?: string | undefined;
  /** Keyset cursor: versions after this (name, seq). */
  after?: { name: string; seq: number } | undefined;
  limit: number;
}

export interface HistoryQuery {
  /** Keyset cursor: entries older than this id. */
  beforeId?: number | undefined;
  limit: number;
  actor?: string | undefined;
  since?: string | undefined;
  /** Only entries of this action. */
  action?: AuditAction | undefined;
}

/**
 * What the registry needs of storage. Every method is one whole operation; a write is one
 * transaction, its audit rows, alerts and outbox entries included. Failures of the engine reach
 * the caller as DomainErrors (`busy`, `unavailable`), never as the engine's own errors.
 */
export interface RegistryStore {
  /** undefined: no such model. */
  modelState(name: string): Promise<ModelState | undefined>;
  modelNames(): Promise<string[]>;
  versionLabels(name: string): Promise<VersionLabel[]>;
  getVersion(name: string, version: string): Promise<ModelVersion | undefined>;
  listVersions(query: VersionQuery): Promise<ModelVersion[]>;
  stageCounts(): Promise<Record<Stage, number>>;
  /** Every version, of any model, registered with these ONNX bytes. */
  versionsWithArtifact(sha256: string): Promise<Array<{ name: string; version: string }>>;
  /** The sha256 of every artifact a version row names, the graph it is served by included (rows are never deleted). */
  referencedArtifacts(): Promise<Set<string>>;
  /**
   * Registers a version: `decide` sees the model's current versions (none for a new model) inside
   * the transaction and returns the row to insert, or throws a domain error. A version imported
   * from MLflow comes with its link and is not queued for MLflow.
   */
  registerVersion(name: string, decide: (existing: VersionLabel[]) => NewVersion, who: Actor, link?: MlflowLink): Promise<ModelVersion>;
  /**
   * Changes stages: `plan` applies the rules to the model's state as it is inside the
   * transaction, with the model locked against other writers, so concurrent changes cannot
   * interleave; the changes, audit rows, alerts and the end of a split land together or not at
   * all. Answers the plan and the state it was made on; undefined: no such model.
   */
  changeStages(name: string, plan: (state: ModelState) => StagePlan, who: Actor): Promise<{ plan: StagePlan; before: ModelState } | undefined>;
  /** Records a write that the safety rules refused or a person declined. */
  recordRefusal(name: string, version: string | null, who: Actor, details: Record<string, unknown>): Promise<void>;
  /** The model's audit trail, newest first. */
  history(name: string, query: HistoryQuery): Promise<AuditEntry[]>;
}

/**
 * Object storage shared by every server (S3-compatible), where artifacts are kept by sha256. The
 * local artifact directory is then a cache of it: a version's file is stored here before its row
 * is written, and a server that never saw a version fetches the file on first use and checks its
 * digest.
 */
export interface ArtifactObjects {
  /** Where the objects are, for a person (no credentials): s3://bucket/prefix. */
  readonly location: string;
  /** Stores the file (known to hash to sha256); an object already there under that key is kept. */
  put(sha256: string, file: string, bytes: number): Promise<void>;
  /** The object's bytes, or undefined when there is none. */
  get(sha256: string): Promise<Buffer | undefined>;
  /** The object's size, or undefined when there is none. */
  size(sha256: string): Promise<number | undefined>;
}
