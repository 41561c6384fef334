import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema, type ElicitResult, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { createMcpServer, type Caller } from '../../src/mcp/server.js';
import { connect, dumpDigest, ok, PREDICTION_LOG_TABLES, registerDemoVersions, testApp } from '../helpers.js';

/** Who approved, by name, and a call given up on while its person is asked. */

const apps: AppContext[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

async function elicitingApp(): Promise<AppContext> {
  const { app } = await testApp({ MLOPS_MCP_APPROVAL: 'elicit' });
  apps.push(app);
  await registerDemoVersions(await connect(app));
  await app.registry.promote('nba_points', { version: 'v1', targetStage: 'production', archiveExisting: true }, { actor: 'setup' });
  return app;
}

/** A real Client (with elicitation) of its own server; `sent` records what the server sends it. */
async function agent(app: AppContext, caller: Caller | undefined, answer: (signal: AbortSignal) => Promise<ElicitResult>) {
  const server = createMcpServer(app, { readOnly: false, transport: 'memory', caller });
  const [c, s] = InMemoryTransport.createLinkedPair();
  const sent: JSONRPCMessage[] = [];
  const send = s.send.bind(s);
  s.send = (message, options) => (sent.push(message), send(message, options));
  await server.connect(s);
  const client = new Client({ name: 'agent', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
  let asked = 0;
  client.setRequestHandler(ElicitRequestSchema, (_req, extra) => {
    asked++;
    return answer(extra.signal);
  });
  await client.connect(c);
  return { client, asked: () => asked, sent };
}

const until = async (what: string, done: () => boolean) => {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > 5000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

const promoteV2 = { name: 'nba_points', version: 'v2', target_stage: 'production', reason: 'better rmse' };

describe('approval by a signed-in person', () => {
  it('records the subject as the actor with their display name, and as the approver', async () => {
    const app = await elicitingApp();
    const alice: Caller = { name: 'alice', displayName: 'Alice Admin', role: 'admin', via: 'oauth', scopes: ['mlops:admin'] };
    const { client } = await agent(app, alice, async () => ({ action: 'accept', content: { approve: true, reason: 'checked' } }));
    await ok(client, 'promote_model', promoteV2);
    const { entries } = await ok<{ entries: Array<Record<string, unknown>> }>(client, 'get_model_history', { name: 'nba_points', limit: 1 });
    expect(entries[0]).toMatchObject({
      action: 'promote',
      actor: 'alice',
      actor_name: 'Alice Admin',
      approved_by: 'user "alice" (Alice Admin) at agent (elicitation)',
      approver_reason: 'checked',
    });
    const trail = await client.readResource({ uri: 'audit://nba_points' });
    expect((trail.contents[0] as { text: string }).text).toContain('| alice (Alice Admin) |');
  });

  it('keeps "the person at" the client for a shared token, which names no person', async () => {
    const app = await elicitingApp();
    const { client } = await agent(app, { name: 'ci-bot', role: 'admin', via: 'token' }, async () => ({ action: 'accept', content: { approve: true } }));
    await ok(client, 'promote_model', promoteV2);
    const { entries } = await ok<{ entries: Array<Record<string, unknown>> }>(client, 'get_model_history', { name: 'nba_points', limit: 1 });
    expect(entries[0]).toMatchObject({ actor: 'ci-bot', actor_name: null, approved_by: 'person at agent (elicitation)' });
  });
});

describe('a call cancelled while its person is asked (notifications/cancelled)', () => {
  it('withdraws the approval request and writes nothing, not even a refusal', async () => {
    const app = await elicitingApp();
    // The person never answers; the request is withdrawn from under them.
    const { client, asked, sent } = await agent(
      app,
      undefined,
      (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ action: 'cancel' }))),
    );
    const before = dumpDigest(app.config.dbPath, PREDICTION_LOG_TABLES);
    const controller = new AbortController();
    const call = client.callTool({ name: 'promote_model', arguments: promoteV2 }, undefined, { signal: controller.signal });
    await until('the approval request', () => asked() === 1);
    const request = sent.find((m) => 'method' in m && m.method === 'elicitation/create') as { id: number };
    controller.abort('the user stopped the agent');
    await expect(call).rejects.toThrow(/stopped the agent/);
    // notifications/cancelled for the approval request. (The SDK's client, 1.32.2, ignores one for
    // request id 0, the first a server sends; the server's part is to send it.)
    await until('the request to be withdrawn', () =>
      sent.some((m) => 'method' in m && m.method === 'notifications/cancelled' && m.params?.requestId === request.id),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(dumpDigest(app.config.dbPath, PREDICTION_LOG_TABLES)).toBe(before);
    expect((await app.registry.modelState('nba_points')).versions.find((v) => v.version === 'v1')?.stage).toBe('production');
  });
});
