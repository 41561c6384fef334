import type { Alert, AlertDraft } from '../../monitoring/alert-types.js';
import type { AlertFilter, AlertStore } from '../../monitoring/ports.js';
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
      const inserted = await tx.query('INSERT INTO alert_episodes (key, opened_at, last_active) VALUES ($1, $2, $2) ON CONFLICT (key) DO NOTHING RETURNING 1', [key, now]);
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
