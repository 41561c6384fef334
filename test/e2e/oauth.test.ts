import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorCode, fixture, ok } from '../helpers.js';
import { connectWithOAuth, ConnectorAuth } from '../oauth/connector.js';
import { FILE_TOKEN, initialize, startOAuthServer, STATIC_TOKEN, withToken, type OAuthSetup } from '../oauth/setup.js';

/**
 * serve --http as an OAuth 2.1 resource server of a real authorization server (oidc-provider on
 * loopback), reached by the SDK's own client as a hosted connector reaches it: with the URL only.
 * Approval is on: the signed-in admin approves changes to production through elicitation.
 */

let s: OAuthSetup;
beforeAll(async () => {
  s = await startOAuthServer({ env: { MLOPS_MCP_APPROVAL: 'elicit' } });
}, 60_000);
afterAll(async () => {
  await s?.close();
});

const ROW = [1, 2, 24.1, 6.2, 5.0, 27.4, 5.8, 6.1, 34.5, 112.3];

/** Signs `sub` in through a fresh connector. */
async function signedIn(sub: string): Promise<{ client: Client; auth: ConnectorAuth }> {
  s.issuer.signInAs = sub;
  const auth = new ConnectorAuth();
  const client = await connectWithOAuth(s.mcp, auth);
  return { client, auth };
}

const toolNames = async (c: Client) => (await c.listTools()).tools.map((t) => t.name);

describe('a connector that knows only the URL', () => {
  it('gets a 401 naming the resource metadata, which names the issuer', async () => {
    const refused = await withToken(s.mcp, undefined, { body: initialize() });
    expect(refused.status).toBe(401);
    const metadataUrl = `${s.server.url}/.well-known/oauth-protected-resource/mcp`;
    expect(refused.challenge).toBe(`Bearer realm="mlops-mcp", resource_metadata="${metadataUrl}"`);
    expect(refused.body).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32001, message: `Unauthorized: send Authorization: Bearer <access token from ${s.issuer.url}>` },
    });
    for (const url of [metadataUrl, `${s.server.url}/.well-known/oauth-protected-resource`]) {
      // Public: a browser-based client on another origin reads it too.
      const res = await fetch(url, { headers: { origin: 'https://inspector.example' } });
      expect(res.status, url).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(await res.json(), url).toEqual({
        resource: s.mcp,
        authorization_servers: [s.issuer.url],
        scopes_supported: ['mlops:read', 'mlops:operate', 'mlops:admin'],
        bearer_methods_supported: ['header'],
        resource_name: 'mlops-mcp',
      });
    }
  });

  it('registers, signs the person in with code + PKCE for this resource, and calls tools as them', async () => {
    const { client, auth } = await signedIn('alice');
    expect(auth.registrations).toBe(1);
    expect(await toolNames(client)).toEqual(expect.arrayContaining(['promote_model', 'rollback_model', 'predict']));
    await ok(client, 'predict', { name: 'nba_points', features: ROW });
    await client.close();
  });
});

describe('scopes make roles', () => {
  it('read: lists and calls reads, cannot promote (refused, audited under the subject)', async () => {
    const { client } = await signedIn('carol');
    const names = await toolNames(client);
    expect(names).toContain('predict');
    expect(names).not.toContain('promote_model');
    const refused = await call(client, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'staging', reason: 'try' });
    expect(errorCode(refused)).toBe('forbidden');
    expect(refused.content[0].text).toBe(
      'forbidden: promote_model needs the operate role; user "carol" has read. Sign in again with the mlops:operate scope (the issuer must grant it to you).',
    );
    const history = await ok<{ entries: Array<Record<string, unknown>> }>(client, 'get_model_history', { name: 'nba_points', limit: 1 });
    expect(history.entries[0]).toMatchObject({
      action: 'refused',
      actor: 'carol',
      actor_name: null,
      details: expect.objectContaining({ outcome: 'forbidden' }),
    });
    await client.close();
  });

  it('operate: changes what does not reach production, cannot reach production', async () => {
    const { client } = await signedIn('bob');
    expect(await toolNames(client)).not.toContain('rollback_model');
    await ok(client, 'register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v1.onnx'), version: 'v3', reason: 'retrained' });
    await ok(client, 'promote_model', { name: 'nba_points', version: 'v3', target_stage: 'staging', reason: 'canary' });
    const refused = await call(client, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production', reason: 'ship it' });
    expect(errorCode(refused)).toBe('forbidden');
    expect(refused.content[0].text).toContain('user "bob" (Bob Operator) has operate');
    const { entries } = await ok<{ entries: Array<Record<string, unknown>> }>(client, 'get_model_history', { name: 'nba_points', limit: 1 });
    expect(entries[0]).toMatchObject({ action: 'refused', actor: 'bob', actor_name: 'Bob Operator' });
    const staged = await ok<{ entries: Array<Record<string, unknown>> }>(client, 'get_model_history', { name: 'nba_points', actor: 'bob', limit: 10 });
    expect(staged.entries.find((e) => e.version === 'v3' && e.action === 'promote')).toMatchObject({
      to_stage: 'staging',
      actor_name: 'Bob Operator',
      reason: 'canary',
    });
    expect(staged.entries.find((e) => e.action === 'register')).toMatchObject({ version: 'v3', actor_name: 'Bob Operator' });
    await client.close();
  });

  it('admin: reaches production once the signed-in person approves; the audit names them as actor and approver', async () => {
    s.issuer.signInAs = 'alice';
    const auth = new ConnectorAuth();
    await connectWithOAuth(s.mcp, auth).then((c) => c.close());
    const client = new Client({ name: 'claude-ai', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
    const asked: string[] = [];
    client.setRequestHandler(
      ElicitRequestSchema,
      async (req) => (asked.push(req.params.message), { action: 'accept', content: { approve: true, reason: 'offline eval checked' } }),
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(s.mcp), { authProvider: auth }));
    await ok(client, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production', reason: 'lower rmse' });
    expect(asked[0]).toMatch(/^"alice" asks to run promote_model\./);
    const { entries } = await ok<{ entries: Array<Record<string, unknown>> }>(client, 'get_model_history', { name: 'nba_points', limit: 5 });
    expect(entries.find((e) => e.to_stage === 'production')).toMatchObject({
      action: 'promote',
      version: 'v2',
      actor: 'alice',
      actor_name: 'Alice Admin',
      reason: 'lower rmse',
      approved_by: 'user "alice" (Alice Admin) at claude-ai (elicitation)',
      approver_reason: 'offline eval checked',
    });
    await client.close();
  });

  it('a valid token with none of the scopes is refused with 403 insufficient_scope', async () => {
    s.issuer.signInAs = 'dave';
    const auth = new ConnectorAuth();
    // dave signs in, but the issuer grants him no mlops scope: the connector's call is refused.
    await expect(connectWithOAuth(s.mcp, auth)).rejects.toThrow();
    expect(auth.accessToken).toBeDefined();
    const r = await withToken(s.mcp, auth.accessToken, { body: initialize() });
    expect(r.status).toBe(403);
    expect(r.challenge).toMatch(
      /^Bearer realm="mlops-mcp", error="insufficient_scope", error_description="Forbidden: the token grants none of the scopes .*", scope="mlops:read", resource_metadata=/,
    );
  });
});

