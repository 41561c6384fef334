import express, { type RequestHandler } from 'express';
import type { OAuthConfig } from '../config.js';
import type { Caller } from '../mcp/server.js';
import type { Role } from '../mcp/tool.js';
import type { OAuthVerifier } from './oauth.js';
import { refuse } from './responses.js';
import type { TokenRegistry } from './tokens.js';

/** A request whose bearer is not let in: its status, what to tell it, and the challenge to send. */
export interface AuthFailure {
  status: 401 | 403 | 503;
  message: string;
  /** The WWW-Authenticate header value (RFC 6750; with OAuth, naming the resource metadata). */
  challenge: string | undefined;
}

export const isAuthFailure = (r: Caller | AuthFailure): r is AuthFailure => 'status' in r;

const ROLES: readonly Role[] = ['admin', 'operate', 'read'];

/**
 * Who a request comes from, from its Authorization header alone: one of the configured tokens
 * (MLOPS_MCP_TOKEN, MLOPS_MCP_TOKENS_FILE), else an access token from the OAuth issuer
 * (MLOPS_MCP_OAUTH_ISSUER) whose scopes grant a role. Independent of any HTTP framework: every
 * route that needs a caller asks `authenticate`.
 */
export class Authenticator {
  constructor(
    private readonly tokens: TokenRegistry,
    private readonly oauth: { verifier: OAuthVerifier; scopes: OAuthConfig['scopes']; metadataUrl: () => string } | null,
  ) {}

  /** Requests must name their caller (a token is configured, or OAuth is on). */
  get required(): boolean {
    return this.tokens.enabled || this.oauth !== null;
  }

  /** More than one caller may hold sessions (sessions are then shared out between callers). */
  get severalCallers(): boolean {
    return this.tokens.count > 1 || this.oauth !== null;
  }

  async authenticate(authorization: string | undefined): Promise<Caller | AuthFailure> {
    const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(authorization ?? '');
    if (!match) {
      const how = this.oauth ? `send Authorization: Bearer <access token from ${this.oauth.verifier.issuer}>` : 'send Authorization: Bearer <token>';
      return { status: 401, message: `Unauthorized: ${how}`, challenge: this.challenge() };
    }
    const known = this.tokens.identify(match[1]);
    if (known) return { name: known.name, role: known.role, via: 'token' };
    if (!this.oauth) return { status: 401, message: 'Unauthorized: send Authorization: Bearer <token>', challenge: this.challenge() };
    const facts = await this.oauth.verifier.verify(match[1]);
    if ('kind' in facts) {
      if (facts.kind === 'unavailable') return { status: 503, message: facts.message, challenge: undefined };
      return { status: 401, message: `Unauthorized: ${facts.message}`, challenge: this.challenge('invalid_token', facts.message) };
    }
    const { scopes } = this.oauth;
    const role = ROLES.find((r) => facts.scopes.includes(scopes[r]));
    if (!role) {
      const message = `Forbidden: the token grants none of the scopes ${scopes.read}, ${scopes.operate}, ${scopes.admin}; sign in again asking for at least ${scopes.read}`;
      return { status: 403, message, challenge: this.challenge('insufficient_scope', message, scopes.read) };
    }
    return { name: facts.subject, displayName: facts.displayName, role, via: 'oauth', scopes: facts.scopes.filter((s) => Object.values(scopes).includes(s)) };
  }

  /** RFC 6750 §3 (no error code when no token was sent), with RFC 9728's resource_metadata under OAuth. */
  private challenge(error?: 'invalid_token' | 'insufficient_scope', description?: string, scope?: string): string {
    const params = ['realm="mlops-mcp"'];
    if (error) params.push(`error="${error}"`, `error_description="${quotable(description ?? '')}"`);
    if (scope) params.push(`scope="${scope}"`);
    if (this.oauth) params.push(`resource_metadata="${this.oauth.metadataUrl()}"`);
    return `Bearer ${params.join(', ')}`;
  }
}

