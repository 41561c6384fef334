import type { Alert, AlertDraft } from '../../monitoring/alert-types.js';
import type { AlertFilter, AlertStore } from '../../monitoring/ports.js';
import type { SqliteConnection } from './connection.js';
import { toAlert, type AlertRow } from './rows.js';

export class SqliteAlertStore implements AlertStore {
  constructor(private readonly c: SqliteConnection) {}

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
