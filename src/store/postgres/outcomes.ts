import type { LoggedEntry, OutcomeColumns, OutcomeRow, OutcomeStore, OutcomeWindow } from '../../performance/ports.js';
import type { Actor } from '../../registry/types.js';
import { entryOf, OUTCOME_COLUMNS, type EntryRow } from '../outcome-rows.js';
import { columnsOfRow, windowColumnsSql, type WindowColumnsRow } from './window-columns.js';
import { pgText, type PostgresConnection, type Tx } from './connection.js';
import { COPY_OUTCOMES, outcomesCopy } from './outcome-copy.js';

/** PostgreSQL's SQLSTATE for a duplicate key. */
const UNIQUE_VIOLATION = '23505';

/**
 * Outcomes on PostgreSQL. The join is one statement over the keys, bounded by their earliest and
 * latest time so that only the partitions of those days are probed. The write is a COPY of the
 * rows when none has an outcome yet, else one upsert; both take the ids in order, so a server
 * waiting for another's row holds only smaller ids than it, and overlapping writes never deadlock.
 */
export class PostgresOutcomeStore implements OutcomeStore {
  constructor(private readonly c: PostgresConnection) {}

  async findPredictions(keys: ReadonlyArray<{ id: string; createdAt: string }>): Promise<LoggedEntry[]> {
    if (!keys.length) return [];
    let first = keys[0].createdAt;
    let last = first;
    for (const k of keys) {
      if (k.createdAt < first) first = k.createdAt;
      if (k.createdAt > last) last = k.createdAt;
    }
    const rows = await this.c.query<EntryRow>(
      `SELECT p.id, p.created_at, p.model_name, p.version, p.ok, p.row_indices, p.output, p.routing_key
         FROM unnest($1::text[], $2::timestamptz[]) AS k(id, at)
         JOIN predictions p ON p.created_at = k.at AND p.id = k.id
        WHERE p.created_at >= $3::timestamptz AND p.created_at <= $4::timestamptz`,
      [keys.map((k) => k.id), keys.map((k) => k.createdAt), first, last],
    );
    return rows.map(entryOf);
  }

  async oldestPrediction(): Promise<string | null> {
    return (await this.c.query<{ t: string | null }>('SELECT min(created_at) AS t FROM predictions'))[0].t;
  }

  async existing(ids: readonly string[]): Promise<Set<string>> {
    const rows = await this.c.query<{ prediction_id: string }>('SELECT prediction_id FROM outcomes WHERE prediction_id = ANY($1::text[])', [ids]);
    return new Set(rows.map((r) => r.prediction_id));
  }

  async record(name: string, rows: readonly OutcomeRow[], who: Actor, details: Record<string, unknown>): Promise<{ replaced: number; recordedAt: string }> {
    const sorted = [...rows].sort((a, b) => (a.predictionId < b.predictionId ? -1 : a.predictionId > b.predictionId ? 1 : 0));
    return this.c.write(async (tx) => {
      const now = this.c.now();
      const replaced = (await this.insertNew(tx, name, sorted, now)) ? 0 : await this.upsert(tx, name, sorted, now);
      await tx
        .effects()
        .audit({ name, version: null, action: 'record_outcomes', from: null, to: null, who, now, details: { ...details, replaced } })
        .write();
      return { replaced, recordedAt: now };
    });
  }

  /**
   * Inserts the rows by COPY in binary, the common case (outcomes of predictions that have none
   * yet): no speculative insertion, no value parsed from text, heap pages filled many rows per WAL
   * record. false, with nothing written, when one of them has an outcome already (or another
   * server inserts one meanwhile: COPY waits for that server's transaction, then fails).
   */
  private async insertNew(tx: Tx, name: string, sorted: readonly OutcomeRow[], now: string): Promise<boolean> {
    await tx.query('SAVEPOINT outcomes_copy');
    try {
      await tx.copyIn(COPY_OUTCOMES, outcomesCopy(name, sorted, now));
    } catch (e) {
      if ((e as { code?: unknown }).code !== UNIQUE_VIOLATION) throw e;
      await tx.query('ROLLBACK TO SAVEPOINT outcomes_copy');
      return false;
    }
    await tx.query('RELEASE SAVEPOINT outcomes_copy');
    return true;
  }

