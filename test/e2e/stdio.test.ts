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
    const health = await ok<{ status: string; healthy_components: number }>(client, 'health_check', {});
    expect(health).toMatchObject({ status: 'healthy', healthy_components: 8 });
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
    for (const p of [pid, ...models]) expect(fs.existsSync(path.join(os.tmpdir(), `mat-debug-${p}.log`))).toBe(false);
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
    expect(tools).toEqual(['health_check', 'list_models', 'get_model', 'get_model_history', 'predict', 'batch_predict', 'get_traffic_config', 'get_system_stats', 'detect_drift', 'get_drift_report', 'get_drift_curves', 'get_alerts']);
    await client.close();
  });

  it('exits with a clear message on a bad configuration value', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [CLI, 'serve', '--stdio'], { env: userEnv({ MODEL_CACHE_SIZE: 'lots' }), encoding: 'utf8', input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('MODEL_CACHE_SIZE must be a number');
    expect(r.stdout).toBe('');
  });
});
