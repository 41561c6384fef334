import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Authenticator, isAuthFailure } from '../../src/http/auth.js';
import { OAuthVerifier } from '../../src/http/oauth.js';
import { startHttpServer } from '../../src/http/server.js';
import { TokenRegistry } from '../../src/http/tokens.js';
import { testApp } from '../helpers.js';
import { freePort } from '../mlflow/mlflow-server.js';
import { PEOPLE, startIssuer, type TestIssuer } from './issuer.js';

/** The token checks and the start-up rules, in-process against the real issuer. */

const RESOURCE = 'http://127.0.0.1:1/mcp';
const silent = pino({ level: 'silent' });
let issuer: TestIssuer;
let token: string;
beforeAll(async () => {
  issuer = await startIssuer({ resource: RESOURCE, users: PEOPLE });
  token = await issuer.clientCredentialsToken(RESOURCE, 'mlops:operate');
});
afterAll(async () => {
  await issuer?.close();
});

const verifierFor = (env: Record<string, string>) => {
  const oauth = loadConfig({ MLOPS_MCP_OAUTH_ISSUER: issuer.url, ...env }).oauth!;
  return new OAuthVerifier(oauth, () => RESOURCE.replace(/\/mcp$/, ''), silent);
};

describe('OAuthVerifier', () => {
  it('gives the subject and scopes of a good token', async () => {
    expect(await verifierFor({}).verify(token)).toEqual({ subject: 'robot', displayName: undefined, scopes: ['mlops:operate'] });
  });

  it('refuses an algorithm left out of MLOPS_MCP_OAUTH_ALGORITHMS before fetching any key', async () => {
    expect(await verifierFor({ MLOPS_MCP_OAUTH_ALGORITHMS: 'ES256' }).verify(token)).toEqual({
      kind: 'invalid',
      message: 'the token is signed with "RS256", which this server does not accept (MLOPS_MCP_OAUTH_ALGORITHMS: ES256)',
    });
  });

  it('says what to set when the issuer names itself otherwise than configured, and that the issuer is down when it is', async () => {
    const slash = loadConfig({ MLOPS_MCP_OAUTH_ISSUER: `${issuer.url}/` }).oauth!;
    const problem = await new OAuthVerifier(slash, () => 'http://127.0.0.1:1', silent).issuerMetadata().catch((e: Error) => e.message);
    expect(problem).toContain(
      `names the issuer "${issuer.url}", not ${issuer.url}/: set MLOPS_MCP_OAUTH_ISSUER to the issuer exactly as its metadata names it`,
    );
    const gone = `http://127.0.0.1:${await freePort()}`;
    const down = new OAuthVerifier(loadConfig({ MLOPS_MCP_OAUTH_ISSUER: gone }).oauth!, () => 'http://127.0.0.1:1', silent);
    const forged = `${Buffer.from(JSON.stringify({ alg: 'RS256' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: gone, sub: 'x' })).toString('base64url')}.c2ln`;
    expect(await down.verify(forged)).toMatchObject({
      kind: 'unavailable',
      message: expect.stringContaining(`cannot check the token: the issuer ${gone} did not give its metadata`),
    });
  });
});

describe('Authenticator', () => {
  it('maps scopes to the highest role they grant, with the names configured', async () => {
    const config = loadConfig({ MLOPS_MCP_OAUTH_ISSUER: issuer.url, MLOPS_MCP_OAUTH_SCOPE_OPERATE: 'ml.write' }).oauth!;
    const verifier = new OAuthVerifier(config, () => 'http://127.0.0.1:1', silent);
    const auth = new Authenticator(TokenRegistry.load(undefined, undefined), {
      verifier,
      scopes: config.scopes,
      metadataUrl: () => 'http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp',
    });
    const renamed = await auth.authenticate(`Bearer ${await issuer.clientCredentialsToken(RESOURCE, 'mlops:read')}`);
    expect(renamed).toMatchObject({ name: 'robot', role: 'read', via: 'oauth' });
    // mlops:operate is no role's scope here: the token grants nothing.
    const none = await auth.authenticate(`Bearer ${token}`);
    expect(isAuthFailure(none) && none.status).toBe(403);
    const missing = await auth.authenticate(undefined);
    expect(missing).toEqual({
      status: 401,
      message: `Unauthorized: send Authorization: Bearer <access token from ${issuer.url}>`,
      challenge: 'Bearer realm="mlops-mcp", resource_metadata="http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp"',
    });
  });
});

describe('starting the HTTP server with OAuth', () => {
  it('binds a public address with OAuth alone, but only once it knows the URL clients reach', async () => {
    const { app } = await testApp({ MLOPS_MCP_OAUTH_ISSUER: issuer.url });
    await expect(startHttpServer(app, { host: '0.0.0.0', port: 0, readOnly: false })).rejects.toThrow(
      'MLOPS_MCP_OAUTH_ISSUER needs MLOPS_MCP_PUBLIC_URL when binding 0.0.0.0: tokens are minted for <public URL>/mcp, the URL clients reach this server at',
    );
    await app.close();
    const { app: named } = await testApp({ MLOPS_MCP_OAUTH_ISSUER: issuer.url, MLOPS_MCP_PUBLIC_URL: 'https://mlops.example.com/' });
    const server = await startHttpServer(named, { host: '0.0.0.0', port: 0, readOnly: false });
    const metadata = (await (
      await fetch(`${server.url.replace('0.0.0.0', '127.0.0.1')}/.well-known/oauth-protected-resource`, { headers: { origin: 'https://elsewhere.example' } })
    ).json()) as { resource: string };
    expect(metadata.resource).toBe('https://mlops.example.com/mcp');
    await server.close();
    await named.close();
  });
});
