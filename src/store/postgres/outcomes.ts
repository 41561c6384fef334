import type { LoggedEntry, OutcomeRow, OutcomeStore, OutcomeWindow, StoredOutcome } from '../../performance/ports.js';
import type { Actor } from '../../registry/types.js';
import { blobOf, entryOf, OUTCOME_COLUMNS, outcomeOf, outcomeWindowColumns, type EntryRow, type OutcomeDbRow } from '../outcome-rows.js';
import type { PostgresConnection } from './connection.js';


const WINDOW_COLUMNS = outcomeWindowColumns("(extract(epoch FROM predicted_at) * 1000)::float8");
/**
 * Outcomes on PostgreSQL. The join is one statement over the keys, bounded by their earliest and
 * latest time so that only the partitions of those days are probed; the write is one upsert
 * (ids in order, so two servers recording overlapping outcomes lock rows in the same order).
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
      const [{ replaced }] = await tx.query<{ replaced: number }>(
        `WITH up AS (
           INSERT INTO outcomes (${OUTCOME_COLUMNS})
           SELECT u.prediction_id, u.model_name, u.version, to_timestamp(u.predicted_at / 1000.0), u.routing_key, u.predicted, u.actual, u.predicted_label, u.actual_label,
               u.probabilities, u.p_actual, u.brier, u.p_positive, $14::timestamptz
             FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::float8[], $7::float8[], $8::text[], $9::text[], $10::bytea[],
               $11::float8[], $12::float8[], $13::float8[])
             AS u(prediction_id, model_name, version, predicted_at, routing_key, predicted, actual, predicted_label, actual_label, probabilities, p_actual, brier, p_positive)
           ON CONFLICT (prediction_id) DO UPDATE SET model_name = excluded.model_name, version = excluded.version, predicted_at = excluded.predicted_at,
             routing_key = excluded.routing_key, predicted = excluded.predicted, actual = excluded.actual, predicted_label = excluded.predicted_label,
             actual_label = excluded.actual_label, probabilities = excluded.probabilities, p_actual = excluded.p_actual, brier = excluded.brier,
             p_positive = excluded.p_positive, recorded_at = excluded.recorded_at, revisions = outcomes.revisions + 1
           RETURNING revisions
         )
         SELECT count(*) FILTER (WHERE revisions > 0)::int AS replaced FROM up`,
        [
          sorted.map((r) => r.predictionId),
          sorted.map((r) => r.name),
          sorted.map((r) => r.version),
          sorted.map((r) => r.predictedAt),
          sorted.map((r) => r.routingKey),
          sorted.map((r) => r.predicted),
          sorted.map((r) => r.actual),
          sorted.map((r) => r.predictedLabel),
          sorted.map((r) => r.actualLabel),
          sorted.map((r) => blobOf(r.probabilities)),
          sorted.map((r) => r.pActual),
          sorted.map((r) => r.brier),
          sorted.map((r) => r.pPositive),
          now,
        ],
      );
      await tx.effects().audit({ name, version: null, action: 'record_outcomes', from: null, to: null, who, now, details: { ...details, replaced } }).write();
      return { replaced, recordedAt: now };
    });
  }

  async outcomes(name: string, window: OutcomeWindow): Promise<StoredOutcome[]> {
    const values: unknown[] = [name];
    const param = (v: unknown) => `$${values.push(v)}`;
    const where = ['model_name = $1'];
    if (window.version !== undefined) where.push(`version = ${param(window.version)}`);
    if (window.since !== undefined) where.push(`predicted_at >= ${param(window.since)}::timestamptz`);
    if (window.until !== undefined) where.push(`predicted_at < ${param(window.until)}::timestamptz`);
    const rows = await this.c.queryArrays<OutcomeDbRow>(
      `SELECT ${WINDOW_COLUMNS} FROM outcomes WHERE ${where.join(' AND ')} ORDER BY predicted_at DESC, prediction_id DESC LIMIT ${param(window.lastN)}`,
      values,
    );
    return rows.map(outcomeOf);
  }

  async modelsWithOutcomes(): Promise<string[]> {
    return (await this.c.query<{ model_name: string }>('SELECT DISTINCT model_name FROM outcomes ORDER BY model_name')).map((r) => r.model_name);
  }
}
