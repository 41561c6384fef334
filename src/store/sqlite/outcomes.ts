import type { Statement } from 'better-sqlite3';
import type { LoggedEntry, OutcomeRow, OutcomeStore, OutcomeWindow, StoredOutcome } from '../../performance/ports.js';
import type { Actor } from '../../registry/types.js';
import { blobOf, entryOf, OUTCOME_COLUMNS, outcomeOf, type EntryRow, type OutcomeDbRow } from '../outcome-rows.js';
import type { SqliteConnection } from './connection.js';

/** Outcomes on SQLite: the join probes the log's (model_name, created_at) and time indexes by each id's time. */
export class SqliteOutcomeStore implements OutcomeStore {
  readonly q: Record<string, Statement>;

  constructor(private readonly c: SqliteConnection) {
    const db = c.db;
    this.q = {
      entry: db.prepare('SELECT id, created_at, model_name, version, ok, row_indices, output, routing_key FROM predictions INDEXED BY predictions_time WHERE created_at = ? AND id = ?'),
      // MIN(seq) reads one end of the table's B-tree; entries are trimmed from the old end.
      oldest: db.prepare('SELECT created_at FROM predictions WHERE seq = (SELECT MIN(seq) FROM predictions)'),
      existing: db.prepare('SELECT 1 FROM outcomes WHERE prediction_id = ?').pluck(),
      upsert: db.prepare(`INSERT INTO outcomes (${OUTCOME_COLUMNS})
        VALUES (@predictionId, @name, @version, @predictedAt, @routingKey, @predicted, @actual, @predictedLabel, @actualLabel, @probabilities, @now)
        ON CONFLICT (prediction_id) DO UPDATE SET model_name = excluded.model_name, version = excluded.version, predicted_at = excluded.predicted_at,
          routing_key = excluded.routing_key, predicted = excluded.predicted, actual = excluded.actual, predicted_label = excluded.predicted_label,
          actual_label = excluded.actual_label, probabilities = excluded.probabilities, recorded_at = excluded.recorded_at, revisions = outcomes.revisions + 1
        RETURNING revisions`).pluck(),
      models: db.prepare('SELECT DISTINCT model_name FROM outcomes ORDER BY model_name').pluck(),
    };
  }

  async findPredictions(keys: ReadonlyArray<{ id: string; createdAt: string }>): Promise<LoggedEntry[]> {
    const out: LoggedEntry[] = [];
    const read = this.c.db.transaction(() => {
      for (const k of keys) for (const r of this.q.entry.all(k.createdAt, k.id) as EntryRow[]) out.push(entryOf(r));
    });
    read.deferred();
    return out;
  }

  async oldestPrediction(): Promise<string | null> {
    return (this.q.oldest.get() as { created_at: string } | undefined)?.created_at ?? null;
  }

  async existing(ids: readonly string[]): Promise<Set<string>> {
    return new Set(ids.filter((id) => this.q.existing.get(id) !== undefined));
  }

  async record(name: string, rows: readonly OutcomeRow[], who: Actor, details: Record<string, unknown>): Promise<{ replaced: number; recordedAt: string }> {
    return this.c.write(() => {
      const now = this.c.now();
      let replaced = 0;
      for (const r of rows) {
        if ((this.q.upsert.get({ ...r, probabilities: blobOf(r.probabilities), now }) as number) > 0) replaced++;
      }
      this.c.audit({ name, version: null, action: 'record_outcomes', from: null, to: null, who, now, details: { ...details, replaced } });
      return { replaced, recordedAt: now };
    });
  }

  async outcomes(name: string, window: OutcomeWindow): Promise<StoredOutcome[]> {
    const where = ['model_name = @name'];
    const params: Record<string, unknown> = { name, lastN: window.lastN };
    if (window.version !== undefined) (where.push('version = @version'), (params.version = window.version));
    if (window.since !== undefined) (where.push('predicted_at >= @since'), (params.since = window.since));
    if (window.until !== undefined) (where.push('predicted_at < @until'), (params.until = window.until));
    const sql = `SELECT ${OUTCOME_COLUMNS} FROM outcomes WHERE ${where.join(' AND ')} ORDER BY predicted_at DESC, prediction_id DESC LIMIT @lastN`;
    return (this.c.db.prepare(sql).all(params) as OutcomeDbRow[]).map(outcomeOf);
  }

  async modelsWithOutcomes(): Promise<string[]> {
    return this.q.models.all() as string[];
  }
}
