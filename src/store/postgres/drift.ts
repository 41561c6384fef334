import type { AlertDraft } from '../../monitoring/alert-types.js';
import { isMonitored, type DriftReference, type DriftRun, type FeatureSummary } from '../../monitoring/drift-types.js';
import type { DriftStore, NewReference } from '../../monitoring/ports.js';
import type { Actor } from '../../registry/types.js';
import { runOfStored, storedRun } from '../drift-runs.js';
import { float64sOf } from '../log-reading.js';
import type { PostgresConnection } from './connection.js';

/** Drift references and runs on PostgreSQL; a model-wide reference is stored under version ''. */
export class PostgresDriftStore implements DriftStore {
  constructor(private readonly c: PostgresConnection) {}

  async replaceReference({ name, version, source, rows, features }: NewReference, who: Actor): Promise<{ createdAt: string; replacedRows: number | null }> {
    const key = version ?? '';
    return this.c.write(async (tx) => {
      await tx.lockModel(name);
      const now = this.c.now();
      const [before] = await tx.query<{ rows: number }>('DELETE FROM drift_references WHERE model_name = $1 AND version = $2 RETURNING rows', [name, key]);
      await tx.query('INSERT INTO drift_references (model_name, version, source, rows, created_at) VALUES ($1, $2, $3, $4, $5)', [
        name,
        key,
        source,
        rows,
        now,
      ]);
      // One statement for every feature: arrays of columns, unnested.
      await tx.query(
        `INSERT INTO drift_reference_features (model_name, version, position, feature, n, sorted_values, summary)
         SELECT $1, $2, f.position, f.feature, f.n, f.sorted_values, f.summary::json
         FROM unnest($3::int[], $4::text[], $5::int[], $6::bytea[], $7::text[]) AS f(position, feature, n, sorted_values, summary)`,
        [
          name,
          key,
          features.map((_, i) => i),
          features.map((f) => f.feature),
          features.map((f) => f.sorted.length),
          features.map((f) => Buffer.from(f.sorted.buffer, f.sorted.byteOffset, f.sorted.byteLength)),
          features.map((f) => JSON.stringify(f.summary)),
        ],
      );
      await tx
        .effects()
        .audit({
          name,
          version,
          action: 'set_drift_reference',
          from: null,
          to: null,
          who,
          now,
          details: { source, rows, features: features.map((f) => f.feature), replaced_rows: before?.rows ?? null },
        })
        .write();
      return { createdAt: now, replacedRows: before?.rows ?? null };
    });
  }

  async referenceRows(name: string, version: string | null): Promise<number | undefined> {
    const [row] = await this.c.query<{ rows: number }>('SELECT rows FROM drift_references WHERE model_name = $1 AND version = $2', [name, version ?? '']);
    return row?.rows;
  }

  async getReference(name: string, version: string | null): Promise<DriftReference | undefined> {
    const key = version ?? '';
    return this.c.snapshot(async (tx) => {
      const [head] = await tx.query<{ source: string; rows: number; created_at: string }>(
        'SELECT source, rows, created_at FROM drift_references WHERE model_name = $1 AND version = $2',
        [name, key],
      );
      if (!head) return undefined;
      const features = await tx.query<{ feature: string; sorted_values: Buffer; summary: FeatureSummary }>(
        'SELECT feature, sorted_values, summary FROM drift_reference_features WHERE model_name = $1 AND version = $2 ORDER BY position',
        [name, key],
      );
      return {
        name,
        version,
        source: head.source,
        rows: head.rows,
        createdAt: head.created_at,
        features: features.map((r) => ({ feature: r.feature, sorted: float64sOf(r.sorted_values), summary: r.summary })),
      };
    });
  }

  async referenceCount(): Promise<number> {
    return (await this.c.query<{ n: number }>('SELECT count(*) AS n FROM drift_references'))[0].n;
  }

  async insertRun(run: DriftRun, alerts: readonly AlertDraft[]): Promise<void> {
    await this.c.write(async (tx) => {
      await tx.query(
        `INSERT INTO drift_runs (id, model_name, version, source, dataset_drift, drifted_share, result, actor, created_at, monitored)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [run.id, run.name, run.version, run.source, run.datasetDrift, run.driftedShare, storedRun(run), run.actor, run.createdAt, isMonitored(run)],
      );
      const effects = tx.effects();
      if (isMonitored(run)) effects.enqueue('drift_run', run.name, { runId: run.id }, run.createdAt);
      for (const a of alerts) effects.alert(a, run.createdAt);
      await effects.write();
    });
  }

  async getRun(id: string): Promise<DriftRun | undefined> {
    const [row] = await this.c.query<{ result: object }>('SELECT result FROM drift_runs WHERE id = $1', [id]);
    return row && runOfStored(row.result);
  }

  async latestRun(name?: string): Promise<DriftRun | undefined> {
    const [row] =
      name === undefined
        ? await this.c.query<{ result: object }>('SELECT result FROM drift_runs WHERE monitored ORDER BY created_at DESC, seq DESC LIMIT 1')
        : await this.c.query<{ result: object }>(
            'SELECT result FROM drift_runs WHERE model_name = $1 AND monitored ORDER BY created_at DESC, seq DESC LIMIT 1',
            [name],
          );
    return row && runOfStored(row.result);
  }

  async latestRuns(): Promise<DriftRun[]> {
    const rows = await this.c.query<{ result: object }>(
      'SELECT DISTINCT ON (model_name) result FROM drift_runs WHERE monitored ORDER BY model_name, created_at DESC, seq DESC',
    );
    return rows.map((r) => runOfStored(r.result));
  }
}
