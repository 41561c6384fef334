import type { DatabaseProbe } from '../health/ports.js';
import type { Leadership, OutboxStore } from '../mlflow/ports.js';
import type { AlertDeliveryPolicy, AlertDeliveryStore, AlertStore, DriftStore } from '../monitoring/ports.js';
import type { OutcomeStore } from '../performance/ports.js';
import type { RegistryStore } from '../registry/ports.js';
import type { ChangeFeed, PredictionLogStore, TrafficStore } from '../serving/ports.js';

/**
 * One database behind the domain's ports, one object per concern. An engine's adapter lives in
 * its own folder (sqlite/, postgres/) and is chosen by openStore; nothing above src/store sees
 * the engine, its types or its error codes.
 */
export interface Store {
  readonly engine: 'sqlite' | 'postgresql';
  registry: RegistryStore;
  traffic: TrafficStore;
  predictions: PredictionLogStore;
  drift: DriftStore;
  alerts: AlertStore;
  /** Alerts waiting to be pushed (when a target is configured). */
  deliveries: AlertDeliveryStore;
  /** Who pushes alerts among the servers sharing this database. */
  deliveryLeader: Leadership;
  outbox: OutboxStore;
  /** Who pushes the outbox among the servers sharing this database. */
  outboxLeader: Leadership;
  outcomes: OutcomeStore;
  changes: ChangeFeed;
  database: DatabaseProbe;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Record every change in the MLflow outbox too (MLFLOW_TRACKING_URI is set). */
  mlflowOutbox?: boolean;
  /** Push alerts (queue a delivery with each alert stored); none when unset. */
  alertDelivery?: AlertDeliveryPolicy | undefined;
  now?: () => string;
}
