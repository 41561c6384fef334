/**
 * The engines the store contract runs on: every test in test/store/contract runs once per engine,
 * against a real database (a SQLite file in a temp dir; a fresh database on the run's PostgreSQL
 * server). A third adapter joins by adding an entry here.
 */
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe } from 'vitest';
import { openPostgresStore } from '../../../src/store/postgres/index.js';
import { openSqliteStore } from '../../../src/store/sqlite/index.js';
import type { Store, StoreOptions } from '../../../src/store/store.js';
import { tempDir } from '../../helpers.js';
import { freshDatabase, postgresUrl, sql } from '../../postgres/server.js';

export const silent = pino({ level: 'silent' });

/** One database, and as many stores (connections, as separate servers would hold) on it as a test asks for. */
export interface Database {
  /** A new store on this database. */
  open(options?: StoreOptions): Promise<Store>;
  /** Rows of a query, written for both engines (`?` placeholders; standard SQL). */
  rows<R>(query: string, values?: unknown[]): Promise<R[]>;
  /** Runs a statement on its own connection, as another release of the server would (`?` placeholders). */
  write(statement: string, values?: unknown[]): Promise<void>;
}

export interface Engine {
  name: 'sqlite' | 'postgresql';
  available: boolean;
  /** A new, empty database, its stores closed after the test. */
  database(): Promise<Database>;
}

const opened: Store[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => undefined);
});

const keep = (s: Store) => (opened.push(s), s);

export const ENGINES: Engine[] = [
  {
    name: 'sqlite',
    available: true,
    async database() {
      const file = path.join(tempDir(), 'registry.db');
      return {
        open: async (options) => keep(openSqliteStore(file, silent, options)),
        async rows<R>(query: string, values: unknown[] = []) {
          const Database = (await import('better-sqlite3')).default;
          const db = new Database(file, { readonly: true });
          try {
            return db.prepare(query).all(...values) as R[];
          } finally {
            db.close();
          }
        },
        async write(statement: string, values: unknown[] = []) {
          const Database = (await import('better-sqlite3')).default;
          const db = new Database(file);
          try {
            db.prepare(statement).run(...values);
          } finally {
            db.close();
          }
        },
      };
    },
  },
  {
    name: 'postgresql',
    available: postgresUrl !== null,
    async database() {
      const url = await freshDatabase();
      return {
        open: async (options) => keep(await openPostgresStore(url, silent, { poolSize: 5, ...options })),
        rows: <R>(query: string, values: unknown[] = []) => {
          let n = 0;
          return sql(
            url,
            query.replace(/\?/g, () => `$${++n}`),
            values,
          ) as Promise<R[]>;
        },
        async write(statement: string, values: unknown[] = []) {
          let n = 0;
          await sql(
            url,
            statement.replace(/\?/g, () => `$${++n}`),
            values,
          );
        },
      };
    },
  },
];

/** `describe` once per engine; an engine that is not installed is skipped (the global setup said why). */
export function describeEachEngine(title: string, body: (engine: Engine) => void): void {
  for (const engine of ENGINES) describe.skipIf(!engine.available)(`${title} (${engine.name})`, () => body(engine));
}
