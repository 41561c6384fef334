/**
 * A real MLflow server for tests, started through tools/mlflow-server.sh on a free port in a temp
 * dir. Without `.venv-mlflow` (`bash tools/mlflow-server.sh venv`) the MLflow suites are skipped
 * with a printed reason, unless MLOPS_MCP_REQUIRE_MLFLOW=1 (CI), where they fail instead.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe } from 'vitest';
import { packageRoot } from '../../src/config.js';
import { tempDir } from '../helpers.js';

const run = promisify(execFile);

export const MLFLOW_SCRIPT = path.join(packageRoot, 'tools', 'mlflow-server.sh');
export const MLFLOW_VENV = path.join(packageRoot, '.venv-mlflow');
export const MLFLOW_PYTHON = path.join(MLFLOW_VENV, 'bin', 'python');
export const mlflowInstalled = fs.existsSync(path.join(MLFLOW_VENV, 'bin', 'mlflow'));
export const mlflowRequired = process.env.MLOPS_MCP_REQUIRE_MLFLOW === '1';
/** Skip (not fail) only when MLflow is missing and not required. */
export const skipMlflow = !mlflowInstalled && !mlflowRequired;

const MISSING = `${MLFLOW_VENV} is missing: run \`bash tools/mlflow-server.sh venv\``;
if (skipMlflow) console.warn(`[mlflow] skipping MLflow tests: ${MISSING} (set MLOPS_MCP_REQUIRE_MLFLOW=1 to fail instead)`);

/** `describe` that is skipped when MLflow is not installed (and not required). */
export const describeMlflow = describe.skipIf(skipMlflow);

/** Server start can take ~30 s (first start migrates the database); the script waits up to 120 s. */
export const MLFLOW_START_TIMEOUT_MS = 150_000;

export interface MlflowServer {
  /** `http://127.0.0.1:<port>`. */
  readonly uri: string;
  readonly port: number;
  /** Data dir: mlflow.db, artifacts/, log, pid. */
  readonly dir: string;
  /** Milliseconds the last start took until /health said OK. */
  readonly startMs: number;
  /** Starts again on the same port with the same data (after stop()). */
  start(): Promise<void>;
  /** Stops the server (its whole process group) and waits for it. */
  stop(): Promise<void>;
  /** stop(), forget the exit hook and remove the data dir (afterAll). */
  dispose(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function killGroupSync(dir: string): void {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8').trim());
    if (pid > 0) process.kill(-pid, 'SIGKILL');
  } catch {
    // Not running.
  }
}

/** Starts an MLflow server (not registered with any hook: see useMlflowServer). */
export async function startMlflowServer(): Promise<MlflowServer> {
  if (!mlflowInstalled) throw new Error(`MLOPS_MCP_REQUIRE_MLFLOW=1 but ${MISSING}`);
  const dir = tempDir('mlops-mcp-mlflow-');
  const port = await freePort();
  const uri = `http://127.0.0.1:${port}`;
  let startMs = 0;
  let running = false;
  const onExit = () => killGroupSync(dir);
  process.on('exit', onExit);

  const start = async () => {
    const t0 = performance.now();
    try {
      await run('bash', [MLFLOW_SCRIPT, 'start', dir, String(port)], { timeout: MLFLOW_START_TIMEOUT_MS - 5_000 });
    } catch (e) {
      killGroupSync(dir);
      const log = fs.existsSync(path.join(dir, 'log')) ? fs.readFileSync(path.join(dir, 'log'), 'utf8').slice(-2_000) : '';
      throw new Error(`mlflow server did not start on ${uri}: ${(e as { stderr?: string }).stderr ?? String(e)}\n${log}`);
    }
    running = true;
    startMs = performance.now() - t0;
  };
  const stop = async () => {
    if (!running && !fs.existsSync(path.join(dir, 'pid'))) return;
    await run('bash', [MLFLOW_SCRIPT, 'stop', dir], { timeout: 30_000 }).catch(() => killGroupSync(dir));
    running = false;
  };
  await start();
  return {
    uri,
    port,
    dir,
    get startMs() {
      return startMs;
    },
    start,
    stop,
    async dispose() {
      await stop();
      process.off('exit', onExit);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Inside a `describeMlflow` block: starts a server in beforeAll, stops it in afterAll whatever
 * happened. Returns a getter, valid from beforeAll on.
 */
export function useMlflowServer(): () => MlflowServer {
  let server: MlflowServer | undefined;
  beforeAll(async () => {
    server = await startMlflowServer();
    console.info(`[mlflow] server on ${server.uri} healthy after ${(server.startMs / 1000).toFixed(1)} s`);
  }, MLFLOW_START_TIMEOUT_MS);
  afterAll(async () => {
    await server?.dispose();
  }, 60_000);
  return () => {
    if (!server) throw new Error('MLflow server not started (beforeAll failed?)');
    return server;
  };
}

/** Runs a Python snippet with the MLflow venv's interpreter; returns stdout. */
export async function runMlflowPython(code: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await run(MLFLOW_PYTHON, ['-c', code, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env, PYTHONUNBUFFERED: '1', GIT_PYTHON_REFRESH: 'quiet' },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message?: string };
    throw new Error(`python failed: ${err.message}\n${(err.stderr ?? '').slice(-3_000)}`);
  }
}
