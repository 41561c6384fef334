#!/usr/bin/env node
// An MCP client that knows only a server's URL and signs in as a hosted connector does, with the
// SDK's own client: call /mcp, get the 401, discover the protected resource and the issuer,
// register dynamically, run authorization code + PKCE (redirect to a loopback port of this
// process), then list the tools the signed-in person may use. For trying a server's OAuth setup
// (docs/operations.md, "Sign-in with OAuth").
//
//   node tools/oauth-connect.mjs <url of /mcp> [--follow]
//
// It prints the sign-in URL to open in a browser. --follow follows the issuer's redirects itself,
// for an issuer that signs people in without a page (tools/oauth-issuer.mjs).
import http from 'node:http';
import { parseArgs } from 'node:util';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { follow: { type: 'boolean', default: false } } });
if (positionals.length !== 1) throw new Error('usage: node tools/oauth-connect.mjs <url of /mcp> [--follow]');
const url = new URL(positionals[0]);

let answer;
const answered = new Promise((resolve) => (answer = resolve));
const callback = http.createServer((req, res) => {
  const query = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
  res.end(query.get('code') ? 'Signed in: you may close this page.' : `Sign-in failed: ${query.get('error')} ${query.get('error_description') ?? ''}`);
  answer(query);
});
await new Promise((resolve) => callback.listen(0, '127.0.0.1', resolve));
const redirect = `http://127.0.0.1:${callback.address().port}/callback`;

let saved = { verifier: '', state: '' };
const provider = {
  redirectUrl: redirect,
  clientMetadata: {
    client_name: 'mlops-mcp oauth-connect',
    redirect_uris: [redirect],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  },
  state: () => (saved.state = crypto.randomUUID()),
  clientInformation: () => saved.client,
  saveClientInformation: (client) => (saved.client = client),
  tokens: () => saved.tokens,
  saveTokens: (tokens) => (saved.tokens = tokens),
  saveCodeVerifier: (verifier) => (saved.verifier = verifier),
  codeVerifier: () => saved.verifier,
  async redirectToAuthorization(authorizationUrl) {
    process.stderr.write(`Sign in: open this URL in a browser\n  ${authorizationUrl.href}\n`);
    if (values.follow) await follow(authorizationUrl.href);
  },
};

/** Follows redirects with the issuer's cookies up to this process's loopback redirect. */
async function follow(start) {
  const cookies = new Map();
  let at = start;
  for (let hop = 0; hop < 20 && !at.startsWith(redirect); hop++) {
    const res = await fetch(at, { redirect: 'manual', headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      cookies.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
    }
    const location = res.headers.get('location');
    if (!location) throw new Error(`--follow stopped at ${at}: HTTP ${res.status} (this issuer shows a sign-in page: open the URL in a browser instead)`);
    at = new URL(location, at).href;
  }
  await fetch(at);
}

const connect = async () => {
  const client = new Client({ name: 'mlops-mcp oauth-connect', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  return client;
};

let client;
try {
  client = await connect();
} catch (e) {
  if (!(e instanceof UnauthorizedError)) throw e;
  process.stderr.write(`${url.href} asks for sign-in; waiting for the issuer to send you back to ${redirect}\n`);
  const query = await answered;
  if (query.get('state') !== saved.state) throw new Error('the answer does not match the sign-in started here (state)');
  if (!query.get('code')) throw new Error(`the issuer refused: ${query.get('error')} ${query.get('error_description') ?? ''}`);
  await new StreamableHTTPClientTransport(url, { authProvider: provider }).finishAuth(query.get('code'));
  client = await connect();
}
callback.close();
const { tools } = await client.listTools();
const health = await client.callTool({ name: 'health_check', arguments: {} });
process.stdout.write(`Connected to ${url.href} as ${whoSignedIn()}; ${tools.length} tools:\n  ${tools.map((t) => t.name).join(', ')}\n`);
process.stdout.write(`health_check: ${health.content?.[0]?.text?.split('\n')[0]}\n`);

/** Who the access token names (a JWT's sub and name; an opaque token says nothing here). */
function whoSignedIn() {
  const parts = saved.tokens?.access_token.split('.') ?? [];
  if (parts.length !== 3) return saved.tokens ? 'the signed-in person (opaque token)' : 'an anonymous caller';
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
  return `${claims.sub}${claims.name ? ` (${claims.name})` : ''}, scopes ${claims.scope}`;
}
await client.close();
