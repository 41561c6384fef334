import type { Statement } from 'better-sqlite3';
import type { MlflowLink } from '../../mlflow/ports.js';
import type { HistoryQuery, RegistryStore, VersionQuery } from '../../registry/ports.js';
import type { Actor, AuditEntry, ModelState, ModelVersion, NewVersion, Stage, StageChange, StagePlan, VersionLabel } from '../../registry/types.js';
import type { Routing, TrafficConfig } from '../../serving/traffic.js';
import type { SqliteConnection } from './connection.js';
import { toAudit, toVersion, type AuditRow, type VersionRow } from './rows.js';
import { Where } from './where.js';
import { trafficAudit } from '../audit.js';

/** Moving out of production must happen before moving in: the one-production index checks each row. */
const leavingProductionFirst = (a: StageChange, b: StageChange) => Number(b.from === 'production') - Number(a.from === 'production');

/** Versions, stages and the audit trail on SQLite. */
export class SqliteRegistryStore implements RegistryStore {
  /** Every statement, by name (a test reads them to check their query plans). */
  readonly q: Record<string, Statement>;

  constructor(private readonly c: SqliteConnection) {
    const db = c.db;
    this.q = {
      model: db.prepare('SELECT name FROM models WHERE name = ?'),
      modelNames: db.prepare('SELECT name FROM models ORDER BY name').pluck(),
      insertModel: db.prepare('INSERT INTO models (name, created_at, updated_at) VALUES (?, ?, ?)'),
      touchModel: db.prepare('UPDATE models SET updated_at = ? WHERE name = ?'),
      versionsOf: db.prepare('SELECT * FROM model_versions WHERE model_name = ? ORDER BY seq'),
      version: db.prepare('SELECT * FROM model_versions WHERE model_name = ? AND version = ?'),
      insertVersion: db.prepare(`INSERT INTO model_versions
        (model_name, version, seq, stage, artifact_sha256, artifact_bytes, source_path, signature, feature_names,
         metrics, tags, description, created_at, updated_at)
        VALUES (@name, @version, @seq, 'none', @sha, @bytes, @source, @signature, @features, @metrics, @tags, @description, @now, @now)`),
      setStage: db.prepare('UPDATE model_versions SET stage = ?, updated_at = ? WHERE model_name = ? AND version = ? AND stage = ?'),
      // Newest first along audit_log_production (migration 9): a few rows back at most, however
      // long the trail.
      previousProduction: db
        .prepare(
          `SELECT a.version FROM audit_log a
           WHERE a.model_name = ? AND a.to_stage = 'production' AND a.version IS NOT NULL AND a.version <> ?
             AND EXISTS (SELECT 1 FROM model_versions v WHERE v.model_name = a.model_name AND v.version = a.version)
           ORDER BY a.id DESC LIMIT 1`,
        )
        .pluck(),
      stageCounts: db.prepare('SELECT stage, COUNT(*) AS n FROM model_versions GROUP BY stage'),
      traffic: db.prepare('SELECT weights, routing, updated_at FROM traffic_configs WHERE model_name = ?'),
      deleteTraffic: db.prepare('DELETE FROM traffic_configs WHERE model_name = ?'),
      artifactShas: db.prepare(
        "SELECT artifact_sha256 AS sha FROM model_versions UNION SELECT json_extract(signature, '$.serving.sha256') FROM model_versions WHERE json_extract(signature, '$.serving.sha256') IS NOT NULL",
      ),
      versionsWithArtifact: db.prepare('SELECT model_name AS name, version FROM model_versions WHERE artifact_sha256 = ? ORDER BY model_name, seq'),
      labels: db.prepare('SELECT version, seq FROM model_versions WHERE model_name = ? ORDER BY seq'),
      setLink: db.prepare(`INSERT INTO mlflow_links (model_name, version, mlflow_name, mlflow_version, run_id) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (model_name, version) DO UPDATE SET mlflow_name = excluded.mlflow_name, mlflow_version = excluded.mlflow_version, run_id = excluded.run_id`),
    };
  }

  async modelState(name: string): Promise<ModelState | undefined> {
    return this.readModelState(name);
  }

  async modelNames(): Promise<string[]> {
    return this.q.modelNames.all() as string[];
  }

  async versionLabels(name: string): Promise<VersionLabel[]> {
    return this.q.labels.all(name) as VersionLabel[];
  }

  async getVersion(name: string, version: string): Promise<ModelVersion | undefined> {
    const row = this.q.version.get(name, version) as VersionRow | undefined;
    return row && toVersion(row);
  }

  async listVersions(query: VersionQuery): Promise<ModelVersion[]> {
    const where = new Where([], { limit: query.limit })
      .when(query.name, 'model_name = @name', 'name')
      .when(query.stage, 'stage = @stage', 'stage')
      .when(query.createdBefore, 'created_at < @before', 'before')
      .when(query.after?.name, '(model_name > @afterName OR (model_name = @afterName AND seq > @afterSeq))', 'afterName');
    if (query.after) where.params.afterSeq = query.after.seq;
    const sql = `SELECT * FROM model_versions WHERE ${where.sql} ORDER BY model_name, seq LIMIT @limit`;
    return (this.c.db.prepare(sql).all(where.params) as VersionRow[]).map(toVersion);
  }

