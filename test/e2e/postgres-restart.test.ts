import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { planRollback } from '../../src/registry/rules.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { call, connect, errorCode, ok, registerDemoVersions, testApp, text } from '../helpers.js';
import { ownPostgresServer, type OwnServer } from '../postgres/own-server.js';
import { describePostgres, sql } from '../postgres/server.js';

const features = [1, 2, 24.1, 6.2, 5, 27.4, 5.8, 6.1, 34.5, 112.3];

describePostgres('PostgreSQL restarted under a running server', () => {
  let server: OwnServer | undefined;
  let app: AppContext | undefined;
  let client: Client | undefined;
  afterAll(async () => {
    await client?.close();
    await app?.close();
    await server?.dispose();
  });

  it('answers unavailable while it is down, keeps serving predictions, and recovers without a restart', { timeout: 90_000 }, async () => {
    server = await ownPostgresServer();
    ({ app } = await testApp({ MLOPS_MCP_DATABASE_URL: server.url, PREDICTION_LOG_FLUSH_MS: '100' }));
    client = await connect(app);
    await registerDemoVersions(client);
    await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
    for (let i = 0; i < 5; i++) await ok(client, 'predict', { name: 'nba_points', features });

    await server.stop();
    const refused = await call(client, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production' });
    expect(errorCode(refused)).toBe('unavailable');
    expect(text(refused)).toMatch(/PostgreSQL server \(MLOPS_MCP_DATABASE_URL\) cannot be reached/);
    expect(errorCode(await call(client, 'get_model', { name: 'nba_points' }))).toBe('unavailable');
    const health = await ok<{ status: string; components: Array<{ name: string; status: string }> }>(client, 'health_check', { component: 'database' });
    expect(health.components[0].status).toBe('unhealthy');
    // The routing state is in memory and the model loaded: scoring goes on, logged once it is back.
    for (let i = 0; i < 5; i++) await ok(client, 'predict', { name: 'nba_points', features });
    // The low-priority log writer tries every 200 ms; on a loaded machine its first failed try can take seconds.
    for (const until = Date.now() + 10_000; !app.predictionLog.status().lastFlushFailed && Date.now() < until;) await new Promise((r) => setTimeout(r, 100));
    expect(app.predictionLog.status().lastFlushFailed).toBe(true);

    await server.start();
    const deadline = Date.now() + 15_000;
    let promoted = await call(client, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production' });
    while (promoted.isError && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      promoted = await call(client, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production' });
    }
    expect(promoted.isError, text(promoted)).toBeFalsy();
    const served = await ok<{ version: string }>(client, 'predict', { name: 'nba_points', features });
    expect(served.version).toBe('v2');
    while (app.predictionLog.status().pending && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const [{ n }] = await sql<{ n: string }>(server.url, 'SELECT sum(row_count) AS n FROM predictions');
    expect(Number(n)).toBe(11);
    expect((await ok<{ status: string }>(client, 'health_check', { component: 'database' })).status).toBe('healthy');

    // A change made through another server reaches this one's routing within a second.
    const other = await openPostgresStore(server.url, pino({ level: 'silent' }), { poolSize: 2 });
    try {
      await other.registry.changeStages('nba_points', (s) => planRollback(s, {}), { actor: 'other server' });
      const seen = Date.now();
      let version = served.version;
      while (version !== 'v1' && Date.now() - seen < 1000)
        version = (await ok<{ version: string }>(client, 'predict', { name: 'nba_points', features })).version;
      expect(version).toBe('v1');
    } finally {
      await other.close();
    }
  });
});
