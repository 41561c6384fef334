import path from 'node:path';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpDigest, fixture, ok, PREDICTION_LOG_TABLES } from '../helpers.js';
import { connectWithOAuth, ConnectorAuth } from '../oauth/connector.js';
import { INTROSPECTOR, OTHER_RESOURCE, startIssuer } from '../oauth/issuer.js';
import { initialize, PEOPLE, startOAuthServer, withToken, type OAuthSetup } from '../oauth/setup.js';

/**
 * Tokens the resource server must refuse, each with a 401 that says why and nothing changed; the
 * issuer's key rotation followed; opaque tokens through introspection.
 */

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const promote = {
  jsonrpc: '2.0',
  id: 2,
  method: 'tools/call',
  params: { name: 'promote_model', arguments: { name: 'nba_points', version: 'v2', target_stage: 'production' } },
};

describe('bad tokens and key rotation (JWT access tokens)', () => {
  let s: OAuthSetup;
  let good: string;
  beforeAll(async () => {
    s = await startOAuthServer();
    s.issuer.signInAs = 'alice';
    const auth = new ConnectorAuth();
    await (await connectWithOAuth(s.mcp, auth)).close();
    good = auth.accessToken!;
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it('refuses expired, foreign, misdirected, unsigned and altered tokens with 401 and a reason, changing nothing', async () => {
    const claims = decodeJwt(good);
    const { kid } = decodeProtectedHeader(good);
    const now = Math.floor(Date.now() / 1000);
    const resign = (payload: Record<string, unknown>) =>
      new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid }).sign(s.issuer.signingKey().privateKey);
    const [header, body, signature] = good.split('.');
    const elsewhere = await startIssuer({ resource: s.mcp, users: PEOPLE });
    const bad: Array<[string, string, RegExp]> = [
      ["expired (the issuer's own key)", await resign({ ...claims, iat: now - 900, exp: now - 300 }), /the token expired at /],
      [
        'from another issuer',
        await elsewhere.clientCredentialsToken(s.mcp, 'mlops:admin'),
        new RegExp(`the token was issued by "${elsewhere.url}"; this server accepts tokens from ${s.issuer.url}`),
      ],
      [
        'for another resource',
        await s.issuer.clientCredentialsToken(OTHER_RESOURCE, 'mlops:admin'),
        new RegExp(`the token was minted for "${OTHER_RESOURCE}", not for this server \\(${s.mcp}\\)`),
      ],
      ['unsigned (alg none)', `${b64({ alg: 'none', typ: 'at+jwt' })}.${body}.`, /signed with "none", which this server does not accept/],
      [
        'signed with a shared secret (HS256)',
        `${b64({ alg: 'HS256', typ: 'at+jwt', kid })}.${body}.${signature}`,
        /signed with "HS256", which this server does not accept/,
      ],
      [
        'altered (carol made admin)',
        `${header}.${b64({ ...claims, sub: 'carol', scope: 'mlops:read mlops:operate mlops:admin' })}.${signature}`,
        /signature does not verify/,
      ],
      ['not a JWT', 'opaque-looking-token-0123456789', /not a JWT, and this server checks opaque tokens only with MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_ID/],
    ];
    await elsewhere.close();
    // A session opened with the good token, for the calls the bad ones make on it.
    const opened = await withToken(s.mcp, good, { body: initialize() });
    expect(opened.status).toBe(200);
    const session = { 'mcp-session-id': opened.sessionId!, 'mcp-protocol-version': '2025-06-18' };
    const before = dumpDigest(path.join(s.home, 'registry.db'), PREDICTION_LOG_TABLES);
    for (const [what, token, why] of bad) {
      for (const [url, init] of [
        [s.mcp, { body: initialize() }],
        [s.mcp, { body: promote, headers: session }],
        [`${s.server.url}/api/v1/predict/nba_points`, { body: { features: [1, 2, 3] } }],
      ] as const) {
        const r = await withToken(url, token, init);
        expect(r.status, `${what} at ${url}`).toBe(401);
        expect(r.challenge, what).toMatch(
          /^Bearer realm="mlops-mcp", error="invalid_token", error_description="[^"]+", resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"$/,
        );
        const message = (r.body as { error?: { message: string }; message?: string }).error?.message ?? (r.body as { message: string }).message;
        expect(message, what).toMatch(why);
      }
    }
    expect(dumpDigest(path.join(s.home, 'registry.db'), PREDICTION_LOG_TABLES)).toBe(before);
  });

  it("keeps a session to the role it was opened with: the same person's narrower token is refused on it", async () => {
    const opened = await withToken(s.mcp, good, { body: initialize() });
    const claims = decodeJwt(good);
    const narrower = await new SignJWT({ ...claims, scope: 'mlops:read' })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: decodeProtectedHeader(good).kid })
      .sign(s.issuer.signingKey().privateKey);
    const r = await withToken(s.mcp, narrower, { body: promote, headers: { 'mcp-session-id': opened.sessionId!, 'mcp-protocol-version': '2025-06-18' } });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({
      error: { message: 'This session was opened with the admin role and this token grants read: start a new session with initialize to use it' },
    });
  });

  it('follows a key rotation at the issuer: a token signed with the new key is accepted, one of the withdrawn key no longer', async () => {
    const old = good;
    await s.issuer.rotateKeys();
    // Past the cooldown between two fetches of the issuer's keys (an unknown kid may trigger one).
    await new Promise((r) => setTimeout(r, 2100));
    const auth = new ConnectorAuth();
    const client = await connectWithOAuth(s.mcp, auth);
    expect(decodeProtectedHeader(auth.accessToken!).kid).toBe(s.issuer.signingKey().kid);
    expect(decodeProtectedHeader(auth.accessToken!).kid).not.toBe(decodeProtectedHeader(old).kid);
    await ok(client, 'health_check', {});
    await client.close();
    const refused = await withToken(s.mcp, old, { body: initialize() });
    expect(refused.status).toBe(401);
    expect((refused.body as { error: { message: string } }).error.message).toContain('signed with a key the issuer does not publish');
  });
});

describe('opaque access tokens, checked at the issuer (introspection)', () => {
  let s: OAuthSetup;
  beforeAll(async () => {
    s = await startOAuthServer({
      tokenFormat: 'opaque',
      env: { MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_ID: INTROSPECTOR.client_id, MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_SECRET: INTROSPECTOR.client_secret },
    });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it("lets the signed-in person in by the issuer's word, as their subject and role, and refuses a token it does not know", async () => {
    s.issuer.signInAs = 'bob';
    const auth = new ConnectorAuth();
    const client = await connectWithOAuth(s.mcp, auth);
    expect(auth.accessToken).not.toMatch(/\./);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('promote_model');
    expect(names).not.toContain('rollback_model');
    await ok(client, 'register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v2.onnx'), version: 'v3', reason: 'retrained' });
    const { entries } = await ok<{ entries: Array<Record<string, unknown>> }>(client, 'get_model_history', { name: 'nba_points', limit: 1 });
    expect(entries[0]).toMatchObject({ action: 'register', version: 'v3', actor: 'bob', actor_name: 'Bob Operator' });
    await client.close();
    const unknown = await withToken(s.mcp, 'x'.repeat(43), { body: initialize() });
    expect(unknown.status).toBe(401);
    expect((unknown.body as { error: { message: string } }).error.message).toContain('the issuer says the token is not active');
  });
});
