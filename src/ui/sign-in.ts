import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';

// The status page's sign-in when the server is an OAuth resource server (the server says so in a
// meta tag): an OAuth client of the issuer in the browser, authorization code + PKCE, run by the
// SDK's `auth()` through the transport. The access token and the PKCE verifier live in this tab's
// sessionStorage; a client the page registered itself is kept in localStorage per issuer, so a
// browser registers once. The redirect URI is the page itself.

export interface SignInSettings {
  issuer: string;
  /** A client registered at the issuer for this page; null: the page registers itself. */
  clientId: string | null;
}

const TOKENS_KEY = 'mlops-mcp-oauth-tokens';
const VERIFIER_KEY = 'mlops-mcp-oauth-verifier';
const STATE_KEY = 'mlops-mcp-oauth-state';
const clientKey = (issuer: string) => `mlops-mcp-oauth-client ${issuer}`;

/** The settings the server put in the page, or null: the server takes bearer tokens only. */
export function signInSettings(): SignInSettings | null {
  const content = document.querySelector<HTMLMetaElement>('meta[name="mlops-mcp-oauth"]')?.content;
  if (!content) return null;
  const parsed = JSON.parse(content) as Partial<SignInSettings>;
  return typeof parsed.issuer === 'string' ? { issuer: parsed.issuer, clientId: typeof parsed.clientId === 'string' ? parsed.clientId : null } : null;
}

const load = <T>(storage: Storage, key: string): T | undefined => {
  const text = storage.getItem(key);
  return text ? (JSON.parse(text) as T) : undefined;
};

export class PageSignIn implements OAuthClientProvider {
  /** The authorization request prepared on the last 401: the "Sign in" link. */
  authorizationUrl: URL | null = null;

  constructor(readonly settings: SignInSettings) {}

  /** The page itself, without its query: where the issuer sends the person back. */
  get redirectUrl(): string {
    const here = new URL(location.href);
    return `${here.origin}${here.pathname}`;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: `mlops-mcp status page (${location.host})`,
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  /** A fresh random state per authorization request, checked when the person comes back. */
  state(): string {
    const value = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
    sessionStorage.setItem(STATE_KEY, value);
    return value;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.settings.clientId ? { client_id: this.settings.clientId } : load(localStorage, clientKey(this.settings.issuer));
  }

  saveClientInformation(info: OAuthClientInformationMixed): void {
    localStorage.setItem(clientKey(this.settings.issuer), JSON.stringify(info));
  }

  tokens(): OAuthTokens | undefined {
    return load(sessionStorage, TOKENS_KEY);
  }

  saveTokens(tokens: OAuthTokens): void {
    sessionStorage.setItem(TOKENS_KEY, JSON.stringify(tokens));
  }

  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url;
  }

  saveCodeVerifier(verifier: string): void {
    sessionStorage.setItem(VERIFIER_KEY, verifier);
  }

  codeVerifier(): string {
    const verifier = sessionStorage.getItem(VERIFIER_KEY);
    if (!verifier) throw new Error('no sign-in was started in this tab (the PKCE verifier is missing): sign in again');
    return verifier;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'tokens') sessionStorage.removeItem(TOKENS_KEY);
    if (scope === 'all' || scope === 'verifier') sessionStorage.removeItem(VERIFIER_KEY);
    if ((scope === 'all' || scope === 'client') && !this.settings.clientId) localStorage.removeItem(clientKey(this.settings.issuer));
  }

  signedIn(): boolean {
    return this.tokens() !== undefined;
  }

  signOut(): void {
    this.invalidateCredentials('tokens');
  }

  /** Who the access token names, for the page's header only (the server checks the token itself). */
  who(): string | null {
    const parts = this.tokens()?.access_token.split('.');
    if (parts?.length !== 3) return null;
    try {
      const claims = JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown; name?: unknown };
      return typeof claims.name === 'string' ? claims.name : typeof claims.sub === 'string' ? claims.sub : null;
    } catch {
      return null;
    }
  }

  /**
   * The authorization code when this page load is the issuer sending the person back, after
   * checking it answers the request this tab made (state) and comes from the issuer (RFC 9207 iss);
   * null on an ordinary load. Throws what the issuer said when it refused.
   */
  takeCallback(): string | null {
    const query = new URLSearchParams(location.search);
    if (!query.has('code') && !query.has('error')) return null;
    history.replaceState(null, '', this.redirectUrl);
    const expected = sessionStorage.getItem(STATE_KEY);
    sessionStorage.removeItem(STATE_KEY);
    if (!expected || query.get('state') !== expected) throw new Error('the answer from the issuer does not match a sign-in started in this tab; sign in again');
    const iss = query.get('iss');
    if (iss !== null && iss !== this.settings.issuer) throw new Error(`the answer came from ${iss}, not from ${this.settings.issuer}`);
    const error = query.get('error');
    if (error) throw new Error(`the issuer refused the sign-in: ${error}${query.get('error_description') ? ` (${query.get('error_description')})` : ''}`);
    return query.get('code');
  }
}
