import type { Actor } from '../registry/types.js';
import type { Alert, AlertDraft, AlertSeverity } from './alert-types.js';
import type { DriftReference, DriftRun, ReferenceFeature } from './drift-types.js';

export interface AlertFilter {
  since: string;
  severity?: AlertSeverity | undefined;
  name?: string | undefined;
  /** Keyset cursor: alerts older than this id. */
  beforeId?: number | undefined;
  limit: number;
}

export interface AlertStore {
  insert(alert: AlertDraft): Promise<Alert>;
  /** Newest first. */
  list(filter: AlertFilter): Promise<Alert[]>;
}

export interface DriftStore {
  /**
   * Replaces a model's (version null) or a version's reference in one transaction: the old one
   * and its features go, the new ones arrive, with an audit row. Answers the time it was stored.
   */
  replaceReference(name: string, version: string | null, source: string, rows: number, features: readonly ReferenceFeature[], who: Actor): Promise<string>;
  getReference(name: string, version: string | null): Promise<DriftReference | undefined>;
  referenceCount(): Promise<number>;
  /** Stores a run and the alerts it raises, together; a monitored run is queued for MLflow too. */
  insertRun(run: DriftRun, alerts: readonly AlertDraft[]): Promise<void>;
  /** Any run, monitored or not. */
  getRun(id: string): Promise<DriftRun | undefined>;
  /** The newest monitored run of the model, or of any model (see DriftRun.monitored). */
  latestRun(name?: string): Promise<DriftRun | undefined>;
  /** The newest monitored run of each model. */
  latestRuns(): Promise<DriftRun[]>;
}
