import type { Statement } from 'better-sqlite3';
import type { LoggedFeatures, LogWindow, PredictionLogStore, PredictionSink, VariantTally, WriterProgress } from '../../serving/ports.js';
import type { SqliteConnection } from './connection.js';
import { PredictionWriter } from './log-writer.js';
import { newestRows, sumParts, type TallyPart as Part } from '../log-reading.js';
import { decodeFeatures } from './rows.js';
import { Where } from './where.js';

/** The prediction log on SQLite: written by a PredictionWriter thread, read here. */
export class SqlitePredictionLogStore implements PredictionLogStore {
  readonly q: Record<string, Statement>;

  constructor(
    private readonly c: SqliteConnection,
    private readonly dbPath: string,
  ) {
    const db = c.db;
    this.q = {
      writerProgress: db.prepare('SELECT batch, entries FROM prediction_log_progress WHERE writer = ?'),
      minutesAfter: db.prepare(
        'SELECT version, SUM(count) AS n, SUM(errors) AS errors, SUM(value_sum) AS value_sum, SUM(value_n) AS value_n FROM prediction_minutes WHERE model_name = ? AND minute > ? GROUP BY version',
      ),
      secondsWithin: db.prepare(
        'SELECT version, SUM(count) AS n, SUM(errors) AS errors, SUM(value_sum) AS value_sum, SUM(value_n) AS value_n FROM prediction_seconds WHERE model_name = ? AND second > ? AND second < ? GROUP BY version',
      ),
      partialSecond: db.prepare(
        'SELECT version, SUM(row_count) AS n, SUM((1 - ok) * row_count) AS errors, SUM(value_sum) AS value_sum, SUM(value_n) AS value_n FROM predictions WHERE model_name = ? AND created_at >= ? AND created_at < ? GROUP BY version',
      ),
      // From the newest entry's end to the oldest's start in row_offset, not SUM(row_count) (a scan
      // of the whole log): entries are deleted from the old end (trimming by count, and by age,
      // which follows seq but for a straggler), so that is the count or a few over. Each end is
      // found by MIN or MAX of the key alone (SQLite reads that from one end of the B-tree).
      countPredictions: db.prepare(
        `SELECT coalesce((SELECT row_offset + row_count FROM predictions WHERE seq = (SELECT MAX(seq) FROM predictions))
           - (SELECT row_offset FROM predictions WHERE seq = (SELECT MIN(seq) FROM predictions)), 0) AS n`,
      ),
    };
  }

  /**
   * Whole minutes after since's minute from prediction_minutes, whole seconds after since's
   * second within that minute from prediction_seconds, and the rest of since's own second from
   * the log itself; with the writer's progress row, in one snapshot.
   */
  async tallies(name: string, since: string, writerId: string): Promise<{ tallies: Map<string | null, VariantTally>; progress: WriterProgress | null }> {
    const minute = since.slice(0, 16);
    const second = since.slice(0, 19);
    const nextSecond = new Date(Date.parse(`${second}.000Z`) + 1000).toISOString();
    const read = this.c.db.transaction(() => ({
      parts: [
        ...(this.q.minutesAfter.all(name, minute) as Part[]),
        ...(this.q.secondsWithin.all(name, second, `${minute}:99`) as Part[]),
        ...(this.q.partialSecond.all(name, since, nextSecond) as Part[]),
      ],
      progress: (this.q.writerProgress.get(writerId) as WriterProgress | undefined) ?? null,
    }));
    const { parts, progress } = read.deferred();
    return { tallies: sumParts(parts), progress };
  }

  async count(): Promise<number> {
    return (this.q.countPredictions.get() as { n: number }).n;
  }

  async loggedFeatures(name: string, window: LogWindow): Promise<LoggedFeatures[]> {
    const where = new Where(['model_name = @name', 'ok = 1', 'features IS NOT NULL'], { name })
      .when(window.version, 'version = @version', 'version')
      .when(window.since, 'created_at >= @since', 'since');
    const sql = `SELECT version, row_count, width, features FROM predictions WHERE ${where.sql} ORDER BY created_at DESC, seq DESC`;
    const out: LoggedFeatures[] = [];
    let left = window.lastN ?? Number.POSITIVE_INFINITY;
    for (const row of this.c.db.prepare(sql).iterate(where.params) as Iterable<{
      version: string;
      row_count: number;
      width: number | null;
      features: Buffer | string;
    }>) {
      if (left <= 0) break;
      const entry = decodeFeatures(row);
      if (!entry) continue;
      out.push(newestRows(entry, left));
      left -= Math.min(entry.rows, left);
    }
    return out;
  }

  openSink(): PredictionSink {
    return new PredictionWriter(this.dbPath, (writerId) => (this.q.writerProgress.get(writerId) as WriterProgress | undefined) ?? null);
  }
}
