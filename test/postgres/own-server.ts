import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/config.js';
import { freePort } from '../mlflow/mlflow-server.js';
import { tempDir } from '../helpers.js';

const run = promisify(execFile);
const SCRIPT = path.join(packageRoot, 'tools', 'postgres-server.sh');

/** A PostgreSQL server of a test's own, to stop and start under a running mlops-mcp. */
export interface OwnServer {
  /** URL of its `postgres` database. */
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

export async function ownPostgresServer(): Promise<OwnServer> {
  const dir = path.join(tempDir('mlops-mcp-own-pg-'), 'pg');
  const port = String(await freePort());
  let running = false;
  const start = async () => {
    await run('bash', [SCRIPT, 'start', dir, port, 'fast']);
    running = true;
  };
  const stop = async () => {
    if (!running) return;
    await run('bash', [SCRIPT, 'stop', dir]);
    running = false;
  };
  await start();
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    async dispose() {
      await stop().catch(() => undefined);
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    },
  };
}
