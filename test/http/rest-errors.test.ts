import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { startHttpServer, type RunningHttpServer } from '../../src/http/server.js';
import { connect, ok, registerDemoVersions, testApp } from '../helpers.js';

/**
 * REST's status for each kind of refusal, in process (the e2e suite drives the built server;
 * this one runs the source, so a wrong status in the mapping fails here).
 */
describe('REST error mapping', () => {
  let app: AppContext;
  let home: string;
  let http: RunningHttpServer;
  const row = Array.from({ length: 10 }, () => 1);

  beforeAll(async () => {
    ({ app, home } = await testApp());
    const client = await connect(app);
    await registerDemoVersions(client);
    await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
    await client.close();
    http = await startHttpServer(app, { host: '127.0.0.1', port: 0, readOnly: false });
  });
  afterAll(async () => {
    await http.close();
    await app.close();
  });

  const post = async (route: string, body: unknown) => {
    const res = await fetch(`${http.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { error_code?: string; message?: string; predictions?: unknown[] } };
  };

  it.each([
    ['an unknown model', '/invocations/nobody', { inputs: [row] }, 404, 'RESOURCE_DOES_NOT_EXIST', /nobody/],
    ['an unknown version', '/invocations/nba_points?version=v9', { inputs: [row] }, 404, 'RESOURCE_DOES_NOT_EXIST', /v9/],
    ['a row of the wrong width', '/invocations/nba_points', { inputs: [[1, 2]] }, 400, 'BAD_REQUEST', /10 feature values/],
    ['a body of no known format', '/invocations/nba_points', { rows: [row] }, 400, 'BAD_REQUEST', /dataframe_split|inputs|instances/],
    ['a model with nothing in production', '/invocations/nba_win_predictor', { inputs: [row.slice(2)] }, 409, 'INVALID_STATE', /no production version/],
    ['a missing feature over /api/v1', '/api/v1/predict/nba_points', { features: { is_home: 1 } }, 400, 'BAD_REQUEST', /missing features/],
    ['nothing in production over /api/v1', '/api/v1/predict/nba_win_predictor', { features: row.slice(2) }, 409, 'INVALID_STATE', /no production version/],
  ])('%s answers its status and code', async (_what, route, body, status, code, message) => {
    const res = await post(route, body);
    expect(res).toEqual({ status, body: { error_code: code, message: expect.stringMatching(message) } });
  });

  it('a scoring answer is 200 and carries the predictions', async () => {
    const res = await post('/invocations/nba_points', { inputs: [row, row] });
    expect(res.status).toBe(200);
    expect(res.body.predictions).toHaveLength(2);
  });

  it('a stored artifact overwritten on disk is a 409 INVALID_STATE naming the remedy, not a 400 blaming the caller', async () => {
    const client = await connect(app);
    await ok(client, 'promote_model', { name: 'nba_win_predictor', version: 'v2.0', target_stage: 'production' });
    await client.close();
    const { artifactSha256 } = (await app.store.registry.getVersion('nba_win_predictor', 'v2.0'))!;
    const stored = fs.readdirSync(path.join(home, 'artifacts'), { recursive: true, encoding: 'utf8' }).find((f) => f.includes(artifactSha256));
    fs.writeFileSync(path.join(home, 'artifacts', stored!), 'not a model');
    const res = await post('/invocations/nba_win_predictor', { inputs: [row.slice(2)] });
    expect(res).toEqual({
      status: 409,
      body: {
        error_code: 'INVALID_STATE',
        message: expect.stringMatching(
          /nba_win_predictor v2.0 cannot be served: .*no longer matches its sha256.*Ask whoever operates the models to roll nba_win_predictor back/,
        ),
      },
    });
    expect(res.body.message).not.toMatch(/rollback_model|promote_model/);
  });

  it('words what to do next in REST terms, where MCP names the tool', async () => {
    const rest = await post('/invocations/nobody', { inputs: [row] });
    expect(rest.body.message).toBe('No model named "nobody" is registered. See the registered models with GET /api/v1/models.');
    const noVersion = await post('/invocations/nba_points?version=v9', { inputs: [row] });
    expect(noVersion.body.message).toBe('Model "nba_points" has no version "v9" (versions: v1, v2).');
    const client = await connect(app);
    try {
      const mcp = await client.callTool({ name: 'predict', arguments: { name: 'nobody', features: row } });
      expect(mcp.content).toEqual([{ type: 'text', text: 'not_found: No model named "nobody" is registered. Call list_models to see the registered models.' }]);
      const history = await client.callTool({ name: 'get_model_history', arguments: { name: 'nobody' } });
      expect(history.content).toEqual([
        {
          type: 'text',
          text: 'not_found: No model named "nobody" is registered. Call list_models to see the registered models; or add one with register_model.',
        },
      ]);
    } finally {
      await client.close();
    }
  });
});
