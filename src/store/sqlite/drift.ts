import type { Statement } from 'better-sqlite3';
import type { AlertDraft } from '../../monitoring/alert-types.js';
import { isMonitored, type DriftReference, type DriftRun, type FeatureSummary } from '../../monitoring/drift-types.js';
import type { DriftStore, NewReference } from '../../monitoring/ports.js';
import type { Actor } from '../../registry/types.js';
import type { SqliteConnection } from './connection.js';
import { runOfStored, storedRun } from '../drift-runs.js';
import { float64sOf } from '../log-reading.js';

/** Drift references and runs on SQLite; a model-wide reference is stored under version ''. */
export class SqliteDriftStore implements DriftStore {
  readonly q: Record<string, Statement>;

  constructor(private readonly c: SqliteConnection) {
    const db = c.db;
    this.q = {
      deleteReference: db.prepare('DELETE FROM drift_references WHERE model_name = ? AND version = ?'),
      insertReference: db.prepare('INSERT INTO drift_references (model_name, version, source, rows, created_at) VALUES (?, ?, ?, ?, ?)'),
      insertReferenceFeature: db.prepare(
        'INSERT INTO drift_reference_features (model_name, version, feature, n, sorted_values, summary) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      reference: db.prepare('SELECT source, rows, created_at FROM drift_references WHERE model_name = ? AND version = ?'),
      referenceFeatures: db.prepare(
        'SELECT feature, n, sorted_values, summary FROM drift_reference_features WHERE model_name = ? AND version = ? ORDER BY rowid',
      ),
      referenceCount: db.prepare('SELECT COUNT(*) AS n FROM drift_references'),
      insertDriftRun: db.prepare(`INSERT INTO drift_runs (id, model_name, version, source, dataset_drift, drifted_share, result, actor, created_at, monitored)
        VALUES (@id, @name, @version, @source, @datasetDrift, @driftedShare, @result, @actor, @createdAt, @monitored)`),
      driftRun: db.prepare('SELECT result FROM drift_runs WHERE id = ?'),
      // The latest check is the latest monitored run (a read-only caller's run never is).
      latestDriftRun: db.prepare('SELECT result FROM drift_runs WHERE model_name = ? AND monitored = 1 ORDER BY created_at DESC, rowid DESC LIMIT 1'),
      latestDriftRunAny: db.prepare('SELECT result FROM drift_runs WHERE monitored = 1 ORDER BY created_at DESC, rowid DESC LIMIT 1'),
      latestDriftRunsPerModel: db.prepare(
        `SELECT result FROM drift_runs d WHERE monitored = 1
           AND rowid = (SELECT rowid FROM drift_runs WHERE model_name = d.model_name AND monitored = 1 ORDER BY created_at DESC, rowid DESC LIMIT 1)`,
      ),
    };
  }

  async replaceReference({ name, version, source, rows, features }: NewReference, who: Actor): Promise<{ createdAt: string; replacedRows: number | null }> {
    const key = version ?? '';
    return this.c.write(() => {
      const now = this.c.now();
      const before = this.q.reference.get(name, key) as { rows: number } | undefined;
      this.q.deleteReference.run(name, key);
      this.q.insertReference.run(name, key, source, rows, now);
      for (const f of features) {
        const blob = Buffer.from(f.sorted.buffer, f.sorted.byteOffset, f.sorted.byteLength);
        this.q.insertReferenceFeature.run(name, key, f.feature, f.sorted.length, blob, JSON.stringify(f.summary));
      }
      this.c.audit({
        name,
        version,
        action: 'set_drift_reference',
        from: null,
        to: null,
        who,
        now,
        details: { source, rows, features: features.map((f) => f.feature), replaced_rows: before?.rows ?? null },
      });
      return { createdAt: now, replacedRows: before?.rows ?? null };
    });
  }

  async referenceRows(name: string, version: string | null): Promise<number | undefined> {
    return (this.q.reference.get(name, version ?? '') as { rows: number } | undefined)?.rows;
  }

  async getReference(name: string, version: string | null): Promise<DriftReference | undefined> {
    const key = version ?? '';
    const head = this.q.reference.get(name, key) as { source: string; rows: number; created_at: string } | undefined;
    if (!head) return undefined;
    const features = (this.q.referenceFeatures.all(name, key) as Array<{ feature: string; sorted_values: Buffer; summary: string }>).map((r) => ({
      feature: r.feature,
      sorted: float64sOf(r.sorted_values),
      summary: JSON.parse(r.summary) as FeatureSummary,
    }));
    return { name, version, source: head.source, rows: head.rows, createdAt: head.created_at, features };
  }

  async referenceCount(): Promise<number> {
    return (this.q.referenceCount.get() as { n: number }).n;
  }

  async insertRun(run: DriftRun, alerts: readonly AlertDraft[]): Promise<void> {
    await this.c.write(() => {
      this.q.insertDriftRun.run({
        id: run.id,
        name: run.name,
        version: run.version,
        source: run.source,
        datasetDrift: run.datasetDrift ? 1 : 0,
        driftedShare: run.driftedShare,
        result: storedRun(run),
        actor: run.actor,
        createdAt: run.createdAt,
        monitored: isMonitored(run) ? 1 : 0,
      });
      for (const a of alerts) this.c.alert(a, run.createdAt);
      if (isMonitored(run)) this.c.enqueue('drift_run', run.name, { runId: run.id }, run.createdAt);
    });
  }

  async getRun(id: string): Promise<DriftRun | undefined> {
    const row = this.q.driftRun.get(id) as { result: string } | undefined;
    return row && runOfStored(row.result);
  }

  async latestRun(name?: string): Promise<DriftRun | undefined> {
    const row = (name === undefined ? this.q.latestDriftRunAny.get() : this.q.latestDriftRun.get(name)) as { result: string } | undefined;
    return row && runOfStored(row.result);
  }

  async latestRuns(): Promise<DriftRun[]> {
    return (this.q.latestDriftRunsPerModel.all() as Array<{ result: string }>).map((r) => runOfStored(r.result));
  }
}
