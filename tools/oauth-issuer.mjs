// A local OAuth 2.1 / OpenID authorization server to try mlops-mcp's sign-in with, and the one the
// tests start: oidc-provider on loopback, with dynamic client registration, resource indicators
// (RFC 8707: access tokens are RS256 JWTs, or opaque, for the resource asked), introspection,
// client credentials and PKCE. Its people are fixed; a sign-in signs in `signInAs` and grants the
// scopes that person holds, without a password or a consent page. NOT for production.
//
//   node tools/oauth-issuer.mjs [--port 9000] [--resource http://127.0.0.1:3000/mcp] [--user alice]
//
// (docs/operations.md, "Sign-in with OAuth"). Types: oauth-issuer.d.mts.
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';

export const MLOPS_SCOPES = ['mlops:read', 'mlops:operate', 'mlops:admin'];
/** A resource server other than mlops-mcp, for tokens minted for someone else. */
export const OTHER_RESOURCE = 'http://other.example/mcp';
/** A confidential client that may use client credentials (machines: CI, scripts). */
export const ROBOT = { client_id: 'robot', client_secret: 'robot-secret-0123456789abcdef' };
/** The client mlops-mcp may introspect opaque tokens with. */
export const INTROSPECTOR = { client_id: 'mlops-mcp', client_secret: 'introspection-secret-0123456789' };

export const PEOPLE = [
  { sub: 'alice', name: 'Alice Admin', scopes: ['mlops:read', 'mlops:operate', 'mlops:admin'] },
  { sub: 'bob', name: 'Bob Operator', scopes: ['mlops:read', 'mlops:operate'] },
  { sub: 'carol', scopes: ['mlops:read'] },
  { sub: 'dave', name: 'Dave Nobody', scopes: [] },
];

async function newKey() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `key-${Math.random().toString(36).slice(2, 10)}`;
  return { kid, privateKey, jwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** Starts the issuer; see oauth-issuer.d.mts for the options and what it answers. */
export async function startIssuer(options) {
  const users = new Map(options.users.map((u) => [u.sub, u]));
  const state = { signInAs: options.users[0]?.sub ?? '' };
  const ttl = options.accessTokenTtlSeconds ?? 600;
  let keys = [await newKey()];
  let provider;

  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      interact(req, res).catch((e) => {
        res.statusCode = 500;
        res.end(String(e));
      });
      return;
    }
    const origin = req.headers.origin;
    if (options.registrationFromBrowsers && origin && req.url?.startsWith('/reg')) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'Access-Control-Allow-Methods': 'POST', 'Access-Control-Allow-Headers': 'content-type, authorization, accept' }).end();
        return;
      }
    }
    provider.callback()(req, res);
  });
  await new Promise((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;

  const configuration = () => ({
    jwks: { keys: keys.map((k) => k.jwk) },
    cookies: { keys: ['local-issuer-cookie-secret-0123456789'] },
    ttl: { AccessToken: ttl, ClientCredentials: ttl, AuthorizationCode: 60, Grant: 3600, Interaction: 600, Session: 3600, IdToken: 600, RefreshToken: 3600 },
    clients: [
      { ...ROBOT, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      { ...INTROSPECTOR, grant_types: [], response_types: [], redirect_uris: [] },
      ...(options.publicClients ?? []).map((c) => ({
        client_id: c.client_id,
        token_endpoint_auth_method: 'none',
        redirect_uris: [c.redirect_uri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      })),
    ],
    scopes: ['openid', 'offline_access', ...MLOPS_SCOPES],
    findAccount: (_ctx, id) => {
      const user = users.get(id);
      return user ? { accountId: id, claims: () => ({ sub: id, ...(user.name ? { name: user.name } : {}) }) } : undefined;
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: (_ctx, client) => client.clientId === INTROSPECTOR.client_id },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== options.resource && indicator !== OTHER_RESOURCE)
            throw new errors.InvalidTarget(`this issuer mints tokens for ${options.resource} only`);
          const format = indicator === options.resource ? (options.tokenFormat ?? 'jwt') : 'jwt';
          return {
            scope: MLOPS_SCOPES.join(' '),
            audience: indicator,
            accessTokenTTL: ttl,
            accessTokenFormat: format,
            ...(format === 'jwt' ? { jwt: { sign: { alg: 'RS256' } } } : {}),
          };
        },
      },
    },
    extraTokenClaims: (_ctx, token) => {
      const name = typeof token.accountId === 'string' ? users.get(token.accountId)?.name : undefined;
      return name ? { name } : undefined;
    },
    clientBasedCORS: () => true,
    pkce: { required: () => true },
  });
  const build = () => {
    provider = new Provider(url, configuration());
  };
  build();

  /** The sign-in and consent pages, answered for `signInAs` (a person would click through them). */
  async function interact(req, res) {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      if (!users.has(state.signInAs)) throw new Error(`no such person: ${state.signInAs}`);
      await provider.interactionFinished(req, res, { login: { accountId: state.signInAs } }, { mergeWithLastSubmission: false });
      return;
    }
    const user = users.get(details.session?.accountId);
    if (!user || details.prompt.name !== 'consent') throw new Error(`unexpected prompt ${details.prompt.name}`);
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: user.sub, clientId: String(details.params.client_id) });
    const asked = details.prompt.details;
    if (asked.missingOIDCScope) grant.addOIDCScope(asked.missingOIDCScope.join(' '));
    for (const [indicator, scopes] of Object.entries(asked.missingResourceScopes ?? {})) {
      const granted = scopes.filter((s) => user.scopes.includes(s));
      const refused = scopes.filter((s) => !user.scopes.includes(s));
      if (granted.length) grant.addResourceScope(indicator, granted.join(' '));
      if (refused.length) grant.rejectResourceScope(indicator, refused.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  return {
    url,
    users,
    get signInAs() {
      return state.signInAs;
    },
    set signInAs(sub) {
      state.signInAs = sub;
    },
    signingKey: () => keys[0],
    async rotateKeys({ keepOld = false } = {}) {
      const key = await newKey();
      keys = keepOld ? [key, ...keys] : [key];
      build();
      return key;
    },
    async clientCredentialsToken(forResource, scope) {
      const res = await fetch(`${url}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${ROBOT.client_id}:${ROBOT.client_secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: forResource, scope }),
      });
      const body = await res.json();
      if (!body.access_token) throw new Error(`client credentials refused: ${body.error}: ${body.error_description}`);
      return body.access_token;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '9000' },
      resource: { type: 'string', default: 'http://127.0.0.1:3000/mcp' },
      user: { type: 'string', default: 'alice' },
    },
  });
  if (!PEOPLE.some((p) => p.sub === values.user)) throw new Error(`--user must be one of ${PEOPLE.map((p) => p.sub).join(', ')}`);
  // Pages may register (the status page signs in without a client configured for it).
  const issuer = await startIssuer({ port: Number(values.port), resource: values.resource, users: PEOPLE, registrationFromBrowsers: true });
  issuer.signInAs = values.user;
  const who = PEOPLE.find((p) => p.sub === values.user);
  process.stderr.write(
    [
      `Local OAuth issuer at ${issuer.url} (for trying sign-in only: no passwords, NOT for production).`,
      `It mints access tokens for ${values.resource}; every sign-in is ${who.sub}${who.name ? ` (${who.name})` : ''}, granted ${who.scopes.join(' ') || 'no mlops scope'}.`,
      `Serve mlops-mcp with MLOPS_MCP_OAUTH_ISSUER=${issuer.url}; Ctrl-C stops this issuer.`,
      '',
    ].join('\n'),
  );
}
