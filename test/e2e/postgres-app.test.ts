import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { AppContext } from '../../src/context.js';
import { migrations } from '../../src/store/postgres/migrations.js';
import { connect, fixture, ok, registerDemoVersions, testApp } from '../helpers.js';
import { freePort } from '../mlflow/mlflow-server.js';
import { describePostgres, freshDatabase } from '../postgres/server.js';
import { CLI, userEnv } from './spawn.js';

/** Runs `serve --stdio` with this environment until it exits (it should, at once). */
function serveExits(env: Record<string, string>): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'serve', '--stdio'], { env: userEnv(env), encoding: 'utf8', timeout: 20_000, input: '' });
  return { status: r.status, stderr: r.stderr };
}

describePostgres('the tools on the PostgreSQL store', () => {
  let app: AppContext;
  let client: Client;
  beforeAll(async () => {
    ({ app } = await testApp({ MLOPS_MCP_DATABASE_URL: await freshDatabase() }));
    client = await connect(app);
  });
  afterAll(async () => {
    await client?.close();
    await app?.close();
  });

  it('registers, promotes, splits, predicts, counts and checks drift', async () => {
    await registerDemoVersions(client);
    await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
    await ok(client, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'staging' });
    await ok(client, 'configure_ab_test', { name: 'nba_points', weights: { v1: 0.5, v2: 0.5 }, routing: 'sticky' });
    const features = [1, 2, 24.1, 6.2, 5, 27.4, 5.8, 6.1, 34.5, 112.3];
    for (let i = 0; i < 20; i++) await ok(client, 'predict', { name: 'nba_points', features, routing_key: `user-${i}` });
    await ok(client, 'batch_predict', { name: 'nba_points', rows: Array(50).fill(features) });
    const traffic = await ok<{ variants: Array<{ version: string; count: number }> }>(client, 'get_traffic_config', { name: 'nba_points' });
    expect(traffic.variants.reduce((n, v) => n + v.count, 0)).toBe(70);
    await ok(client, 'set_drift_reference', { name: 'nba_points', csv_path: fixture('nba_points_reference.csv') });
    await app.predictionLog.flush();
    const drift = await ok<{ features: unknown[] }>(client, 'detect_drift', { name: 'nba_points', window: { last_n: 70 } });
    expect(drift.features.length).toBe(10);
    const health = await ok<{ components: Array<{ name: string; detail: string }> }>(client, 'health_check', {});
    const schema = migrations[migrations.length - 1].version;
    expect(health.components.find((c) => c.name === 'database')?.detail).toMatch(
      new RegExp(`^PostgreSQL 15\\.\\d+.* at 127\\.0\\.0\\.1:\\d+/t_\\w+ answers \\(schema version ${schema}\\)$`),
    );
    const history = await ok<{ entries: Array<{ action: string }> }>(client, 'get_model_history', { name: 'nba_points' });
    expect(history.entries.map((e) => e.action)).toEqual(['set_drift_reference', 'configure_traffic', 'promote', 'promote', 'register', 'register']);
    const stats = await ok<{ prediction_log: { stored_rows: number } }>(client, 'get_system_stats', {});
    expect(stats.prediction_log.stored_rows).toBe(70);
  });
});

describePostgres('starting on PostgreSQL', () => {
  it('refuses a URL that is not PostgreSQL, naming the variable, before connecting', () => {
    const r = serveExits({ MLOPS_MCP_DATABASE_URL: 'mysql://root@localhost/db' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('MLOPS_MCP_DATABASE_URL: MLOPS_MCP_DATABASE_URL must be a PostgreSQL URL');
  });

  it('stops at once when the server cannot be reached, naming the variable and never the password', async () => {
    const port = await freePort();
    const r = serveExits({ MLOPS_MCP_DATABASE_URL: `postgresql://mlops:s3cret-pass@127.0.0.1:${port}/mlops` });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `mlops-mcp: cannot reach the PostgreSQL server in MLOPS_MCP_DATABASE_URL (postgresql://mlops:***@127.0.0.1:${port}/mlops): connect ECONNREFUSED`,
    );
    expect(r.stderr).not.toContain('s3cret-pass');
  });

  it('stops naming the variable when the database does not exist', async () => {
    const url = (await freshDatabase()).replace(/\/t_\w+$/, '/no_such_database');
    const r = serveExits({ MLOPS_MCP_DATABASE_URL: url });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /cannot reach the PostgreSQL server in MLOPS_MCP_DATABASE_URL \(.*\/no_such_database\): database "no_such_database" does not exist/,
    );
  });
});
