/**
 * PostgreSQL databases for tests, on the server test/postgres/global-setup.ts starts for the run:
 * each call gives a new database, migrated (from the template) or empty.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, inject } from 'vitest';

export const postgresUrl = inject('postgres');

/** `describe` that is skipped when PostgreSQL is not installed (the global setup said why). */
export const describePostgres = describe.skipIf(postgresUrl === null);

function serverUrl(): string {
  if (postgresUrl === null) throw new Error('PostgreSQL is not installed: bash tools/postgres-server.sh install');
  return postgresUrl;
}

/** The URL of database `name` on the test server. */
export const databaseUrl = (name: string) => serverUrl().replace(/\/postgres$/, `/${name}`);

async function createDatabase(template: string | null): Promise<string> {
  const name = `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  } finally {
    await admin.end();
  }
  return databaseUrl(name);
}

/** A new database with the schema in place (a copy of the migrated template). */
export const freshDatabase = () => createDatabase('mlops_template');

/** A new database with nothing in it: for tests of the migrations themselves. */
export const emptyDatabase = () => createDatabase(null);

/** Runs one query on a database and closes the connection: for tests that look at rows directly. */
export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}
