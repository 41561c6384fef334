import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../logger.js';
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
  const db = new Database(dbPath, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a committed transaction survives a process crash; only an OS crash or
  // power loss can lose the last few (documented in docs/operations.md).
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  applyMigrations(db, logger, list);
  return db;
}

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
