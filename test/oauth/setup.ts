import fs from 'node:fs';
import path from 'node:path';
import { spawnHttp, type SpawnedHttp } from '../e2e/spawn.js';
import { tempDir } from '../helpers.js';
import { freePort } from '../mlflow/mlflow-server.js';
import { PEOPLE, startIssuer, type TestIssuer } from './issuer.js';

export { PEOPLE };

export const STATIC_TOKEN = 'static-ci-token-0123456789abcdef';
/** A read token of the tokens file (MLOPS_MCP_TOKENS_FILE), named "dashboard". */
export const FILE_TOKEN = 'tokens-file-dashboard-0123456789';
/** The public client registered at the issuer for the status page (redirect URI <server URL>/). */
export const STATUS_PAGE_CLIENT = 'mlops-status-page';

export interface OAuthSetup {
  issuer: TestIssuer;
  server: SpawnedHttp;
  home: string;
  /** http://127.0.0.1:<port>/mcp: the resource identifier and the MCP endpoint. */
  mcp: string;
  close(): Promise<void>;
}

/**
 * A real issuer and `serve --http --demo` trusting it (MLOPS_MCP_OAUTH_ISSUER), on a port known
 * beforehand: the issuer mints tokens for <that URL>/mcp.
 */
export async function startOAuthServer(
  options: { env?: Record<string, string>; tokenFormat?: 'jwt' | 'opaque'; registrationFromBrowsers?: boolean } = {},
): Promise<OAuthSetup> {
  const port = await freePort();
  const mcp = `http://127.0.0.1:${port}/mcp`;
  const issuer = await startIssuer({
    resource: mcp,
    users: PEOPLE,
    tokenFormat: options.tokenFormat,
    registrationFromBrowsers: options.registrationFromBrowsers,
    publicClients: [{ client_id: STATUS_PAGE_CLIENT, redirect_uri: `http://127.0.0.1:${port}/` }],
  });
  const dir = tempDir();
  const home = path.join(dir, 'home');
  const tokensFile = path.join(dir, 'tokens.json');
  fs.writeFileSync(tokensFile, JSON.stringify({ tokens: [{ name: 'dashboard', role: 'read', token: FILE_TOKEN }] }));
  const env = { MLOPS_MCP_HOME: home, MLOPS_MCP_OAUTH_ISSUER: issuer.url, MLOPS_MCP_TOKEN: STATIC_TOKEN, MLOPS_MCP_TOKENS_FILE: tokensFile, ...options.env };
  const server = await spawnHttp(['--demo'], env, port);
  return {
    issuer,
    server,
    home,
    mcp,
    async close() {
      await server.stop();
      await issuer.close();
    },
  };
}

/** A raw request with a bearer token, its status, WWW-Authenticate and JSON body. */
export async function withToken(url: string, token: string | undefined, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(url, {
    method: init.method ?? 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // an SSE answer: the text as it is
  }
  return { status: res.status, challenge: res.headers.get('www-authenticate'), sessionId: res.headers.get('mcp-session-id'), body };
}

export const initialize = (client = 'raw') => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: client, version: '1' } },
});