/** Text as an HTTP quoted-string holds it: printable ASCII without quotes or backslashes, bounded. */
const quotable = (s: string) => s.replace(/[^\x20-\x7e]|["\\]/g, ' ').slice(0, 300);

/**
 * The caller check for Express routes: the token is read from the Authorization header only,
 * never the URL; the caller is left in res.locals.caller, a refusal answered in the route's shape.
 */
export function bearerAuth(auth: Authenticator): RequestHandler {
  return (req, res, next) => {
    auth.authenticate(req.headers.authorization).then((result) => {
      if (!isAuthFailure(result)) {
        res.locals.caller = result;
        return next();
      }
      if (result.challenge) res.set('WWW-Authenticate', result.challenge);
      refuse(req, res, result.status, refusalCodes(result), result.message);
    }, next);
  };
}

/** A refused caller's error codes: JSON-RPC's on /mcp, MLflow-style `error_code` on REST. */
export const refusalCodes = (failure: AuthFailure): { rpc: number; rest: string } =>
  failure.status === 401 ? { rpc: -32001, rest: 'UNAUTHENTICATED' } : failure.status === 403 ? FORBIDDEN : { rpc: -32000, rest: 'TEMPORARILY_UNAVAILABLE' };

/**
 * RFC 9728 protected resource metadata, at /.well-known/oauth-protected-resource and its form
 * for /mcp: the one resource this server is (<public URL>/mcp), the issuer that grants access
 * to it, and the scopes that make the roles. Public, and readable from any origin.
 */
export function protectedResourceMetadata(verifier: OAuthVerifier, scopes: OAuthConfig['scopes']): express.Router {
  const router = express.Router();
  router.get(['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp'], (_req, res) => {
    res.set({ 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'max-age=300' }).json({
      resource: verifier.resource,
      authorization_servers: [verifier.issuer],
      scopes_supported: [scopes.read, scopes.operate, scopes.admin],
      bearer_methods_supported: ['header'],
      resource_name: 'mlops-mcp',
    });
  });
  return router;
}

export const FORBIDDEN = { rpc: -32000, rest: 'PERMISSION_DENIED' };

/** Why an Origin header is refused (DNS rebinding, CSRF), or null: none, or one of the allowed hosts. */
export function originProblem(allowedHosts: readonly string[], origin: string | undefined): string | null {
  if (origin === undefined) return null;
  let hostname: string | undefined;
  try {
    hostname = new URL(origin).hostname;
  } catch {
    hostname = undefined;
  }
  if (hostname !== undefined && (allowedHosts.includes(hostname) || allowedHosts.includes(`[${hostname}]`))) return null;
  return `Origin not allowed: ${origin.slice(0, 200)}`;
}

/** Refuses a browser request whose Origin is not one of the allowed hosts (DNS rebinding, CSRF). */
export function originCheck(allowedHosts: readonly string[]): RequestHandler {
  return (req, res, next) => {
    const problem = originProblem(allowedHosts, req.headers.origin);
    if (problem === null) return next();
    refuse(req, res, 403, FORBIDDEN, problem);
  };
}

/**
 * Host-header validation against DNS rebinding, as the SDK's hostHeaderValidation middleware
 * does it (the hostname, any port, must be allowed; IPv6 in brackets): why a Host header is
 * refused, or null. A header once found allowed is remembered as it was written (a client sends
 * the same one on every request), so a URL is parsed only for a header not seen before; at most
 * KNOWN_HOSTS are kept, and only allowed ones.
 */
export function hostChecker(allowedHosts: readonly string[]): (header: string | undefined) => string | null {
  const known = new Set<string>();
  return (header) => {
    if (!header) return 'Missing Host header';
    if (known.has(header)) return null;
    let hostname: string;
    try {
      hostname = new URL(`http://${header}`).hostname;
    } catch {
      return `Invalid Host header: ${header.slice(0, 200)}`;
    }
    if (!allowedHosts.includes(hostname)) return `Invalid Host: ${hostname.slice(0, 200)}`;
    if (known.size < KNOWN_HOSTS) known.add(header);
    return null;
  };
}

const KNOWN_HOSTS = 64;

/**
 * The Host check as middleware, answering in the shape of the route asked (the SDK's answers
 * JSON-RPC everywhere). First of all, before any body is read.
 */
export function hostCheck(check: (header: string | undefined) => string | null): RequestHandler {
  return (req, res, next) => {
    const problem = check(req.headers.host);
    if (problem === null) return next();
    refuse(req, res, 403, FORBIDDEN, problem);
  };
}
