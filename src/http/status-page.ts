import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { RequestHandler } from 'express';
import { readBuiltHtml, STATUS_PAGE_HTML } from '../mcp/app.js';

/**
 * GET /: the status page, the dashboard MCP Apps hosts show in the chat, for people outside a
 * chat (dist/ui/status.html, built from src/ui). It holds no data: in the browser it is an MCP
 * client of /mcp on the same origin, so the token, roles, read-only mode, approval and the
 * Host/Origin checks apply to it as to any client. Its CSP lets it run only its own inline
 * script (by hash) and talk only to its own origin.
 */
export function statusPage(file = STATUS_PAGE_HTML): RequestHandler {
  let cached: { mtimeMs: number; html: string; csp: string } | null = null;
  return async (_req, res, next) => {
    try {
      const mtimeMs = await stat(file).then((s) => s.mtimeMs, () => -1);
      if (!cached || cached.mtimeMs !== mtimeMs) {
        const { html } = await readBuiltHtml(file);
        cached = { mtimeMs, html, csp: contentSecurityPolicy(html) };
      }
      res
        .set({
          'Content-Security-Policy': cached.csp,
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
          'Cache-Control': 'no-cache',
        })
        .type('html')
        .send(cached.html);
    } catch (e) {
      next(e);
    }
  };
}

/** Scripts: only the page's own inline ones, by SHA-256; network: only this origin. */
export function contentSecurityPolicy(html: string): string {
  const hashes = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)]
    .filter((m) => m[1].length > 0)
    .map((m) => `'sha256-${createHash('sha256').update(m[1], 'utf8').digest('base64')}'`);
  return [
    "default-src 'none'",
    `script-src ${hashes.join(' ') || "'none'"}`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
