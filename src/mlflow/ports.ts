/** What the MLflow mirror needs of storage: the transactional outbox and the version links. */

export type OutboxKind = 'register' | 'stage' | 'traffic' | 'drift_run';

/** A change waiting to be pushed to MLflow, written in the same transaction as the change itself. */
export interface OutboxEntry {
  id: number;
  kind: OutboxKind;
  name: string;
  payload: Record<string, unknown>;
  createdAt: string;
  attempts: number;
  lastError: string | null;
}

/** Which MLflow model version one of ours is (MLflow numbers versions 1, 2, …). */
export interface MlflowLink {
  mlflowName: string;
  mlflowVersion: string;
  runId: string | null;
}

export interface OutboxStats {
  pending: number;
  oldestCreatedAt: string | null;
  lastError: string | null;
}

export interface OutboxStore {
  /** The oldest pending changes, in the order they were made. */
  peek(limit: number): Promise<OutboxEntry[]>;
  /** Removes a pushed change, recording the version's link when the push created one. */
  done(id: number, link?: { name: string; version: string } & MlflowLink): Promise<void>;
  failed(id: number, error: string): Promise<void>;
  stats(): Promise<OutboxStats>;
  link(name: string, version: string): Promise<MlflowLink | undefined>;
  setLink(name: string, version: string, link: MlflowLink): Promise<void>;
}

/**
 * Which server pushes the outbox: one at a time across every server sharing the database, so
 * changes reach MLflow once and in order; when it goes, another takes over.
 */
export interface Leadership {
  /** Whether this server leads now (taking the lead when no one holds it). */
  holds(): Promise<boolean>;
  /** Gives the lead up (at shutdown). */
  release(): Promise<void>;
}
