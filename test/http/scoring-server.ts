import type { AppContext } from '../../src/context.js';
import { startHttpServer, type RunningHttpServer } from '../../src/http/server.js';
import { connect, ok, registerDemoVersions, testApp } from '../helpers.js';

/** An HTTP server in process with the demo's versions registered and nba_points v1 in production: what REST scoring tests score against. */
export async function scoringServer(env: Record<string, string> = {}): Promise<{ app: AppContext; server: RunningHttpServer; close: () => Promise<void> }> {
  const { app } = await testApp(env);
  const client = await connect(app);
  await registerDemoVersions(client);
  await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
  await client.close();
  const server = await startHttpServer(app, { host: '127.0.0.1', port: 0, readOnly: false });
  return {
    app,
    server,
    close: async () => {
      await server.close();
      await app.close();
    },
  };
}
