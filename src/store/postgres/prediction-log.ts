import type { LoggedFeatures, LogWindow, PredictionLogStore, PredictionSink, VariantTally, WriterProgress } from '../../serving/ports.js';
import { float64sOf, newestRows, sumParts, type TallyPart } from '../log-reading.js';
import type { PostgresConnection } from './connection.js';
import { PostgresLogWriter } from './log-writer.js';

/** Entries read per round trip of a drift window (newest first, until last_n rows are found). */
const WINDOW_PAGE = 2000;

type TallyRow = TallyPart & { batch: number | null; entries: number | null };

/** The prediction log on PostgreSQL: every server's writer copies its entries in; read here. */
export class PostgresPredictionLogStore implements PredictionLogStore {
  constructor(
    private readonly c: PostgresConnection,
    private readonly url: string,
  ) {}

  /**
   * Whole minutes after since's minute, whole seconds after since's second within that minute,
   * the rest of since's own second from the log itself, and the writer's progress row: one
   * statement, so one snapshot. Every writer's rows count.
   */
  async tallies(name: string, since: string, writerId: string): Promise<{ tallies: Map<string | null, VariantTally>; progress: WriterProgress | null }> {
    const rows = await this.c.query<TallyRow>(
      `SELECT version, sum(count) AS n, sum(errors) AS errors, sum(value_sum) AS value_sum, sum(value_n) AS value_n, NULL::bigint AS batch, NULL::int AS entries
         FROM prediction_minutes WHERE model_name = $1 AND minute > date_trunc('minute', $2::timestamptz) GROUP BY version
       UNION ALL
       SELECT version, sum(count), sum(errors), sum(value_sum), sum(value_n), NULL, NULL
         FROM prediction_seconds WHERE model_name = $1 AND second > date_trunc('second', $2::timestamptz)
           AND second < date_trunc('minute', $2::timestamptz) + interval '1 minute' GROUP BY version
       UNION ALL
       SELECT coalesce(version, ''), sum(row_count), sum(CASE WHEN ok THEN 0 ELSE row_count END), sum(value_sum), sum(value_n), NULL, NULL
         FROM predictions WHERE model_name = $1 AND created_at >= $2::timestamptz
           AND created_at < date_trunc('second', $2::timestamptz) + interval '1 second' GROUP BY version
       UNION ALL
       SELECT NULL, 0, 0, 0, 0, batch, entries FROM prediction_log_progress WHERE writer = $3`,
      [name, since, writerId],
    );
    const progressRow = rows.find((r) => r.batch !== null);
    return {
      tallies: sumParts(rows.filter((r) => r.batch === null)),
      progress: progressRow ? { batch: Number(progressRow.batch), entries: Number(progressRow.entries) } : null,
    };
  }

  async count(): Promise<number> {
    return Number((await this.c.query<{ n: number | null }>('SELECT sum(rows)::bigint AS n FROM prediction_days'))[0].n ?? 0);
  }

  /** Newest first, a page of entries per round trip (keyset on created_at, seq) until last_n rows are found. */
  async loggedFeatures(name: string, window: LogWindow): Promise<LoggedFeatures[]> {
    const out: LoggedFeatures[] = [];
    let left = window.lastN ?? Number.POSITIVE_INFINITY;
    let after: { createdAt: string; seq: number } | null = null;
    while (left > 0) {
      const values: unknown[] = [name];
      const param = (v: unknown) => `$${values.push(v)}`;
      const where = ['model_name = $1', 'ok', 'features IS NOT NULL'];
      if (window.version !== undefined) where.push(`version = ${param(window.version)}`);
      if (window.since !== undefined) where.push(`created_at >= ${param(window.since)}`);
      if (after) where.push(`(created_at, seq) < (${param(after.createdAt)}::timestamptz, ${param(after.seq)}::bigint)`);
      const page = await this.c.query<{ version: string; row_count: number; width: number; features: Buffer; created_at: string; seq: number }>(
        `SELECT version, row_count, width, features, created_at, seq FROM predictions WHERE ${where.join(' AND ')}
         ORDER BY created_at DESC, seq DESC LIMIT ${WINDOW_PAGE}`,
        values,
      );
      for (const row of page) {
        if (left <= 0) break;
        if (!row.width || row.features.byteLength !== row.row_count * row.width * 8) continue;
        const entry = { version: row.version, rows: row.row_count, width: row.width, values: float64sOf(row.features) };
        out.push(newestRows(entry, left));
        left -= Math.min(entry.rows, left);
      }
      if (page.length < WINDOW_PAGE) break;
      const last = page[page.length - 1];
      after = { createdAt: last.created_at, seq: last.seq };
    }
    return out;
  }

  openSink(): PredictionSink {
    return new PostgresLogWriter(this.url);
  }
}
