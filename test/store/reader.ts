/**
 * Rows of a registry database read as a person with its own client would, whichever the engine:
 * SQL with `?` placeholders, answered as plain rows (numbers as numbers, JSON as text). For tests
 * that check what a server left behind (crashes, two servers, the prediction log).
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

export interface StoreReader {
  readonly engine: 'sqlite' | 'postgresql';
  all<R>(query: string, values?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

/** A reader for the store a server with this environment uses: MLOPS_MCP_DATABASE_URL, else MLOPS_MCP_HOME's registry.db. */
export async function readerFor(env: { MLOPS_MCP_HOME?: string; MLOPS_MCP_DATABASE_URL?: string }): Promise<StoreReader> {
  if (env.MLOPS_MCP_DATABASE_URL) {
    const client = new pg.Client({ connectionString: env.MLOPS_MCP_DATABASE_URL });
    // Counts, ids and JSON as SQLite's driver gives them.
    client.setTypeParser(20, (v: string) => Number(v));
    client.setTypeParser(1700, (v: string) => Number(v));
    client.setTypeParser(114, (v: string) => v);
    await client.connect();
    return {
      engine: 'postgresql',
      all: async <R>(query: string, values: unknown[] = []) => {
        let n = 0;
        return (
          await client.query(
            query.replace(/\?/g, () => `$${++n}`),
            values,
          )
        ).rows as R[];
      },
      close: () => client.end(),
    };
  }
  const db = new Database(path.join(env.MLOPS_MCP_HOME!, 'registry.db'), { readonly: true, fileMustExist: true });
  return {
    engine: 'sqlite',
    all: async <R>(query: string, values: unknown[] = []) => db.prepare(query).all(...values) as R[],
    close: async () => {
      db.close();
    },
  };
}
