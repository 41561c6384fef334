import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type RemoteJWKSet } from 'jose';
import type { OAuthConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { sha256Of } from './tokens.js';

/**
 * Access tokens from the configured OAuth issuer, checked as a resource server must (RFC 9068,
 * RFC 8707, RFC 7662): a JWT is verified against the issuer's published keys (found through its
 * metadata; cached, and fetched again when a token names a key not seen yet), with its issuer,
 * expiry, audience (this server's resource identifier) and signature algorithm checked; an
 * opaque token is asked about at the issuer's introspection endpoint, when one is configured.
 */

/** What a good token says about its bearer. */
export interface TokenFacts {
  subject: string;
  /** A display name the token carries (`name`, else `preferred_username`). */
  displayName: string | undefined;
  scopes: string[];
}

/** Why a token is not accepted: `invalid` is the token's fault (401), `unavailable` the issuer's (503). */
export interface TokenProblem {
  kind: 'invalid' | 'unavailable';
  message: string;
}

interface IssuerMetadata {
  issuer: string;
  jwks_uri?: string;
  introspection_endpoint?: string;
  token_endpoint?: string;
  registration_endpoint?: string;
  authorization_endpoint?: string;
}

/** After a fetch of the issuer's keys, a token naming an unknown key fetches them again only after this long. */
const JWKS_COOLDOWN_MS = 2_000;
const FETCH_TIMEOUT_MS = 5_000;
/** Clock skew allowed between this server and the issuer on exp, nbf and iat. */
const CLOCK_TOLERANCE_S = 5;
const METADATA_MAX_AGE_MS = 3_600_000;
/** An introspection answer is reused this long at most: a revoked token stops working within it. */
const INTROSPECTION_CACHE_MS = 10_000;
const INTROSPECTION_CACHE_SIZE = 1_000;
const MAX_SUBJECT = 255;
const MAX_DISPLAY_NAME = 100;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const ACCESS_TOKEN_TYPES = new Set(['at+jwt', 'application/at+jwt', 'jwt']);

export class OAuthVerifier {
  private metadata: { value: Promise<IssuerMetadata>; at: number } | null = null;
  private jwks: { uri: string; set: RemoteJWKSet } | null = null;
  private readonly introspected = new Map<string, { facts: TokenFacts | TokenProblem; until: number }>();

  constructor(
    private readonly config: OAuthConfig,
    /** This server's base URL as clients reach it, known once it listens. */
    private readonly publicUrl: () => string,
    private readonly logger: Logger,
  ) {}

  /** The resource identifier tokens must be minted for (RFC 8707): <public URL>/mcp. */
  get resource(): string {
    return `${this.publicUrl()}/mcp`;
  }

  get issuer(): string {
    return this.config.issuer;
  }

  /** The issuer's metadata (RFC 8414, else OpenID discovery), fetched once an hour at most. */
  async issuerMetadata(): Promise<IssuerMetadata> {
    if (!this.metadata || Date.now() - this.metadata.at > METADATA_MAX_AGE_MS) {
      const value = discover(this.config.issuer);
      this.metadata = { value, at: Date.now() };
      value.catch(() => {
        if (this.metadata?.value === value) this.metadata = null;
      });
    }
    return this.metadata.value;
  }

  async verify(token: string): Promise<TokenFacts | TokenProblem> {
    if (JWT_SHAPE.test(token)) return this.verifyJwt(token);
    if (this.config.introspection) return this.introspect(token);
    return invalid('the token is not a JWT, and this server checks opaque tokens only with MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_ID set');
  }

  private async verifyJwt(token: string): Promise<TokenFacts | TokenProblem> {
    let claims: JWTPayload;
    let header: { alg?: string; typ?: string };
    try {
      claims = decodeJwt(token);
      header = decodeProtectedHeader(token);
    } catch {
      return invalid('the token is not a well-formed JWT');
    }
    const { alg, typ } = header;
    if (!alg || !this.config.algorithms.includes(alg)) {
      return invalid(
        `the token is signed with ${describe(alg)}, which this server does not accept (MLOPS_MCP_OAUTH_ALGORITHMS: ${this.config.algorithms.join(', ')})`,
      );
    }
    // Said before any key is fetched: a token from elsewhere costs the issuer nothing.
    if (claims.iss !== this.config.issuer)
      return invalid(`the token was issued by ${describe(claims.iss)}; this server accepts tokens from ${this.config.issuer}`);
    if (typ !== undefined && !ACCESS_TOKEN_TYPES.has(typ.toLowerCase())) return invalid(`the token is of type ${describe(typ)}, not an access token (at+jwt)`);
    let keys: RemoteJWKSet;
    try {
      keys = await this.keys();
    } catch (e) {
      return this.unavailable('its metadata', e);
    }
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: this.config.issuer,
        audience: [this.resource, `${this.resource}/`],
        algorithms: this.config.algorithms,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp', 'sub'],
      });
      return factsOf(payload, payload.scope ?? payload.scp);
    } catch (e) {
      return this.jwtProblem(e, claims);
    }
  }

  private async keys(): Promise<RemoteJWKSet> {
    const { jwks_uri: uri } = await this.issuerMetadata();
    if (!uri) throw new Error('the issuer publishes no jwks_uri');
    if (this.jwks?.uri !== uri) {
      this.jwks = { uri, set: createRemoteJWKSet(new URL(uri), { cooldownDuration: JWKS_COOLDOWN_MS, timeoutDuration: FETCH_TIMEOUT_MS }) };
    }
    return this.jwks.set;
  }

  private jwtProblem(e: unknown, claims: JWTPayload): TokenProblem {
    if (e instanceof errors.JWTExpired) return invalid(`the token expired at ${new Date(Number(claims.exp) * 1000).toISOString()}; get a new one`);
    if (e instanceof errors.JWTClaimValidationFailed) {
      if (e.claim === 'aud')
        return invalid(
          `the token was minted for ${describe(claims.aud)}, not for this server (${this.resource}): ask the issuer for a token with resource=${this.resource}`,
        );
      return invalid(`the token's ${e.claim} claim is not acceptable (${e.reason})`);
    }
    if (e instanceof errors.JOSEAlgNotAllowed)
      return invalid(`the token's signature algorithm is not accepted (MLOPS_MCP_OAUTH_ALGORITHMS: ${this.config.algorithms.join(', ')})`);
    if (e instanceof errors.JWSSignatureVerificationFailed)
      return invalid("the token's signature does not verify: it was altered, or not signed by the issuer");
    if (e instanceof errors.JWKSNoMatchingKey) return invalid('the token is signed with a key the issuer does not publish');
    if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid || e instanceof TypeError) return this.unavailable('its keys', e);
    if (e instanceof errors.JOSEError) return invalid(`the token does not verify (${e.code})`);
    return this.unavailable('its keys', e);
  }

  private unavailable(what: string, e: unknown): TokenProblem {
    this.logger.warn({ err: e, issuer: this.config.issuer }, 'could not check an access token with the issuer');
    const why = e instanceof Error ? e.message.split('\n')[0].slice(0, 200) : String(e);
    return { kind: 'unavailable', message: `cannot check the token: the issuer ${this.config.issuer} did not give ${what} (${why}); try again shortly` };
  }

  private async introspect(token: string): Promise<TokenFacts | TokenProblem> {
    const key = sha256Of(token).toString('base64url');
    const now = Date.now();
    const cached = this.introspected.get(key);
    if (cached && cached.until > now) return cached.facts;
    const { clientId, clientSecret } = this.config.introspection!;
    let answer: Record<string, unknown>;
    try {
      const { introspection_endpoint: endpoint } = await this.issuerMetadata();
      if (!endpoint) throw new Error('the issuer publishes no introspection_endpoint');
      const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`introspection answered HTTP ${res.status}`);
      answer = (await res.json()) as Record<string, unknown>;
    } catch (e) {
      return this.unavailable('an introspection answer', e);
    }
    const facts = this.introspectionFacts(answer);
    const exp = typeof answer.exp === 'number' ? answer.exp * 1000 : now;
    if (this.introspected.size >= INTROSPECTION_CACHE_SIZE) this.introspected.delete(this.introspected.keys().next().value as string);
    this.introspected.set(key, { facts, until: Math.min(now + INTROSPECTION_CACHE_MS, 'subject' in facts ? exp : now + INTROSPECTION_CACHE_MS) });
    return facts;
  }

  private introspectionFacts(a: Record<string, unknown>): TokenFacts | TokenProblem {
    if (a.active !== true) return invalid('the issuer says the token is not active (expired, revoked, or never issued)');
    if (a.iss !== undefined && a.iss !== this.config.issuer)
      return invalid(`the token was issued by ${describe(a.iss)}; this server accepts tokens from ${this.config.issuer}`);
    const audiences = Array.isArray(a.aud) ? a.aud : [a.aud];
    if (!audiences.some((x) => x === this.resource || x === `${this.resource}/`)) {
      return invalid(
        `the token was minted for ${describe(a.aud)}, not for this server (${this.resource}): ask the issuer for a token with resource=${this.resource}`,
      );
    }
    if (typeof a.exp !== 'number') return invalid('the issuer gives the token no expiry');
    if (a.exp * 1000 < Date.now() - CLOCK_TOLERANCE_S * 1000) return invalid(`the token expired at ${new Date(a.exp * 1000).toISOString()}; get a new one`);
    // A token of a client acting for itself (client credentials) may name no subject: the client is it.
    return factsOf({ ...a, sub: a.sub ?? a.client_id }, a.scope);
  }
}