  /** Inserts or replaces each row; answers how many replaced an earlier outcome. */
  private async upsert(tx: Tx, name: string, sorted: readonly OutcomeRow[], now: string): Promise<number> {
    // One JSON parameter (PostgreSQL parses it faster than thirteen arrays, and it carries the
    // probabilities as an array of float8 as they are stored); text that JSON could carry but
    // PostgreSQL's text cannot (U+0000) is kept as U+FFFD, as every write of this store does.
    const [{ replaced }] = await tx.query<{ replaced: number }>(
      `WITH up AS (
         INSERT INTO outcomes (${OUTCOME_COLUMNS})
         SELECT r.i, $2, r.v, to_timestamp(r.t / 1000.0), r.k, r.p, r.a, r.pl, r.al, r.pr, r.pa, r.b, r.pp, $3::timestamptz
           FROM json_to_recordset($1::json) AS r(i text, v text, t float8, k text, p float8, a float8, pl text, al text, pr float8[], pa float8, b float8, pp float8)
         ON CONFLICT (prediction_id) DO UPDATE SET version = excluded.version, routing_key = excluded.routing_key, predicted = excluded.predicted,
           actual = excluded.actual, predicted_label = excluded.predicted_label, actual_label = excluded.actual_label, probabilities = excluded.probabilities,
           p_actual = excluded.p_actual, brier = excluded.brier, p_positive = excluded.p_positive, recorded_at = excluded.recorded_at, revisions = outcomes.revisions + 1
         RETURNING revisions
       )
       SELECT count(*) FILTER (WHERE revisions > 0)::int AS replaced FROM up`,
      [
        JSON.stringify(
          sorted.map((r) => ({
            i: r.predictionId,
            v: pgText(r.version),
            t: r.predictedAt,
            k: r.routingKey && pgText(r.routingKey),
            p: r.predicted,
            a: r.actual,
            pl: r.predictedLabel && pgText(r.predictedLabel),
            al: r.actualLabel && pgText(r.actualLabel),
            pr: r.probabilities && Array.from(r.probabilities),
            pa: r.pActual,
            b: r.brier,
            pp: r.pPositive,
          })),
        ),
        name,
        now,
      ],
    );
    return replaced;
  }

  async outcomes(name: string, window: OutcomeWindow): Promise<OutcomeColumns> {
    const values: unknown[] = [name];
    const param = (v: unknown) => `$${values.push(v)}`;
    const where = ['model_name = $1'];
    if (window.version !== undefined) where.push(`version = ${param(window.version)}`);
    if (window.since !== undefined) where.push(`predicted_at >= ${param(window.since)}::timestamptz`);
    if (window.until !== undefined) where.push(`predicted_at < ${param(window.until)}::timestamptz`);
    // Both indexes hold every window in its order (by model, or by model and version, then time):
    // a walk of one, never a sort. Without it, just after a bulk load (before autovacuum's ANALYZE)
    // the planner expects a few hundred rows and sorts 100 000 of them on disk instead.
    const [row] = await this.c.snapshot(async (tx) => {
      await tx.query('SET LOCAL enable_sort = off');
      return tx.query<WindowColumnsRow>(windowColumnsSql(where.join(' AND '), param(window.lastN), window.task), values);
    });
    return columnsOfRow(row);
  }

  async modelsWithOutcomes(): Promise<string[]> {
    return (await this.c.query<{ model_name: string }>('SELECT DISTINCT model_name FROM outcomes ORDER BY model_name')).map((r) => r.model_name);
  }
}
