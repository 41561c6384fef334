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
