import type { MlflowLink } from '../../mlflow/ports.js';
import type { HistoryQuery, RegistryStore, VersionQuery } from '../../registry/ports.js';
import type { Actor, AuditEntry, ModelState, ModelVersion, NewVersion, Stage, StageChange, StagePlan, VersionLabel } from '../../registry/types.js';
import type { Routing } from '../../serving/traffic.js';
import type { PostgresConnection, Tx } from './connection.js';
import { toAudit, toVersion, VERSION_COLUMNS, type AuditRow, type VersionRow } from './rows.js';
import { trafficAudit } from '../audit.js';

/** Moving out of production must happen before moving in: the one-production index checks each row. */
const leavingProductionFirst = (a: StageChange, b: StageChange) => Number(b.from === 'production') - Number(a.from === 'production');

type Reader = Pick<Tx, 'query'>;

/** Versions, stages and the audit trail on PostgreSQL; every write locks its model's row first. */
export class PostgresRegistryStore implements RegistryStore {
  constructor(private readonly c: PostgresConnection) {}

  async modelState(name: string): Promise<ModelState | undefined> {
    return readModelState(this.c, name);
  }

  async modelNames(): Promise<string[]> {
    return (await this.c.query<{ name: string }>('SELECT name FROM models ORDER BY name')).map((r) => r.name);
  }

  async versionLabels(name: string): Promise<VersionLabel[]> {
    return this.c.query<VersionLabel>('SELECT version, seq FROM model_versions WHERE model_name = $1 ORDER BY seq', [name]);
  }

