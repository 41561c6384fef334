import type { Alert, AlertDraft, AlertSeverity } from '../../monitoring/alert-types.js';
import type { AlertDeliveryStore, AlertFilter, AlertStore, DeliveryBacklog, DeliveryTarget, PendingDelivery } from '../../monitoring/ports.js';
import type { PostgresConnection } from './connection.js';
import { toAlert, type AlertRow } from './rows.js';

export class PostgresAlertStore implements AlertStore {
  constructor(private readonly c: PostgresConnection) {}

  async insert(alert: AlertDraft): Promise<Alert> {
    const now = this.c.now();
    const id = await this.c.write((tx) => tx.insertAlert(alert, now));
    return { ...alert, id, createdAt: now };
  }

  async raiseOnce(key: string, alert: AlertDraft | null, quietMs: number): Promise<Alert | null> {
    const now = this.c.now();
    return this.c.write(async (tx) => {
      // A new episode's row is inserted by one server (another waits for its commit, then finds
      // the row); an existing one is locked, so servers marking it at once take turns.
      const inserted = await tx.query('INSERT INTO alert_episodes (key, opened_at, last_active) VALUES ($1, $2, $2) ON CONFLICT (key) DO NOTHING RETURNING 1', [
        key,
        now,
      ]);
      let opened = inserted.length === 1;
      if (!opened) {
        const [row] = await tx.query<{ quiet: boolean }>(
          "SELECT last_active < $2::timestamptz - $3 * interval '1 millisecond' AS quiet FROM alert_episodes WHERE key = $1 FOR UPDATE",
          [key, now, quietMs],
        );
        opened = row.quiet;
        await tx.query(`UPDATE alert_episodes SET last_active = $2${opened ? ', opened_at = $2' : ''} WHERE key = $1`, [key, now]);
      }
      if (!opened || !alert) return null;
      return { ...alert, id: await tx.insertAlert(alert, now), createdAt: now };
    });
  }

  async endEpisode(key: string): Promise<void> {
    await this.c.query('DELETE FROM alert_episodes WHERE key = $1', [key]);
  }

  async counts(): Promise<Array<{ type: string; severity: AlertSeverity; count: number }>> {
    return this.c.query('SELECT type, severity, count(*) AS count FROM alerts GROUP BY type, severity ORDER BY type, severity');
  }

  async list(filter: AlertFilter): Promise<Alert[]> {
    const values: unknown[] = [filter.since];
    const param = (v: unknown) => `$${values.push(v)}`;
    const where = ['created_at >= $1'];
    if (filter.beforeId !== undefined) where.push(`id < ${param(filter.beforeId)}`);
    if (filter.severity !== undefined) where.push(`severity = ${param(filter.severity)}`);
    if (filter.name !== undefined) where.push(`model_name = ${param(filter.name)}`);
    const sql = `SELECT * FROM alerts WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ${param(filter.limit)}`;
    return (await this.c.query<AlertRow>(sql, values)).map(toAlert);
  }
}

type DeliveryRow = AlertRow & { delivery_id: number; target: DeliveryTarget; attempts: number; next_attempt_at: string };

/** The alert outbox on PostgreSQL. */
export class PostgresAlertDeliveryStore implements AlertDeliveryStore {
  constructor(private readonly c: PostgresConnection) {}

  async pending(target: DeliveryTarget, limit: number): Promise<PendingDelivery[]> {
    const rows = await this.c.query<DeliveryRow>(
      `SELECT d.id AS delivery_id, d.target, d.attempts, d.next_attempt_at, a.* FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
       WHERE d.target = $1 ORDER BY d.id LIMIT $2`,
      [target, limit],
    );
    return rows.map((r) => ({ id: r.delivery_id, target: r.target, attempts: r.attempts, nextAttemptAt: r.next_attempt_at, alert: toAlert(r) }));
  }

  async delivered(id: number): Promise<void> {
    await this.c.query('DELETE FROM alert_deliveries WHERE id = $1', [id]);
  }

  async failed(id: number, error: string, retryAt: string): Promise<void> {
    await this.c.query('UPDATE alert_deliveries SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1', [
      id,
      error.slice(0, 500),
      retryAt,
    ]);
  }

  async backlog(): Promise<DeliveryBacklog[]> {
    const rows = await this.c.query<{ target: DeliveryTarget; pending: number; oldest: string | null; last_error: string | null }>(
      `SELECT target, count(*) AS pending, min(created_at) AS oldest,
         (SELECT last_error FROM alert_deliveries l WHERE l.target = d.target AND last_error IS NOT NULL ORDER BY id LIMIT 1) AS last_error
       FROM alert_deliveries d GROUP BY target ORDER BY target`,
    );
    return rows.map((r) => ({ target: r.target, pending: r.pending, oldestCreatedAt: r.oldest, lastError: r.last_error }));
  }
}
