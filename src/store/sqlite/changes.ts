import type { Statement } from 'better-sqlite3';
import type { ChangeFeed } from '../../serving/ports.js';
import type { SqliteConnection } from './connection.js';

/** How stale routing may be about another process's registry changes (see token). */
export const OTHER_PROCESS_CHECK_MS = 50;

/**
 * Changes from this connection (counted as they are made) and from other processes on the same
 * file (SQLite's data_version, which counts only other connections' commits).
 */
export class SqliteChangeFeed implements ChangeFeed {
  private dataVersion = 0;
  private dataVersionReadAt = Number.NEGATIVE_INFINITY;
  private readonly read: Statement;

  constructor(private readonly c: SqliteConnection) {
    this.read = c.db.prepare('PRAGMA data_version').pluck();
  }

  token(): number {
    // Reading data_version takes a WAL read lock (two system calls, ~10 µs): on the predict
    // path that is more than the model run, so another process's commits are looked for at
    // most every OTHER_PROCESS_CHECK_MS. This process's own writes count at once.
    const now = performance.now();
    if (now - this.dataVersionReadAt >= OTHER_PROCESS_CHECK_MS) {
      this.dataVersion = this.read.get() as number;
      this.dataVersionReadAt = now;
    }
    // Both counters only grow, so this sum grows whenever either does: a number, not a string
    // to build and compare on every prediction.
    return this.dataVersion * 2 ** 20 + this.c.localWrites;
  }
}
