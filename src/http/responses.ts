import type { ServerResponse } from 'node:http';
import type { Request, Response } from 'express';

/** A JSON-RPC error outside any exchange (id null): how /mcp refuses a request before it reaches a session. */
export const rpcError = (res: Response, status: number, code: number, message: string) =>
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });

/** An MLflow scoring-server error ({error_code, message}): how the REST routes refuse a request. */
export const restError = (res: Response, status: number, errorCode: string, message: string) => res.status(status).json({ error_code: errorCode, message });

/** The MCP endpoint (`/mcp`, and anything under it), where refusals are JSON-RPC errors. */
export const isMcpPath = (req: Request): boolean => /^\/mcp(?:[/?#]|$)/.test(req.originalUrl);

/**
 * Refuses a request in the shape its route answers in: a JSON-RPC error on /mcp (code `rpc`),
 * MLflow's {error_code, message} everywhere else (code `rest`).
 */
export function refuse(req: Request, res: Response, status: number, codes: { rpc: number; rest: string }, message: string): void {
  if (isMcpPath(req)) rpcError(res, status, codes.rpc, message);
  else restError(res, status, codes.rest, message);
}

/**
 * restError for a plain node:http response: the same status, headers (Content-Type
 * `application/json; charset=utf-8`, Content-Length) and body as Express's res.json sends.
 */
export function sendRestError(res: ServerResponse, status: number, errorCode: string, message: string): void {
  sendJson(res, status, JSON.stringify({ error_code: errorCode, message }));
}

/** A JSON text as Express's res.json answers it (no ETag: the app turns it off). */
export function sendJson(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, ['Content-Type', 'application/json; charset=utf-8', 'Content-Length', String(Buffer.byteLength(text))]);
  res.end(text);
}
