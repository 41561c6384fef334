import type { Statement } from 'better-sqlite3';
import { OutcomeColumnsBuilder } from '../../performance/columns.js';
import type { LoggedEntry, OutcomeColumns, OutcomeRow, OutcomeStore, OutcomeWindow } from '../../performance/ports.js';
import type { Actor } from '../../registry/types.js';
import { entryOf, OUTCOME_COLUMNS, WINDOW_NAMES, windowColumns, type EntryRow } from '../outcome-rows.js';
import type { SqliteConnection } from './connection.js';
import type { Db } from './database.js';
import { Where } from './where.js';

/** The aggregate that reads a window into columns: one call per row with its scalars, no row object. */
const COLLECT = 'mlops_outcome_columns';

/**
 * Where each connection's aggregate leaves the columns it filled (its SQL result cannot carry
 * them): one slot per connection, as SQLite keeps one function of a name per connection, and the
 * statement that fills it runs synchronously.
 */
const collected = new WeakMap<Db, { columns: OutcomeColumns | null }>();

function collector(db: Db): { columns: OutcomeColumns | null } {
  const known = collected.get(db);
  if (known) return known;
  const slot: { columns: OutcomeColumns | null } = { columns: null };
  collected.set(db, slot);
  // Nine named parameters: better-sqlite3 takes the aggregate's arity from step's length (its
  // types know one argument only).
  type N = number | null;
  type S = string | null;
  const step = (b: OutcomeColumnsBuilder, v: string, t: number, p: N, a: N, pl: S, al: S, pa: N, br: N, pp: N) => b.push(v, t, p, a, pl, al, pa, br, pp);
  db.aggregate(COLLECT, {
    start: () => new OutcomeColumnsBuilder(),
    step: step as unknown as (b: OutcomeColumnsBuilder) => void,
    result: (b: OutcomeColumnsBuilder) => {
      const columns = b.build();
      slot.columns = columns;
      return columns.length;
    },
  });
  return slot;
}

/**
 * Outcomes on SQLite: the join probes the log's created_at index with each id's time; a window is
 * a range of the table itself. Prediction times are epoch ms here, probabilities JSON text.
 */
export class SqliteOutcomeStore implements OutcomeStore {
  readonly q: Record<string, Statement>;

  private readonly collected: { columns: OutcomeColumns | null };

  constructor(private readonly c: SqliteConnection) {
    const db = c.db;
    this.collected = collector(db);
    this.q = {
      entry: db.prepare(
        'SELECT id, created_at, model_name, version, ok, row_indices, output, routing_key FROM predictions INDEXED BY predictions_time WHERE created_at = ? AND id = ?',
      ),
      // MIN(seq) reads one end of the table's B-tree; entries are trimmed from the old end.
      oldest: db.prepare('SELECT created_at FROM predictions WHERE seq = (SELECT MIN(seq) FROM predictions)'),
      existing: db.prepare('SELECT prediction_id FROM outcomes WHERE prediction_id IN (SELECT value FROM json_each(?))').pluck(),
      // Every row of a call in one statement, from one JSON array of rows (SQLite parses it: no
      // statement run per row). A replaced outcome's model and time are its prediction's, so
      // its place in the table stays.
      upsert: db.prepare(`INSERT INTO outcomes (${OUTCOME_COLUMNS})
        SELECT r.value ->> 0, ?, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4, r.value ->> 5, r.value ->> 6, r.value ->> 7, r.value ->> 8,
          r.value ->> 9, r.value ->> 10, r.value ->> 11, ?
        FROM json_each(?) AS r WHERE true
        ON CONFLICT (prediction_id) DO UPDATE SET version = excluded.version, routing_key = excluded.routing_key, predicted = excluded.predicted,
          actual = excluded.actual, predicted_label = excluded.predicted_label, actual_label = excluded.actual_label,
          probabilities = excluded.probabilities, p_actual = excluded.p_actual, brier = excluded.brier, p_positive = excluded.p_positive,
          recorded_at = excluded.recorded_at, revisions = outcomes.revisions + 1`),
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
    return new Set(this.q.existing.all(JSON.stringify(ids)) as string[]);
  }

  async record(name: string, rows: readonly OutcomeRow[], who: Actor, details: Record<string, unknown>): Promise<{ replaced: number; recordedAt: string }> {
    const ids = JSON.stringify(rows.map((r) => r.predictionId));
    const json = JSON.stringify(
      rows.map((r) => [
        r.predictionId,
        r.version,
        r.predictedAt,
        r.routingKey,
        r.predicted,
        r.actual,
        r.predictedLabel,
        r.actualLabel,
        r.probabilities && Array.from(r.probabilities),
        r.pActual,
        r.brier,
        r.pPositive,
      ]),
    );
    return this.c.write(() => {
      const now = this.c.now();
      // In the write's IMMEDIATE transaction: no other writer between the count and the upsert.
      const replaced = (this.q.existing.all(ids) as string[]).length;
      this.q.upsert.run(name, now, json);
      this.c.audit({ name, version: null, action: 'record_outcomes', from: null, to: null, who, now, details: { ...details, replaced } });
      return { replaced, recordedAt: now };
    });
  }

  async outcomes(name: string, window: OutcomeWindow): Promise<OutcomeColumns> {
    const epochMs = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));
    const where = new Where(['model_name = @name'], { name, lastN: window.lastN })
      .when(window.version, 'version = @version', 'version')
      .when(epochMs(window.since), 'predicted_at >= @since', 'since')
      .when(epochMs(window.until), 'predicted_at < @until', 'until');
    // The aggregate takes the subquery's rows in its order (newest first).
    const sql = `SELECT ${COLLECT}(${WINDOW_NAMES}) FROM (SELECT ${windowColumns(window.task).join(', ')} FROM outcomes
      WHERE ${where.sql} ORDER BY predicted_at DESC, prediction_id DESC LIMIT @lastN)`;
    this.collected.columns = null;
    this.c.db.prepare(sql).pluck().get(where.params);
    const read = this.collected.columns as OutcomeColumns | null;
    this.collected.columns = null;
    return read ?? new OutcomeColumnsBuilder().build();
  }

  async modelsWithOutcomes(): Promise<string[]> {
    return this.q.models.all() as string[];
  }
}
