/**
 * One throwaway PostgreSQL server for the whole test run (tools/postgres-server.sh, fsync off),
 * with a template database already migrated: a test file takes a fresh database from it in
 * ~40 ms (test/postgres/server.ts). Without PostgreSQL's binaries the PostgreSQL tests are
 * skipped with a printed reason, unless MLOPS_MCP_REQUIRE_POSTGRES=1 (CI), where they fail.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import type { TestProject } from 'vitest/node';
import { packageRoot } from '../../src/config.js';
import { applyMigrations } from '../../src/store/postgres/migrations.js';

const run = promisify(execFile);
const SCRIPT = path.join(packageRoot, 'tools', 'postgres-server.sh');
export const TEMPLATE = 'mlops_template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test server's maintenance database URL, or null when PostgreSQL is not installed. */
    postgres: string | null;
  }
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const installed = await run('bash', [SCRIPT, 'check']).then(
    () => true,
    () => false,
  );
  if (!installed) {
    const why = 'PostgreSQL is not installed (bash tools/postgres-server.sh install)';
    if (process.env.MLOPS_MCP_REQUIRE_POSTGRES === '1') throw new Error(`MLOPS_MCP_REQUIRE_POSTGRES=1 but ${why}`);
    console.warn(`[postgres] PostgreSQL tests SKIPPED: ${why}; set MLOPS_MCP_REQUIRE_POSTGRES=1 to make this a failure.`);
    project.provide('postgres', null);
    return async () => undefined;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-mcp-pg-'));
  const port = await freePort();
  const { stdout } = await run('bash', [SCRIPT, 'start', path.join(dir, 'pg'), String(port), 'fast']);
  const url = stdout.trim();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  await admin.end();
  const pool = new pg.Pool({ connectionString: url.replace(/\/postgres$/, `/${TEMPLATE}`) });
  await applyMigrations(pool, pino({ level: 'silent' }));
  await pool.end();
  project.provide('postgres', url);
  return async () => {
    await run('bash', [SCRIPT, 'stop', path.join(dir, 'pg')]).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