  async getVersion(name: string, version: string): Promise<ModelVersion | undefined> {
    const [row] = await this.c.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM model_versions WHERE model_name = $1 AND version = $2`, [name, version]);
    return row && toVersion(row);
  }

  async listVersions(query: VersionQuery): Promise<ModelVersion[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (v: unknown) => `$${values.push(v)}`;
    if (query.name !== undefined) where.push(`model_name = ${param(query.name)}`);
    if (query.stage !== undefined) where.push(`stage = ${param(query.stage)}`);
    if (query.createdBefore !== undefined) where.push(`created_at < ${param(query.createdBefore)}`);
    if (query.after !== undefined) where.push(`(model_name, seq) > (${param(query.after.name)}, ${param(query.after.seq)})`);
    const sql = `SELECT ${VERSION_COLUMNS} FROM model_versions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY model_name, seq LIMIT ${param(query.limit)}`;
    return (await this.c.query<VersionRow>(sql, values)).map(toVersion);
  }

  async stageCounts(): Promise<Record<Stage, number>> {
    const counts: Record<Stage, number> = { none: 0, staging: 0, production: 0, archived: 0 };
    for (const r of await this.c.query<{ stage: Stage; n: number }>('SELECT stage, count(*) AS n FROM model_versions GROUP BY stage')) counts[r.stage] = r.n;
    return counts;
  }

  async versionsWithArtifact(sha256: string): Promise<Array<{ name: string; version: string }>> {
    return this.c.query('SELECT model_name AS name, version FROM model_versions WHERE artifact_sha256 = $1 ORDER BY model_name, seq', [sha256]);
  }

  async referencedArtifacts(): Promise<Set<string>> {
    const rows = await this.c.query<{ sha: string }>(
      "SELECT artifact_sha256 AS sha FROM model_versions UNION SELECT signature->'serving'->>'sha256' FROM model_versions WHERE signature->'serving'->>'sha256' IS NOT NULL",
    );
    return new Set(rows.map((r) => r.sha));
  }

  async registerVersion(name: string, decide: (existing: VersionLabel[]) => NewVersion, who: Actor, link?: MlflowLink): Promise<ModelVersion> {
    const version = await this.c.write(async (tx) => {
      const now = this.c.now();
      // The model row first (a new model's included), then its lock: registrations of one model
      // choose labels and seq one after another.
      await tx.query('INSERT INTO models (name, created_at, updated_at) VALUES ($1, $2, $2) ON CONFLICT (name) DO NOTHING', [name, now]);
      await tx.lockModel(name);
      const existing = await tx.query<VersionLabel>('SELECT version, seq FROM model_versions WHERE model_name = $1 ORDER BY seq', [name]);
      const draft = decide(existing);
      await tx.query('UPDATE models SET updated_at = $2 WHERE name = $1', [name, now]);
      const seq = existing.reduce((m, v) => Math.max(m, v.seq), 0) + 1;
      const [row] = await tx.query<VersionRow>(
        `INSERT INTO model_versions (model_name, version, seq, stage, artifact_sha256, artifact_bytes, source_path, signature, feature_names,
           metrics, tags, description, created_at, updated_at)
         VALUES ($1, $2, $3, 'none', $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING ${VERSION_COLUMNS}`,
        [
          name,
          draft.version,
          seq,
          draft.artifactSha256,
          draft.artifactBytes,
          draft.sourcePath,
          JSON.stringify(draft.signature),
          draft.featureNames && JSON.stringify(draft.featureNames),
          JSON.stringify(draft.metrics),
          JSON.stringify(draft.tags),
          draft.description,
          now,
        ],
      );
      const mlflow = link ? { mlflow: `models:/${link.mlflowName}/${link.mlflowVersion}` } : {};
      const effects = tx
        .effects()
        .audit({ name, version: draft.version, action: 'register', from: null, to: 'none', who, now, details: { sha256: draft.artifactSha256, ...mlflow } });
      // A version imported from MLflow is already there: link it instead of pushing it.
      if (link) {
        await tx.query(
          `INSERT INTO mlflow_links (model_name, version, mlflow_name, mlflow_version, run_id) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (model_name, version) DO UPDATE SET mlflow_name = excluded.mlflow_name, mlflow_version = excluded.mlflow_version, run_id = excluded.run_id`,
          [name, draft.version, link.mlflowName, link.mlflowVersion, link.runId],
        );
      } else {
        effects.enqueue('register', name, { version: draft.version }, now);
      }
      await effects.notify(name).write();
      return toVersion(row);
    });
    this.c.localWrites++;
    return version;
  }

  async changeStages(name: string, plan: (state: ModelState) => StagePlan, who: Actor): Promise<{ plan: StagePlan; before: ModelState } | undefined> {
    const done = await this.c.write(async (tx) => {
      if (!(await tx.lockModel(name))) return undefined;
      const state = (await readModelState(tx, name))!;
      const decided = plan(state);
      const now = this.c.now();
      for (const change of [...decided.changes].sort(leavingProductionFirst)) {
        const updated = await tx.query(
          'UPDATE model_versions SET stage = $1, updated_at = $2 WHERE model_name = $3 AND version = $4 AND stage = $5 RETURNING 1',
          [change.to, now, name, change.version, change.from],
        );
        if (updated.length !== 1) throw new Error(`stage of ${name} ${change.version} is not ${change.from}`);
      }
      const effects = tx.effects();
      for (const change of decided.changes) {
        effects.audit({ name, version: change.version, action: decided.action, from: change.from, to: change.to, who, now });
        effects.enqueue('stage', name, { ...change, action: decided.action, actor: who.actor, reason: who.reason ?? null }, now);
      }
      for (const alert of decided.alerts) effects.alert(alert, now);
      if (decided.clearTraffic && state.traffic) {
        await tx.query('DELETE FROM traffic_configs WHERE model_name = $1', [name]);
        effects.enqueue('traffic', name, { weights: null, routing: null }, now);
        effects.audit(trafficAudit(name, who, now, { before: state.traffic.weights, after: null }));
      }
      if (decided.changes.length) await tx.query('UPDATE models SET updated_at = $2 WHERE name = $1', [name, now]);
      await effects.notify(name).write();
      return { plan: decided, before: state };
    });
    if (done) this.c.localWrites++;
    return done;
  }

  async recordRefusal(name: string, version: string | null, who: Actor, details: Record<string, unknown>): Promise<void> {
    await this.c.write((tx) => tx.effects().audit({ name, version, action: 'refused', from: null, to: null, who, now: this.c.now(), details }).write());
  }

  async history(name: string, query: HistoryQuery): Promise<AuditEntry[]> {
    const values: unknown[] = [name];
    const param = (v: unknown) => `$${values.push(v)}`;
    const where = ['model_name = $1'];
    if (query.beforeId !== undefined) where.push(`id < ${param(query.beforeId)}`);
    if (query.actor !== undefined) where.push(`actor = ${param(query.actor)}`);
    if (query.since !== undefined) where.push(`created_at >= ${param(query.since)}`);
    if (query.action !== undefined) where.push(`action = ${param(query.action)}`);
    const sql = `SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ${param(query.limit)}`;
    return (await this.c.query<AuditRow>(sql, values)).map(toAudit);
  }
}

type StateRow = Partial<VersionRow> & {
  weights: Record<string, number> | null;
  routing: Routing | null;
  traffic_updated_at: string | null;
  previous_production: string | null;
};

/**
 * A model's state in one statement (so from one snapshot), through the pool or inside a
 * transaction: its versions, split, and the version production had before the current one
 * (newest first along audit_log_production: a few rows back at most, however long the trail).
 */
export async function readModelState(db: Reader, name: string): Promise<ModelState | undefined> {
  const columns = VERSION_COLUMNS.split(', ')
    .map((col) => `v.${col}`)
    .join(', ');
  const rows = await db.query<StateRow>(
    `SELECT ${columns}, t.weights, t.routing, t.updated_at AS traffic_updated_at,
       (SELECT a.version FROM audit_log a
        WHERE a.model_name = $1 AND a.to_stage = 'production' AND a.version IS NOT NULL
          AND a.version <> (SELECT p.version FROM model_versions p WHERE p.model_name = $1 AND p.stage = 'production')
          AND EXISTS (SELECT 1 FROM model_versions e WHERE e.model_name = a.model_name AND e.version = a.version)
        ORDER BY a.id DESC LIMIT 1) AS previous_production
     FROM models m LEFT JOIN model_versions v ON v.model_name = m.name LEFT JOIN traffic_configs t ON t.model_name = m.name
     WHERE m.name = $1 ORDER BY v.seq`,
    [name],
  );
  if (!rows.length) return undefined;
  const first = rows[0];
  const versions = first.version === null ? [] : rows.map((r) => toVersion(r as VersionRow));
  const traffic =
    first.weights && first.routing && first.traffic_updated_at ? { weights: first.weights, routing: first.routing, updatedAt: first.traffic_updated_at } : null;
  return { name, versions, previousProduction: first.previous_production, traffic };
}
