import type { Alert, AlertDraft, AlertSeverity } from '../../monitoring/alert-types.js';
import type { AlertDeliveryStore, AlertFilter, AlertStore, DeliveryBacklog, DeliveryTarget, PendingDelivery } from '../../monitoring/ports.js';
import type { Statement } from 'better-sqlite3';
import type { SqliteConnection } from './connection.js';
import { toAlert, type AlertRow } from './rows.js';
import { Where } from './where.js';

export class SqliteAlertStore implements AlertStore {
  private readonly q: { lastActive: Statement; mark: Statement; end: Statement };

  constructor(private readonly c: SqliteConnection) {
    this.q = {
      lastActive: c.db.prepare('SELECT last_active FROM alert_episodes WHERE key = ?').pluck(),
      end: c.db.prepare('DELETE FROM alert_episodes WHERE key = ?'),
      mark: c.db.prepare(`INSERT INTO alert_episodes (key, opened_at, last_active) VALUES (@key, @now, @now)
        ON CONFLICT (key) DO UPDATE SET last_active = excluded.last_active, opened_at = CASE WHEN @opened THEN excluded.opened_at ELSE opened_at END`),
    };
  }

  async raiseOnce(key: string, alert: AlertDraft | null, quietMs: number): Promise<Alert | null> {
    const now = this.c.now();
    const quietBefore = new Date(Date.parse(now) - quietMs).toISOString();
    // In one write transaction: processes on this file mark an episode one after another.
    return this.c.write(() => {
      const last = this.q.lastActive.get(key) as string | undefined;
      const opened = last === undefined || last < quietBefore;
      this.q.mark.run({ key, now, opened: opened ? 1 : 0 });
      if (!opened || !alert) return null;
      return { ...alert, id: this.c.alert(alert, now), createdAt: now };
    });
  }

  async endEpisode(key: string): Promise<void> {
    await this.c.write(() => this.q.end.run(key));
  }

  async insert(alert: AlertDraft): Promise<Alert> {
    const now = this.c.now();
    const id = await this.c.write(() => this.c.alert(alert, now));
    return { ...alert, id, createdAt: now };
  }

  async counts(): Promise<Array<{ type: string; severity: AlertSeverity; count: number }>> {
    return this.c.db.prepare('SELECT type, severity, COUNT(*) AS count FROM alerts GROUP BY type, severity ORDER BY type, severity').all() as Array<{
      type: string;
      severity: AlertSeverity;
      count: number;
    }>;
  }

  async list(filter: AlertFilter): Promise<Alert[]> {
    const where = new Where(['created_at >= @since', 'id < @beforeId'], {
      since: filter.since,
      beforeId: filter.beforeId ?? Number.MAX_SAFE_INTEGER,
      limit: filter.limit,
    })
      .when(filter.severity, 'severity = @severity', 'severity')
      .when(filter.name, 'model_name = @name', 'name');
    const sql = `SELECT * FROM alerts WHERE ${where.sql} ORDER BY id DESC LIMIT @limit`;
    return (this.c.db.prepare(sql).all(where.params) as AlertRow[]).map(toAlert);
  }
}

/** The alert outbox on SQLite. */
export class SqliteAlertDeliveryStore implements AlertDeliveryStore {
  private readonly q: Record<string, Statement>;

  constructor(private readonly c: SqliteConnection) {
    const db = c.db;
    this.q = {
      pending: db.prepare(`SELECT d.id AS delivery_id, d.target, d.attempts, d.next_attempt_at, a.* FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
        WHERE d.target = ? ORDER BY d.id LIMIT ?`),
      delivered: db.prepare('DELETE FROM alert_deliveries WHERE id = ?'),
      failed: db.prepare('UPDATE alert_deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?'),
      backlog: db.prepare(`SELECT target, COUNT(*) AS pending, MIN(created_at) AS oldest,
          (SELECT last_error FROM alert_deliveries l WHERE l.target = d.target AND last_error IS NOT NULL ORDER BY id LIMIT 1) AS last_error
        FROM alert_deliveries d GROUP BY target ORDER BY target`),
    };
  }

  async pending(target: DeliveryTarget, limit: number): Promise<PendingDelivery[]> {
    const rows = this.q.pending.all(target, limit) as Array<
      AlertRow & { delivery_id: number; target: DeliveryTarget; attempts: number; next_attempt_at: string }
    >;
    return rows.map((r) => ({ id: r.delivery_id, target: r.target, attempts: r.attempts, nextAttemptAt: r.next_attempt_at, alert: toAlert(r) }));
  }

  async delivered(id: number): Promise<void> {
    await this.c.write(() => this.q.delivered.run(id));
  }

  async failed(id: number, error: string, retryAt: string): Promise<void> {
    await this.c.write(() => this.q.failed.run(error.slice(0, 500), retryAt, id));
  }

  async backlog(): Promise<DeliveryBacklog[]> {
    const rows = this.q.backlog.all() as Array<{ target: DeliveryTarget; pending: number; oldest: string | null; last_error: string | null }>;
    return rows.map((r) => ({ target: r.target, pending: r.pending, oldestCreatedAt: r.oldest, lastError: r.last_error }));
  }
}
