import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { Caller } from '../mcp/server.js';
import { refuse } from './responses.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

const tokensFileSchema = z.object({
  tokens: z
    .array(
      z
        .object({
          name: z.string().min(1).max(100),
          role: z.enum(['read', 'operate', 'admin']),
          sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'sha256 must be 64 hex characters').optional(),
          token: z.string().min(16, 'a token must be at least 16 characters').optional(),
        })
        .refine((t) => (t.sha256 === undefined) !== (t.token === undefined), 'give exactly one of sha256 (preferred) and token'),
    )
    .min(1),
});

interface KnownToken {
  name: string;
  role: Caller['role'];
  digest: Buffer;
}

/**
 * The tokens that may call over HTTP, kept only as SHA-256 digests: MLOPS_MCP_TOKEN (an admin
 * named "default") and the named ones of MLOPS_MCP_TOKENS_FILE.
 */
export class TokenRegistry {
  private constructor(private readonly tokens: KnownToken[]) {}

  static load(single: string | undefined, file: string | undefined): TokenRegistry {
    const tokens: KnownToken[] = single ? [{ name: 'default', role: 'admin', digest: digest(single) }] : [];
    if (file) {
      let parsed: z.infer<typeof tokensFileSchema>;
      try {
        parsed = tokensFileSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
      } catch (e) {
        const why = e instanceof z.ZodError ? e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : e instanceof Error ? e.message.split('\n')[0] : String(e);
        throw new Error(`MLOPS_MCP_TOKENS_FILE ${file} is not usable: ${why}`);
      }
      for (const t of parsed.tokens) {
        if (tokens.some((k) => k.name === t.name)) throw new Error(`MLOPS_MCP_TOKENS_FILE names "${t.name}" twice`);
        tokens.push({ name: t.name, role: t.role, digest: t.sha256 ? Buffer.from(t.sha256, 'hex') : digest(t.token as string) });
      }
    }
    return new TokenRegistry(tokens);
  }

  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  get count(): number {
    return this.tokens.length;
  }

  /** The caller a presented token belongs to; every known digest is compared, in constant time. */
  identify(presented: string): Caller | undefined {
    const d = digest(presented);
    let found: KnownToken | undefined;
    for (const t of this.tokens) if (timingSafeEqual(d, t.digest) && !found) found = t;
    return found && { name: found.name, role: found.role };
  }
}

/** The caller an Authorization header's bearer token identifies; undefined for none or an unknown one. */
export function callerOf(tokens: TokenRegistry, header: string | undefined): Caller | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? tokens.identify(match[1]) : undefined;
}

export const UNAUTHORIZED = 'Unauthorized: send Authorization: Bearer <token>';
export const WWW_AUTHENTICATE = 'Bearer realm="mlops-mcp"';

/**
 * Bearer-token check: the token is read from the Authorization header only, never the URL;
 * the caller it identifies is left in res.locals.caller.
 */
export function bearerAuth(tokens: TokenRegistry): RequestHandler {
  return (req, res, next) => {
    const caller = callerOf(tokens, req.headers.authorization);
    if (caller) {
      res.locals.caller = caller;
      next();
      return;
    }
    res.set('WWW-Authenticate', WWW_AUTHENTICATE);
    refuse(req, res, 401, { rpc: -32001, rest: 'UNAUTHENTICATED' }, UNAUTHORIZED);
  };
}

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

export const FORBIDDEN = { rpc: -32000, rest: 'PERMISSION_DENIED' };

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
