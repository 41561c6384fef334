import type { MlflowLink, OutboxEntry, OutboxKind, OutboxStats, OutboxStore } from '../../mlflow/ports.js';
import type { PostgresConnection } from './connection.js';

const SET_LINK = `INSERT INTO mlflow_links (model_name, version, mlflow_name, mlflow_version, run_id) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (model_name, version) DO UPDATE SET mlflow_name = excluded.mlflow_name, mlflow_version = excluded.mlflow_version, run_id = excluded.run_id`;

export class PostgresOutboxStore implements OutboxStore {
  constructor(private readonly c: PostgresConnection) {}

  async peek(limit: number): Promise<OutboxEntry[]> {
    const rows = await this.c.query<{
      id: number;
      kind: OutboxKind;
      model_name: string;
      payload: Record<string, unknown>;
      created_at: string;
      attempts: number;
      last_error: string | null;
    }>('SELECT * FROM mlflow_outbox ORDER BY id LIMIT $1', [limit]);
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      name: r.model_name,
      payload: r.payload,
      createdAt: r.created_at,
      attempts: r.attempts,
      lastError: r.last_error,
    }));
  }

  async done(id: number, link?: { name: string; version: string } & MlflowLink): Promise<void> {
    await this.c.write(async (tx) => {
      if (link) await tx.query(SET_LINK, [link.name, link.version, link.mlflowName, link.mlflowVersion, link.runId]);
      await tx.query('DELETE FROM mlflow_outbox WHERE id = $1', [id]);
    });
  }

  async failed(id: number, error: string): Promise<void> {
    await this.c.query('UPDATE mlflow_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [id, error.slice(0, 500)]);
  }

  async stats(): Promise<OutboxStats> {
    const [s] = await this.c.query<{ n: number; oldest: string | null; last_error: string | null }>(
      `SELECT count(*) AS n, min(created_at) AS oldest,
         (SELECT last_error FROM mlflow_outbox WHERE last_error IS NOT NULL ORDER BY id LIMIT 1) AS last_error
       FROM mlflow_outbox`,
    );
    return { pending: s.n, oldestCreatedAt: s.oldest, lastError: s.last_error };
  }

  async link(name: string, version: string): Promise<MlflowLink | undefined> {
    const [r] = await this.c.query<{ mlflow_name: string; mlflow_version: string; run_id: string | null }>(
      'SELECT mlflow_name, mlflow_version, run_id FROM mlflow_links WHERE model_name = $1 AND version = $2',
      [name, version],
    );
    return r && { mlflowName: r.mlflow_name, mlflowVersion: r.mlflow_version, runId: r.run_id };
  }

  async setLink(name: string, version: string, link: MlflowLink): Promise<void> {
    await this.c.query(SET_LINK, [name, version, link.mlflowName, link.mlflowVersion, link.runId]);
  }
}
