import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer-token check for /mcp. Both sides are hashed first so the comparison is constant-time
 * whatever the lengths; the token is read from the Authorization header only, never the URL.
 */
export function bearerAuth(token: string): RequestHandler {
  const expected = digest(token);
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match && timingSafeEqual(digest(match[1]), expected)) {
      next();
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', 'Bearer realm="mlops-mcp"')
      .json({ jsonrpc: '2.0', error: { code: -32001, message: 'Unauthorized: send Authorization: Bearer <MLOPS_MCP_TOKEN>' }, id: null });
  };
}

/** Refuses a browser request whose Origin is not one of the allowed hosts (DNS rebinding, CSRF). */
export function originCheck(allowedHosts: readonly string[]): RequestHandler {
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin === undefined) return next();
    let hostname: string | undefined;
    try {
      hostname = new URL(origin).hostname;
    } catch {
      hostname = undefined;
    }
    if (hostname !== undefined && (allowedHosts.includes(hostname) || allowedHosts.includes(`[${hostname}]`))) return next();
    res.status(403).json({ jsonrpc: '2.0', error: { code: -32000, message: `Origin not allowed: ${origin}` }, id: null });
  };
}
