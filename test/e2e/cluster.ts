/**
 * Several mlops-mcp servers as the scale-out guide runs them, on loopback: one PostgreSQL
 * database, one S3 bucket (moto's server), a home of their own each, and Debian's HAProxy in front
 * with the shipped deploy/haproxy.cfg.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { packageRoot } from '../../src/config.js';
import { tempDir } from '../helpers.js';
import { freePort } from '../mlflow/mlflow-server.js';
import { emptyDatabase } from '../postgres/server.js';
import { startS3Server, type S3Server } from '../s3/server.js';
import { spawnHttp, type SpawnedHttp } from './spawn.js';

export const HAPROXY_CFG = path.join(packageRoot, 'deploy', 'haproxy.cfg');
export const haproxyInstalled = spawnSync('haproxy', ['-v']).status === 0;
if (!haproxyInstalled) {
  const why = 'haproxy is not installed (apt-get install haproxy)';
  if (process.env.MLOPS_MCP_REQUIRE_HAPROXY === '1') throw new Error(`MLOPS_MCP_REQUIRE_HAPROXY=1 but ${why}`);
  console.warn(`[haproxy] load-balancer tests SKIPPED: ${why}; set MLOPS_MCP_REQUIRE_HAPROXY=1 to make this a failure.`);
}

export interface Cluster {
  databaseUrl: string;
  s3: S3Server;
  /** The servers' environment, but for their homes. */
  env: Record<string, string>;
  servers: Array<SpawnedHttp & { home: string }>;
  /** HAProxy's base URL (http://127.0.0.1:<port>). */
  lb: string;
  /** Starts server i again (after a kill), on its port and home. */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(extraEnv: Record<string, string> = {}, count = 2): Promise<Cluster> {
  const s3 = await startS3Server();
  await s3.createBucket('models');
  const databaseUrl = await emptyDatabase();
  const env = { MLOPS_MCP_DATABASE_URL: databaseUrl, ...s3.env('models'), PREDICTION_LOG_FLUSH_MS: '100', ...extraEnv };
  const homes = Array.from({ length: count }, () => path.join(tempDir(), 'home'));
  const ports = await Promise.all(homes.map(() => freePort()));
  const start = async (i: number) => ({ ...(await spawnHttp([], { ...env, MLOPS_MCP_HOME: homes[i] }, ports[i])), home: homes[i] });
  // Started together on an empty database: each migration is applied once.
  const servers = await Promise.all(homes.map((_, i) => start(i)));
  const lbPort = await freePort();
  const lbEnv = { ...process.env, MLOPS_LB_BIND: `127.0.0.1:${lbPort}`, MLOPS_MCP_1: `127.0.0.1:${ports[0]}`, MLOPS_MCP_2: `127.0.0.1:${ports[1]}` };
  const haproxy: ChildProcess = spawn('haproxy', ['-db', '-f', HAPROXY_CFG], { env: lbEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let lbLog = '';
  haproxy.stderr!.on('data', (d: Buffer) => (lbLog += d.toString()));
  const lb = `http://127.0.0.1:${lbPort}`;
  for (let up = false, tries = 0; !up; tries++) {
    if (tries > 100) throw new Error(`haproxy did not start:\n${lbLog}`);
    up = await fetch(`${lb}/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  return {
    databaseUrl,
    s3,
    env,
    servers,
    lb,
    async restart(i) {
      servers[i] = await start(i);
    },
    async stop() {
      haproxy.kill('SIGKILL');
      for (const s of servers) await s.stop().catch(() => undefined);
      await s3.stop();
    },
  };
}

/** An MCP client session through `url` (the balancer, or one server). */
export async function mcpClient(url: string, name: string, capabilities: Record<string, unknown> = {}): Promise<Client> {
  const client = new Client({ name, version: '1' }, { capabilities });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return client;
}
