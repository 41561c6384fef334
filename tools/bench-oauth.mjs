#!/usr/bin/env node
// What checking an access token costs per request: `npm run bench:oauth`
// (= npm run build && node tools/bench-oauth.mjs). Starts the local issuer of
// tools/oauth-issuer.mjs (oidc-provider on loopback) and measures
//   1. Authenticator.authenticate in process, per kind of token: a configured token (SHA-256
//      lookup), a JWT access token (RS256 signature, issuer, audience, expiry; keys cached), an
//      opaque token whose introspection answer is cached, and one asked about at the issuer;
//   2. a ping over /mcp of serve --http --demo (one session, sequential), with a configured token
//      and with a JWT, in alternating rounds: what the check adds to a request seen by a client.
// Tables on stdout, then a JSON line; progress on stderr.
process.env.ORT_DISABLE_TELEMETRY = '1';

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { pino } from 'pino';
import { CLI, killChildren, progress, round, spawnHttp, stopPid, summarize, table } from './bench/lib.mjs';
import { INTROSPECTOR, PEOPLE, startIssuer } from './oauth-issuer.mjs';

const dist = (p) => import(new URL(`../dist/${p}`, import.meta.url).href);
const { loadConfig } = await dist('config.js');
const { Authenticator } = await dist('http/auth.js');
const { OAuthVerifier } = await dist('http/oauth.js');
const { TokenRegistry } = await dist('http/tokens.js');

const quick = process.argv.includes('--quick');
const N = quick ? 2_000 : 20_000;
const MISSES = quick ? 50 : 300;
const PINGS = quick ? 500 : 2_000;
const ROUNDS = quick ? 1 : 3;
const STATIC = 'bench-static-token-0123456789abcdef';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-mcp-bench-oauth-'));
process.on('exit', () => {
  killChildren();
  fs.rmSync(tmp, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));

const results = {};
const port = 20000 + Math.floor(Math.random() * 20000);
const base = `http://127.0.0.1:${port}`;
const jwtIssuer = await startIssuer({ resource: `${base}/mcp`, users: PEOPLE });
const opaqueIssuer = await startIssuer({ resource: `${base}/mcp`, users: PEOPLE, tokenFormat: 'opaque' });

function authenticator(issuer, env = {}) {
  const config = loadConfig({ MLOPS_MCP_OAUTH_ISSUER: issuer.url, MLOPS_MCP_TOKEN: STATIC, ...env });
  const verifier = new OAuthVerifier(config.oauth, () => base, pino({ level: 'silent' }));
  return new Authenticator(TokenRegistry.load(STATIC, undefined), {
    verifier,
    scopes: config.oauth.scopes,
    metadataUrl: () => `${base}/.well-known/oauth-protected-resource/mcp`,
  });
}

async function timeEach(label, headers) {
  const p = progress(label);
  const auth = headers.auth;
  const warm = headers.warm ?? headers.list;
  for (let i = 0; i < 500; i++) await auth.authenticate(warm[i % warm.length]);
  const us = [];
  for (let i = 0; i < headers.n; i++) {
    const h = headers.list[i % headers.list.length];
    const t0 = process.hrtime.bigint();
    const caller = await auth.authenticate(h);
    us.push(Number(process.hrtime.bigint() - t0) / 1e3);
    if ('status' in caller) throw new Error(`${label}: refused: ${caller.message}`);
  }
  p.done();
  return summarize(us);
}

// ---------------------------------------------------------------- 1. in process
const jwtAuth = authenticator(jwtIssuer);
const jwt = await jwtIssuer.clientCredentialsToken(`${base}/mcp`, 'mlops:operate');
const opaqueAuth = authenticator(opaqueIssuer, {
  MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_ID: INTROSPECTOR.client_id,
  MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_SECRET: INTROSPECTOR.client_secret,
});
const opaque = await opaqueIssuer.clientCredentialsToken(`${base}/mcp`, 'mlops:operate');
const fresh = [];
for (let i = 0; i < MISSES + 500; i++) fresh.push(`Bearer ${await opaqueIssuer.clientCredentialsToken(`${base}/mcp`, 'mlops:operate')}`);
const inProcess = {
  'configured token': await timeEach('configured token', { auth: jwtAuth, list: [`Bearer ${STATIC}`], n: N }),
  'JWT access token': await timeEach('JWT', { auth: jwtAuth, list: [`Bearer ${jwt}`], n: N }),
  'opaque, introspection cached': await timeEach('opaque cached', { auth: opaqueAuth, list: [`Bearer ${opaque}`], n: N }),
  // Each token once: the warm-up takes the first 500, the timed calls ask the issuer about the rest.
  'opaque, asked at the issuer': await timeEach('opaque asked', { auth: opaqueAuth, warm: fresh.slice(0, 500), list: fresh.slice(500), n: MISSES }),
};
results.authenticate_us = Object.fromEntries(
  Object.entries(inProcess).map(([k, s]) => [k, { n: s.n, p50: round(s.p50, 1), p99: round(s.p99, 1), mean: round(s.mean, 1) }]),
);
console.log(
  table(
    '1. Authenticator.authenticate, in process (µs)',
    ['token', 'n', 'p50', 'p99', 'mean'],
    Object.entries(inProcess).map(([k, s]) => [k, s.n, s.p50, s.p99, s.mean]),
  ),
);

// ---------------------------------------------------------------- 2. over HTTP
const server = await spawnHttp(CLI, ['serve', '--http', '--port', String(port), '--demo'], {
  ...process.env,
  MLOPS_MCP_HOME: path.join(tmp, 'home'),
  MLOPS_MCP_TOKEN: STATIC,
  MLOPS_MCP_OAUTH_ISSUER: jwtIssuer.url,
  LOG_LEVEL: 'warn',
});
async function pinger(token) {
  const client = new Client({ name: 'bench-oauth', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}
const clients = { 'configured token': await pinger(STATIC), 'JWT access token': await pinger(jwt) };
const pings = { 'configured token': [], 'JWT access token': [] };
for (const c of Object.values(clients)) for (let i = 0; i < 500; i++) await c.ping();
for (let r = 0; r < ROUNDS; r++) {
  for (const [kind, c] of Object.entries(clients)) {
    const p = progress(`ping ${kind}, round ${r + 1}`);
    for (let i = 0; i < PINGS; i++) {
      const t0 = process.hrtime.bigint();
      await c.ping();
      pings[kind].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    p.done();
  }
}
const overHttp = Object.fromEntries(Object.entries(pings).map(([k, v]) => [k, summarize(v)]));
results.ping_ms = Object.fromEntries(Object.entries(overHttp).map(([k, s]) => [k, { n: s.n, p50: round(s.p50), p99: round(s.p99), mean: round(s.mean) }]));
console.log(
  table(
    `2. ping over /mcp, one session, sequential (ms; ${ROUNDS} alternating rounds of ${PINGS})`,
    ['token', 'n', 'p50', 'p99', 'mean'],
    Object.entries(overHttp).map(([k, s]) => [k, s.n, s.p50, s.p99, s.mean]),
  ),
);

for (const c of Object.values(clients)) await c.close();
await stopPid(server.pid);
await jwtIssuer.close();
await opaqueIssuer.close();
console.log(JSON.stringify({ bench: 'oauth', quick, node: process.version, cpus: os.cpus().length, ...results }));