describe('sessions and other callers', () => {
  it('binds a session to the subject that opened it: another person is refused on it, the same person with a new token is not', async () => {
    const { client, auth } = await signedIn('alice');
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
    const listTools = { jsonrpc: '2.0', id: 7, method: 'tools/list' };
    const carol = await signedIn('carol');
    const intruder = await withToken(s.mcp, carol.auth.accessToken, {
      body: listTools,
      headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
    });
    expect(intruder.status).toBe(403);
    expect(intruder.body).toMatchObject({ error: { message: 'This session belongs to another caller: start a session of your own with initialize' } });
    s.issuer.signInAs = 'alice';
    const again = new ConnectorAuth();
    await connectWithOAuth(s.mcp, again).then((c) => c.close());
    expect(again.accessToken).not.toBe(auth.accessToken);
    const same = await withToken(s.mcp, again.accessToken, { body: listTools, headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' } });
    expect(same.status, JSON.stringify(same.body)).toBe(200);
    await client.close();
    await carol.client.close();
  });

  it('keeps the configured tokens (MLOPS_MCP_TOKEN, the tokens file) working beside OAuth, and scores over REST with any', async () => {
    const client = new Client({ name: 'ci', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(s.mcp), { requestInit: { headers: { authorization: `Bearer ${STATIC_TOKEN}` } } }));
    expect(await toolNames(client)).toContain('rollback_model');
    await client.close();
    const dashboard = new Client({ name: 'grafana', version: '1.0.0' });
    await dashboard.connect(new StreamableHTTPClientTransport(new URL(s.mcp), { requestInit: { headers: { authorization: `Bearer ${FILE_TOKEN}` } } }));
    expect(await toolNames(dashboard)).not.toContain('promote_model');
    const forbidden = await call(dashboard, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'staging', reason: 'try' });
    expect(forbidden.content[0].text).toContain('token "dashboard" has read');
    await dashboard.close();
    const robot = await s.issuer.clientCredentialsToken(s.mcp, 'mlops:read');
    for (const token of [STATIC_TOKEN, FILE_TOKEN, robot]) {
      const r = await withToken(`${s.server.url}/api/v1/predict/nba_points`, token, { body: { features: ROW } });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ name: 'nba_points' });
    }
    const refused = await withToken(`${s.server.url}/api/v1/predict/nba_points`, undefined, { body: { features: ROW } });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error_code: 'UNAUTHENTICATED', message: `Unauthorized: send Authorization: Bearer <access token from ${s.issuer.url}>` });
    expect(refused.challenge).toContain('resource_metadata=');
  });

  it('records outcomes over REST as the signed-in person, and refuses them to a read scope naming the person', async () => {
    const bob = await signedIn('bob');
    const carol = await signedIn('carol');
    const scored = await withToken(`${s.server.url}/api/v1/predict/nba_points`, bob.auth.accessToken, { body: { rows: [ROW, ROW] } });
    expect(scored.status).toBe(200);
    const { batch_id } = scored.body as { batch_id: string };
    const outcomes = [0, 1].map((i) => ({ prediction_id: `${batch_id}:${i}`, actual: 25 }));
    const refused = await withToken(`${s.server.url}/api/v1/outcomes/nba_points`, carol.auth.accessToken, { body: { outcomes } });
    expect(refused.status).toBe(403);
    expect((refused.body as { message: string }).message).toContain('user "carol" has read');
    const recorded = await withToken(`${s.server.url}/api/v1/outcomes/nba_points`, bob.auth.accessToken, { body: { outcomes, reason: 'box scores' } });
    expect(recorded.status, JSON.stringify(recorded.body)).toBe(200);
    const { entries } = await ok<{ entries: Array<Record<string, unknown>> }>(bob.client, 'get_model_history', { name: 'nba_points', limit: 1 });
    expect(entries[0]).toMatchObject({ action: 'record_outcomes', actor: 'bob', actor_name: 'Bob Operator', reason: 'box scores' });
    await bob.client.close();
    await carol.client.close();
  });
});