function factsOf(claims: Record<string, unknown>, scope: unknown): TokenFacts | TokenProblem {
  const sub = claims.sub;
  if (typeof sub !== 'string' || !sub.trim() || sub.length > MAX_SUBJECT)
    return invalid(`the token's subject (sub) must be a string of 1 to ${MAX_SUBJECT} characters`);
  const scopes =
    typeof scope === 'string' ? scope.split(' ').filter(Boolean) : Array.isArray(scope) ? scope.filter((s): s is string => typeof s === 'string') : [];
  const shown = [claims.name, claims.preferred_username].find((n): n is string => typeof n === 'string' && n.trim() !== '');
  return { subject: oneLine(sub), displayName: shown === undefined ? undefined : oneLine(shown).slice(0, MAX_DISPLAY_NAME), scopes };
}

/** Words from a token, as they go into the audit and into messages: one line, no control characters. */
const oneLine = (s: string) => s.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ').trim();

const invalid = (message: string): TokenProblem => ({ kind: 'invalid', message });

function describe(v: unknown): string {
  if (v === undefined) return 'nobody (no such claim)';
  return JSON.stringify(v).slice(0, 200);
}

/** RFC 8414 §3.1 (the well-known segment before the issuer's path), then OpenID discovery. */
async function discover(issuer: string): Promise<IssuerMetadata> {
  const u = new URL(issuer);
  const path = u.pathname.replace(/\/$/, '');
  const candidates = [`${u.origin}/.well-known/oauth-authorization-server${path}`, `${u.origin}${path}/.well-known/openid-configuration`];
  let last = '';
  for (const url of candidates) {
    let res: Response;
    try {
      res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    } catch (e) {
      last = `${url}: ${e instanceof Error ? e.message : String(e)}`;
      continue;
    }
    if (!res.ok) {
      last = `${url}: HTTP ${res.status}`;
      continue;
    }
    const body = (await res.json()) as IssuerMetadata;
    if (body.issuer !== issuer)
      throw new Error(
        `${url} names the issuer ${describe(body.issuer)}, not ${issuer}: set MLOPS_MCP_OAUTH_ISSUER to the issuer exactly as its metadata names it`,
      );
    return body;
  }
  throw new Error(`no authorization server metadata at ${issuer} (${last})`);
}