  async stageCounts(): Promise<Record<Stage, number>> {
    const counts: Record<Stage, number> = { none: 0, staging: 0, production: 0, archived: 0 };
    for (const r of this.q.stageCounts.all() as Array<{ stage: Stage; n: number }>) counts[r.stage] = r.n;
    return counts;
  }

  async versionsWithArtifact(sha256: string): Promise<Array<{ name: string; version: string }>> {
    return this.q.versionsWithArtifact.all(sha256) as Array<{ name: string; version: string }>;
  }

  async referencedArtifacts(): Promise<Set<string>> {
    return new Set((this.q.artifactShas.all() as Array<{ sha: string }>).map((r) => r.sha));
  }

  async registerVersion(name: string, decide: (existing: VersionLabel[]) => NewVersion, who: Actor, link?: MlflowLink): Promise<ModelVersion> {
    return this.c.write(() => {
      const existing = this.q.labels.all(name) as VersionLabel[];
      const draft = decide(existing);
      const now = this.c.now();
      if (!this.q.model.get(name)) this.q.insertModel.run(name, now, now);
      else this.q.touchModel.run(now, name);
      const seq = existing.reduce((m, v) => Math.max(m, v.seq), 0) + 1;
      this.q.insertVersion.run({
        name,
        version: draft.version,
        seq,
        sha: draft.artifactSha256,
        bytes: draft.artifactBytes,
        source: draft.sourcePath,
        signature: JSON.stringify(draft.signature),
        features: draft.featureNames && JSON.stringify(draft.featureNames),
        metrics: JSON.stringify(draft.metrics),
        tags: JSON.stringify(draft.tags),
        description: draft.description,
        now,
      });
      const mlflow = link ? { mlflow: `models:/${link.mlflowName}/${link.mlflowVersion}` } : {};
      this.c.audit({
        name,
        version: draft.version,
        action: 'register',
        from: null,
        to: 'none',
        who,
        now,
        details: { sha256: draft.artifactSha256, ...mlflow },
      });
      // A version imported from MLflow is already there: link it instead of pushing it.
      if (link) this.q.setLink.run(name, draft.version, link.mlflowName, link.mlflowVersion, link.runId);
      else this.c.enqueue('register', name, { version: draft.version }, now);
      this.c.localWrites++;
      return toVersion(this.q.version.get(name, draft.version) as VersionRow);
    });
  }

  async changeStages(name: string, plan: (state: ModelState) => StagePlan, who: Actor): Promise<{ plan: StagePlan; before: ModelState } | undefined> {
    return this.c.write(() => {
      const state = this.readModelState(name);
      if (!state) return undefined;
      const decided = plan(state);
      const now = this.c.now();
      for (const change of [...decided.changes].sort(leavingProductionFirst)) {
        const res = this.q.setStage.run(change.to, now, name, change.version, change.from);
        if (res.changes !== 1) throw new Error(`stage of ${name} ${change.version} is not ${change.from}`);
      }
      for (const change of decided.changes) {
        this.c.audit({ name, version: change.version, action: decided.action, from: change.from, to: change.to, who, now });
        this.c.enqueue('stage', name, { ...change, action: decided.action, actor: who.actor, reason: who.reason ?? null }, now);
      }
      for (const alert of decided.alerts) this.c.alert(alert, now);
      if (decided.clearTraffic && state.traffic) {
        this.q.deleteTraffic.run(name);
        this.c.enqueue('traffic', name, { weights: null, routing: null }, now);
        this.c.audit(trafficAudit(name, who, now, { before: state.traffic.weights, after: null }));
      }
      if (decided.changes.length) this.q.touchModel.run(now, name);
      this.c.localWrites++;
      return { plan: decided, before: state };
    });
  }

  async recordRefusal(name: string, version: string | null, who: Actor, details: Record<string, unknown>): Promise<void> {
    await this.c.write(() => this.c.audit({ name, version, action: 'refused', from: null, to: null, who, now: this.c.now(), details }));
  }

  async history(name: string, query: HistoryQuery): Promise<AuditEntry[]> {
    const where = new Where(['model_name = @name', 'id < @beforeId'], { name, beforeId: query.beforeId ?? Number.MAX_SAFE_INTEGER, limit: query.limit })
      .when(query.actor, 'actor = @actor', 'actor')
      .when(query.since, 'created_at >= @since', 'since')
      .when(query.action, 'action = @action', 'action');
    const sql = `SELECT * FROM audit_log WHERE ${where.sql} ORDER BY id DESC LIMIT @limit`;
    return (this.c.db.prepare(sql).all(where.params) as AuditRow[]).map(toAudit);
  }

  /** The model's state, read inside the caller's transaction when there is one. */
  readModelState(name: string): ModelState | undefined {
    if (!this.q.model.get(name)) return undefined;
    const versions = (this.q.versionsOf.all(name) as VersionRow[]).map(toVersion);
    const current = versions.find((v) => v.stage === 'production');
    return {
      name,
      versions,
      previousProduction: current ? ((this.q.previousProduction.get(name, current.version) as string | undefined) ?? null) : null,
      traffic: this.readTraffic(name),
    };
  }

  readTraffic(name: string): TrafficConfig | null {
    const row = this.q.traffic.get(name) as { weights: string; routing: Routing; updated_at: string } | undefined;
    return row ? { weights: JSON.parse(row.weights) as Record<string, number>, routing: row.routing, updatedAt: row.updated_at } : null;
  }
}
