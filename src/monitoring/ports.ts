import type { Actor } from '../registry/types.js';
import type { Alert, AlertDraft, AlertSeverity } from './alert-types.js';
import type { DriftReference, DriftRun, ReferenceFeature } from './drift-types.js';

export const DELIVERY_TARGETS = ['webhook', 'alertmanager'] as const;
/** Where alerts are pushed: a JSON webhook, or Alertmanager's v2 API. */
export type DeliveryTarget = (typeof DELIVERY_TARGETS)[number];

/** Which alerts are pushed, and where: each alert stored at or above the severity is queued for each target, with it. */
export interface AlertDeliveryPolicy {
  targets: readonly DeliveryTarget[];
  minSeverity: AlertSeverity;
}

const RANK: Record<AlertSeverity, number> = { info: 0, warning: 1, critical: 2 };

/** The severities a policy pushes. */
export const pushedSeverities = (policy: AlertDeliveryPolicy): AlertSeverity[] =>
  (Object.keys(RANK) as AlertSeverity[]).filter((s) => RANK[s] >= RANK[policy.minSeverity]);

export interface PendingDelivery {
  id: number;
  target: DeliveryTarget;
  alert: Alert;
  attempts: number;
  /** Not before this time (ISO): a failed delivery waits out its backoff. */
  nextAttemptAt: string;
}

export interface DeliveryBacklog {
  target: DeliveryTarget;
  pending: number;
  oldestCreatedAt: string | null;
  lastError: string | null;
}

/** The alert outbox: deliveries written with their alerts, taken off once the receiver has them. */
export interface AlertDeliveryStore {
  /** The target's oldest undelivered alerts, in the order they were raised. */
  pending(target: DeliveryTarget, limit: number): Promise<PendingDelivery[]>;
  delivered(id: number): Promise<void>;
  failed(id: number, error: string, retryAt: string): Promise<void>;
  backlog(): Promise<DeliveryBacklog[]>;
}

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
  /**
   * Marks the episode `key` active now, on every server's behalf, and raises `alert` (when given)
   * only if no server marked it active within the last `quietMs`: one alert per episode however
   * many servers see it. Answers the alert raised, or null.
   */
  raiseOnce(key: string, alert: AlertDraft | null, quietMs: number): Promise<Alert | null>;
  /** Ends the episode `key` for every server: the next raiseOnce of it opens a new one. */
  endEpisode(key: string): Promise<void>;
  /** Newest first. */
  list(filter: AlertFilter): Promise<Alert[]>;
  /** Alerts ever raised, by type and severity (alerts are never deleted: these only grow). */
  counts(): Promise<Array<{ type: string; severity: AlertSeverity; count: number }>>;
}

/** A reference to store: a model's (version null) or a version's, where it came from, its rows and prepared features. */
export interface NewReference {
  name: string;
  version: string | null;
  source: string;
  rows: number;
  features: readonly ReferenceFeature[];
}

export interface DriftStore {
  /**
   * Replaces a model's (version null) or a version's reference in one transaction: the old one
   * and its features go, the new ones arrive, with an audit row. Answers when it was stored, and
   * the rows of the reference it replaced (null: there was none).
   */
  replaceReference(reference: NewReference, who: Actor): Promise<{ createdAt: string; replacedRows: number | null }>;
  getReference(name: string, version: string | null): Promise<DriftReference | undefined>;
  /** The rows of the stored reference, without its values (undefined: none stored). */
  referenceRows(name: string, version: string | null): Promise<number | undefined>;
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
