import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { RequestHandler } from 'express';
import { readBuiltHtml, STATUS_PAGE_HTML } from '../mcp/app.js';
import type { OAuthVerifier } from './oauth.js';

/**
 * How the page signs a person in when the server is an OAuth resource server: the issuer, the
 * client the page is registered as (null: it registers itself), and the origins the browser must
 * reach besides this one (the issuer's metadata, token and registration endpoints).
 */
export interface StatusPageSignIn {
  issuer: string;
  clientId: string | null;
  origins: string[];
}

/** The name of the meta tag that tells the page how to sign in (absent: a bearer token is asked for). */
export const SIGN_IN_META = 'mlops-mcp-oauth';

/**
 * GET /: the status page, the dashboard MCP Apps hosts show in the chat, for people outside a
 * chat (dist/ui/status.html, built from src/ui). It holds no data: in the browser it is an MCP
 * client of /mcp on the same origin, so the token, roles, read-only mode, approval and the
 * Host/Origin checks apply to it as to any client. Its CSP lets it run only its own inline
 * script (by hash) and talk only to its own origin, and, with OAuth, to the issuer's.
 */
export function statusPage(signIn: () => Promise<StatusPageSignIn | null> = async () => null, file = STATUS_PAGE_HTML): RequestHandler {
  let cached: { mtimeMs: number; html: string; scripts: string[] } | null = null;
  return async (_req, res, next) => {
    try {
      const mtimeMs = await stat(file).then(
        (s) => s.mtimeMs,
        () => -1,
      );
      if (!cached || cached.mtimeMs !== mtimeMs) {
        const { html } = await readBuiltHtml(file);
        cached = { mtimeMs, html, scripts: scriptHashes(html) };
      }
      const how = await signIn();
      res
        .set({
          'Content-Security-Policy': policy(cached.scripts, how?.origins ?? []),
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
          'Cache-Control': 'no-cache',
        })
        .type('html')
        .send(how ? withSignIn(cached.html, how) : cached.html);
    } catch (e) {
      next(e);
    }
  };
}

/** The page with its sign-in told in a meta tag (data, not script: the CSP hashes stay valid). */
function withSignIn(html: string, how: StatusPageSignIn): string {
  const content = JSON.stringify({ issuer: how.issuer, clientId: how.clientId }).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return html.replace('</head>', `<meta name="${SIGN_IN_META}" content="${content}" />\n</head>`);
}

/** Scripts: only the page's own inline ones, by SHA-256; network: only this origin. */
export function contentSecurityPolicy(html: string, origins: string[] = []): string {
  return policy(scriptHashes(html), origins);
}

const scriptHashes = (html: string) =>
  [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)]
    .filter((m) => m[1].length > 0)
    .map((m) => `'sha256-${createHash('sha256').update(m[1], 'utf8').digest('base64')}'`);

function policy(scripts: string[], origins: string[]): string {
  return [
    "default-src 'none'",
    `script-src ${scripts.join(' ') || "'none'"}`,
    "style-src 'unsafe-inline'",
    ["connect-src 'self'", ...origins].join(' '),
    "img-src 'self' data:",
    "font-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The page's sign-in through `verifier`'s issuer. The origins come from the issuer's metadata when
 * it answers (a token endpoint may live elsewhere than the issuer); when it does not, the page
 * still loads, with the issuer's origin, and says what failed when the person signs in.
 */
export function signInThrough(verifier: Pick<OAuthVerifier, 'issuer' | 'issuerMetadata'>, clientId: string | null): () => Promise<StatusPageSignIn> {
  return async () => {
    const origins = new Set([new URL(verifier.issuer).origin]);
    const metadata = await verifier.issuerMetadata().catch(() => null);
    for (const endpoint of [metadata?.token_endpoint, metadata?.registration_endpoint]) {
      if (endpoint && URL.canParse(endpoint)) origins.add(new URL(endpoint).origin);
    }
    return { issuer: verifier.issuer, clientId, origins: [...origins] };
  };
}
