import type { Statement } from 'better-sqlite3';
import type { AlertDraft } from '../../monitoring/alert-types.js';
import { pushedSeverities, type AlertDeliveryPolicy, type DeliveryTarget } from '../../monitoring/ports.js';
import type { OutboxKind } from '../../mlflow/ports.js';
import { auditDetails, type AuditDraft } from '../audit.js';
import type { Db } from './database.js';
import { isSqliteBusy } from './errors.js';

/** How long a write waits for another writer's lock in all (then the caller gets a retryable busy error). */
export const WRITE_LOCK_WAIT_MS = 5000;
/** How long SQLite itself waits per attempt, blocking the event loop (see SqliteConnection.transaction). */
export const WRITE_ATTEMPT_WAIT_MS = 10;

/**
 * The registry database's one connection as the adapters share it: write transactions that wait
 * for a lock off the event loop, and the rows every write may add to its transaction (audit,
 * alerts, the MLflow outbox).
 */
export class SqliteConnection {
  /** Registry writes made through this connection (SQLite's data_version counts only other connections'). */
  localWrites = 0;
  private readonly q: { audit: Statement; alert: Statement; enqueue: Statement; deliver: Statement };
  /** The targets an alert of each severity is queued for. */
  private readonly deliverTo: ReadonlyMap<string, readonly DeliveryTarget[]>;

  constructor(
    readonly db: Db,
    readonly now: () => string,
    /** Record every change in the MLflow outbox too (MLFLOW_TRACKING_URI is set). */
    private readonly outbox: boolean,
    delivery?: AlertDeliveryPolicy,
  ) {
    this.deliverTo = new Map(delivery ? pushedSeverities(delivery).map((s) => [s, delivery.targets]) : []);
    this.q = {
      audit: db.prepare(`INSERT INTO audit_log (model_name, version, action, from_stage, to_stage, actor, reason, details, created_at)
        VALUES (@name, @version, @action, @from, @to, @actor, @reason, @details, @now)`),
      alert: db.prepare(`INSERT INTO alerts (type, severity, model_name, version, message, details, created_at)
        VALUES (@type, @severity, @name, @version, @message, @details, @now)`),
      enqueue: db.prepare('INSERT INTO mlflow_outbox (kind, model_name, payload, created_at) VALUES (?, ?, ?, ?)'),
      deliver: db.prepare('INSERT INTO alert_deliveries (alert_id, target, created_at, next_attempt_at) VALUES (?, ?, ?, ?)'),
    };
  }

  /**
   * Runs fn in an IMMEDIATE transaction, waiting for another writer's lock off the event loop:
   * SQLite's own busy wait (the connection's busy timeout) blocks the thread, and with it every
   * request, so the connection waits only WRITE_ATTEMPT_WAIT_MS per attempt and the retries
   * sleep on timers, up to WRITE_LOCK_WAIT_MS in all; then SQLITE_BUSY reaches the caller.
   */
  async write<T>(fn: () => T): Promise<T> {
    const tx = this.db.transaction(fn);
    const deadline = performance.now() + WRITE_LOCK_WAIT_MS;
    for (let pause = 2; ; pause = Math.min(2 * pause, 50)) {
      try {
        return tx.immediate();
      } catch (e) {
        if (!isSqliteBusy(e) || performance.now() + pause > deadline) throw e;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  audit(e: AuditDraft): void {
    const details = auditDetails(e);
    this.q.audit.run({
      name: e.name,
      version: e.version,
      action: e.action,
      from: e.from,
      to: e.to,
      actor: e.who.actor,
      reason: e.who.reason ?? null,
      details: details ? JSON.stringify(details) : null,
      now: e.now,
    });
  }

  /** Inserts an alert, queued for every target that pushes its severity; answers its id. */
  alert(alert: AlertDraft, now: string): number {
    const res = this.q.alert.run({
      type: alert.type,
      severity: alert.severity,
      name: alert.name,
      version: alert.version,
      message: alert.message,
      details: alert.details ? JSON.stringify(alert.details) : null,
      now,
    });
    const id = Number(res.lastInsertRowid);
    for (const target of this.deliverTo.get(alert.severity) ?? []) this.q.deliver.run(id, target, now, now);
    return id;
  }

  enqueue(kind: OutboxKind, name: string, payload: Record<string, unknown>, now: string): void {
    if (this.outbox) this.q.enqueue.run(kind, name, JSON.stringify(payload), now);
  }
}
