import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';

/**
 * What a hosted connector (Claude.ai, ChatGPT) does with only a server's URL, done by the SDK's
 * own client: call /mcp, get the 401, discover the protected resource and authorization server
 * metadata, register dynamically, run authorization code + PKCE for the resource, and call tools
 * with the token. The person's part (sign-in and consent pages) is `signIn`.
 */

const REDIRECT = 'http://127.0.0.1:1/callback';

/** An OAuth client's state kept in memory, as a connector keeps it per user. */
export class ConnectorAuth implements OAuthClientProvider {
  private info: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier = '';
  /** Where the connector sent the person last (the authorization request). */
  authorizationUrl: URL | undefined;
  registrations = 0;

  constructor(preRegistered?: { client_id: string }) {
    this.info = preRegistered;
  }

  get redirectUrl(): string {
    return REDIRECT;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'test connector',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  clientInformation() {
    return this.info;
  }

  saveClientInformation(info: OAuthClientInformationMixed) {
    this.registrations++;
    this.info = info;
  }

  tokens() {
    return this.saved;
  }

  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }

  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }

  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }

  codeVerifier() {
    return this.verifier;
  }

  get accessToken(): string | undefined {
    return this.saved?.access_token;
  }
}

/**
 * The person's browser: follows the authorization request through the issuer's sign-in and
 * consent (answered by the test issuer for its signInAs user), carrying its cookies, up to the
 * redirect back to the client; returns the authorization code.
 */
export async function signIn(authorizationUrl: URL): Promise<string> {
  const cookies = new Map<string, string>();
  let url = authorizationUrl.href;
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(REDIRECT)) {
      const back = new URL(url);
      const code = back.searchParams.get('code');
      if (!code) throw new Error(`the issuer sent back no code: ${back.search}`);
      return code;
    }
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location)
      throw new Error(`sign-in stopped at ${url}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
    url = new URL(location, url).href;
  }
  throw new Error('too many redirects during sign-in');
}

/** Connects as a hosted connector: on the 401, signs in, finishes the authorization, and connects again. */
export async function connectWithOAuth(mcpUrl: string, auth: ConnectorAuth, name = 'test connector'): Promise<Client> {
  const first = new Client({ name, version: '1.0.0' });
  try {
    await first.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: auth }));
    return first;
  } catch (e) {
    if (!(e instanceof UnauthorizedError) || !auth.authorizationUrl) throw e;
  }
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: auth });
  await transport.finishAuth(await signIn(auth.authorizationUrl));
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: auth }));
  return client;
}
