import type { Statement } from 'better-sqlite3';
import type { MlflowLink, OutboxEntry, OutboxKind, OutboxStats, OutboxStore } from '../../mlflow/ports.js';
import type { SqliteConnection } from './connection.js';

export class SqliteOutboxStore implements OutboxStore {
  private readonly q: Record<string, Statement>;

  constructor(private readonly c: SqliteConnection) {
    const db = c.db;
    this.q = {
      peek: db.prepare('SELECT * FROM mlflow_outbox ORDER BY id LIMIT ?'),
      done: db.prepare('DELETE FROM mlflow_outbox WHERE id = ?'),
      failed: db.prepare('UPDATE mlflow_outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?'),
      stats: db.prepare('SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM mlflow_outbox'),
      lastError: db.prepare('SELECT last_error FROM mlflow_outbox WHERE last_error IS NOT NULL ORDER BY id LIMIT 1'),
      link: db.prepare('SELECT mlflow_name, mlflow_version, run_id FROM mlflow_links WHERE model_name = ? AND version = ?'),
      setLink: db.prepare(`INSERT INTO mlflow_links (model_name, version, mlflow_name, mlflow_version, run_id) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (model_name, version) DO UPDATE SET mlflow_name = excluded.mlflow_name, mlflow_version = excluded.mlflow_version, run_id = excluded.run_id`),
    };
  }

  async peek(limit: number): Promise<OutboxEntry[]> {
    const rows = this.q.peek.all(limit) as Array<{
      id: number;
      kind: OutboxKind;
      model_name: string;
      payload: string;
      created_at: string;
      attempts: number;
      last_error: string | null;
    }>;
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      name: r.model_name,
      payload: JSON.parse(r.payload) as Record<string, unknown>,
      createdAt: r.created_at,
      attempts: r.attempts,
      lastError: r.last_error,
    }));
  }

  async done(id: number, link?: { name: string; version: string } & MlflowLink): Promise<void> {
    await this.c.write(() => {
      if (link) this.q.setLink.run(link.name, link.version, link.mlflowName, link.mlflowVersion, link.runId);
      this.q.done.run(id);
    });
  }

  async failed(id: number, error: string): Promise<void> {
    await this.c.write(() => this.q.failed.run(error.slice(0, 500), id));
  }

  async stats(): Promise<OutboxStats> {
    const s = this.q.stats.get() as { n: number; oldest: string | null };
    const e = this.q.lastError.get() as { last_error: string } | undefined;
    return { pending: s.n, oldestCreatedAt: s.oldest, lastError: e?.last_error ?? null };
  }

  async link(name: string, version: string): Promise<MlflowLink | undefined> {
    const r = this.q.link.get(name, version) as { mlflow_name: string; mlflow_version: string; run_id: string | null } | undefined;
    return r && { mlflowName: r.mlflow_name, mlflowVersion: r.mlflow_version, runId: r.run_id };
  }

  async setLink(name: string, version: string, link: MlflowLink): Promise<void> {
    await this.c.write(() => this.q.setLink.run(name, version, link.mlflowName, link.mlflowVersion, link.runId));
  }
}
