import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { apiV1Router, invocationsRouter } from '../../src/http/rest.js';
import { connect, registerDemoVersions, testApp } from '../helpers.js';

/**
 * REST's answer to a serving layer that is shutting down: 503 (retry elsewhere or later), not a
 * 400 that blames the request. The HTTP server's own drain refuses requests before serving closes,
 * so this mounts the REST routers alone on a real HTTP server over an app whose serving closed.
 */
describe('REST while serving is shutting down', () => {
  let app: AppContext;
  let server: Server;
  let url: string;
  const row = [1, 2, 24.1, 6.2, 5, 27.4, 5.8, 6.1, 34.5, 112.3];

  beforeAll(async () => {
    app = (await testApp()).app;
    const client = await connect(app);
    await registerDemoVersions(client);
    await client.close();
    const web = express();
    web.use('/api/v1', express.json(), apiV1Router(app));
    web.use('/invocations', express.json(), invocationsRouter(app));
    server = await new Promise<Server>((resolve) => {
      const s = web.listen(0, '127.0.0.1', () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await app.close();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('scores before, and answers 503 TEMPORARILY_UNAVAILABLE on every scoring route once serving closed', async () => {
    const before = await post('/api/v1/predict/nba_points', { features: row, version: 'v1' });
    expect(before.status).toBe(200);

    await app.serving.close();
    for (const [path, body] of [
      ['/api/v1/predict/nba_points', { features: row, version: 'v1' }],
      ['/api/v1/predict/nba_points', { rows: [row, row] }],
      ['/api/v1/models/nba_points/invocations', { inputs: [row] }],
      ['/invocations/nba_points', { instances: [row] }],
    ] as const) {
      const r = await post(path, body);
      expect(r.status, path).toBe(503);
      const answer = (await r.json()) as { error_code: string; message: string };
      expect(answer.error_code).toBe('TEMPORARILY_UNAVAILABLE');
      expect(answer.message).toMatch(/shutting down; retry/);
    }
  });
});
