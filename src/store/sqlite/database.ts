import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { isSqliteBusy } from './errors.js';
import type { Logger } from '../../logger.js';
import { migrations, type Migration } from './migrations.js';

export type Db = Database.Database;

/**
 * Opens registry.db: WAL (readers never block the writer), a busy timeout so a second process
 * on the same home waits instead of failing, foreign keys on, and every pending migration
 * applied — each in an IMMEDIATE transaction that re-reads the schema version, so two
 * processes starting together apply each migration exactly once.
 */
export function openDatabase(dbPath: string, logger: Logger, list: readonly Migration[] = migrations): Db {
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  const db = new Database(dbPath, { timeout: OPEN_TIMEOUT_MS });
  enableWal(db);
  // NORMAL in WAL mode: a committed transaction survives a process crash; only an OS crash or
  // power loss can lose the last few (documented in docs/operations.md).
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  applyMigrations(db, logger, list);
  return db;
}

/**
 * journal_mode = WAL, retried while the database is busy. On a new file two processes starting
 * together (a supported setup) can both try to switch it: SQLite answers one of them
 * SQLITE_BUSY at once, without waiting in its busy handler (a lock upgrade it refuses to wait
 * for, to avoid a deadlock), and the server failed to start — 3 of 40 paired starts here.
 */
function enableWal(db: Db): void {
  const deadline = Date.now() + OPEN_TIMEOUT_MS;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (e) {
      if (!isSqliteBusy(e) || Date.now() > deadline) throw e;
      Atomics.wait(PAUSE, 0, 0, 10 + Math.random() * 20); // synchronous: nothing else may use the database yet
    }
  }
}

const OPEN_TIMEOUT_MS = 5000;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function applyMigrations(db: Db, logger: Logger, list: readonly Migration[]): void {
  for (const migration of list) {
    const apply = db.transaction(() => {
      if (schemaVersion(db) >= migration.version) return false;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
      return true;
    });
    if (apply.immediate()) logger.info({ migration: migration.version, name: migration.name }, 'applied migration');
  }
}
