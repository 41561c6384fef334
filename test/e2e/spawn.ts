import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/config.js';

export const CLI = path.join(packageRoot, 'dist', 'cli.js');

/** The environment a user would have: ours minus the telemetry switch, which the server must set itself. */
export function userEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'ORT_DISABLE_TELEMETRY') env[k] = v;
  return { ...env, LOG_LEVEL: 'info', ...extra };
}

export interface SpawnedHttp {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `serve --http` (on a free port unless one is given) and resolves once it prints the URL it listens on. */
export function spawnHttp(args: string[], env: Record<string, string>, port = 0): Promise<SpawnedHttp> {
  const child = spawn(process.execPath, [CLI, 'serve', '--http', '--port', String(port), ...args], { env: userEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${err}`)), 20_000);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)\/mcp/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({
          child,
          url: m[1],
          stderr: () => err,
          async stop(signal = 'SIGTERM') {
            if (child.exitCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${err}`));
    });
  });
}

/** The pids of a process's children (a server's model processes), from /proc. */
export function childPids(pid: number): number[] {
  return fs.readdirSync('/proc').flatMap((d) => {
    if (!/^\d+$/.test(d)) return [];
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid ? [Number(d)] : [];
    } catch {
      return []; // ended meanwhile
    }
  });
}
