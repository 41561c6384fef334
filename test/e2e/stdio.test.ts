import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { ok, tempDir } from '../helpers.js';
import { childPids, CLI, userEnv } from './spawn.js';

describe('serve --stdio, spawned as an MCP client would', () => {
  it('serves the demo over stdio with logs on stderr and no onnxruntime telemetry files', async () => {
    const home = path.join(tempDir(), 'home');
    const started = Date.now();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'serve', '--stdio', '--demo'],
      env: userEnv({ MLOPS_MCP_HOME: home }),
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'stdio-e2e', version: '1.0.0' });
    await client.connect(transport);
    const pid = transport.pid!;

    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain('promote_model');
    const health = await ok<{ status: string; healthy_components: number; total_components: number }>(client, 'health_check', {});
    // The demo shows a drifted, degraded model: two components say so.
    expect(health).toMatchObject({ status: 'degraded', healthy_components: 7, total_components: 9 });
    const promoted = await ok<{ production_after: string }>(client, 'promote_model', {
      name: 'nba_points',
      version: 'v2',
      target_stage: 'production',
      reason: 'e2e',
    });
    expect(promoted.production_after).toBe('v2');
    const history = await ok<{ entries: Array<{ actor: string }> }>(client, 'get_model_history', { name: 'nba_points', limit: 1 });
    expect(history.entries[0].actor).toBe('stdio-e2e (stdio)');

    // onnxruntime has loaded sessions by now (registration and the serving check), in the model
    // processes: the server itself never loads it.
    const models = childPids(pid);
    expect(models.length).toBeGreaterThan(0);
    // Written since the server started: an older file of that name is another process's, long
    // gone, that had the same pid (Python's onnxruntime under mlflow leaves them, and pids wrap).
    const telemetry = (p: number) => fs.statSync(path.join(os.tmpdir(), `mat-debug-${p}.log`), { throwIfNoEntry: false });
    for (const p of [pid, ...models]) expect((telemetry(p)?.mtimeMs ?? 0) >= started - 1000).toBe(false);
    await client.close();
    expect(stderr).toMatch(/"msg":"demo models registered"/);
    expect(fs.existsSync(path.join(home, 'registry.db'))).toBe(true);
  });

  it('serves only read tools with --read-only', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'serve', '--stdio', '--read-only'],
      env: userEnv({ MLOPS_MCP_HOME: path.join(tempDir(), 'home'), LOG_LEVEL: 'silent' }),
    });
    const client = new Client({ name: 'ro', version: '1.0.0' });
    await client.connect(transport);
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual([
      'health_check',
      'list_models',
      'get_model',
      'get_model_history',
      'predict',
      'batch_predict',
      'get_traffic_config',
      'get_system_stats',
      'detect_drift',
      'get_drift_report',
      'get_model_performance',
      'get_drift_curves',
      'get_alerts',
    ]);
    await client.close();
  });

  it('answers a line that is not a JSON-RPC message with the JSON-RPC error, and goes on serving', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [CLI, 'serve', '--stdio'], {
      env: userEnv({ MLOPS_MCP_HOME: path.join(tempDir(), 'home'), LOG_LEVEL: 'silent' }),
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const lines: string[] = [];
    let waiting: (() => void) | null = null;
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      pending += d;
      for (let at = pending.indexOf('\n'); at !== -1; at = pending.indexOf('\n')) {
        lines.push(pending.slice(0, at));
        pending = pending.slice(at + 1);
      }
      waiting?.();
    });
    /** Writes a line and resolves with the next line the server answers, or 'no answer' after 3 s. */
    const ask = async (line: string): Promise<unknown> => {
      const seen = lines.length;
      child.stdin.write(`${line}\n`);
      for (const started = Date.now(); lines.length === seen && Date.now() - started < 3000;)
        await new Promise<void>((r) => ((waiting = r), setTimeout(r, 100)));
      return lines.length > seen ? JSON.parse(lines[seen]) : 'no answer';
    };
    try {
      // What a Python client's json.dumps(float('inf')) writes: not JSON.
      expect(await ask('Infinity')).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.stringMatching(/^Parse error/) } });
      expect(await ask('{"jsonrpc": "2.0", "id": 1, "method": "ping"')).toMatchObject({ id: null, error: { code: -32700 } });
      expect(await ask('[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]')).toMatchObject({ id: null, error: { code: -32600 } });
      expect(await ask('{"jsonrpc": "2.0", "id": 7, "method": 5}')).toMatchObject({
        id: 7,
        error: { code: -32600, message: expect.stringMatching(/^Invalid Request/) },
      });
      // Still serving: initialize and a ping are answered as ever.
      const init = {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      };
      expect(await ask(JSON.stringify(init))).toMatchObject({ id: 1, result: { serverInfo: { name: 'mlops-mcp' } } });
      child.stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
      expect(await ask('{"jsonrpc":"2.0","id":2,"method":"ping"}')).toEqual({ jsonrpc: '2.0', id: 2, result: {} });
    } finally {
      child.stdin.end();
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('exits with a clear message on a bad configuration value', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [CLI, 'serve', '--stdio'], { env: userEnv({ MODEL_CACHE_SIZE: 'lots' }), encoding: 'utf8', input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('MODEL_CACHE_SIZE must be a number');
    expect(r.stdout).toBe('');
  });
});
