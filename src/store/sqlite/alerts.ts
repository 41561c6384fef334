import type { Alert, AlertDraft } from '../../monitoring/alert-types.js';
import type { AlertFilter, AlertStore } from '../../monitoring/ports.js';
import type { Statement } from 'better-sqlite3';
import type { SqliteConnection } from './connection.js';
import { toAlert, type AlertRow } from './rows.js';

export class SqliteAlertStore implements AlertStore {
  private readonly q: { lastActive: Statement; mark: Statement };

  constructor(private readonly c: SqliteConnection) {
    this.q = {
      lastActive: c.db.prepare('SELECT last_active FROM alert_episodes WHERE key = ?').pluck(),
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

  async insert(alert: AlertDraft): Promise<Alert> {
    const now = this.c.now();
    const id = await this.c.write(() => this.c.alert(alert, now));
    return { ...alert, id, createdAt: now };
  }

  async list(filter: AlertFilter): Promise<Alert[]> {
    const where = ['created_at >= @since', 'id < @beforeId'];
    const params: Record<string, unknown> = { since: filter.since, beforeId: filter.beforeId ?? Number.MAX_SAFE_INTEGER, limit: filter.limit };
    if (filter.severity !== undefined) (where.push('severity = @severity'), (params.severity = filter.severity));
    if (filter.name !== undefined) (where.push('model_name = @name'), (params.name = filter.name));
    const sql = `SELECT * FROM alerts WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`;
    return (this.c.db.prepare(sql).all(params) as AlertRow[]).map(toAlert);
  }
}
