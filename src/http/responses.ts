import type { Response } from 'express';

/** A JSON-RPC error outside any exchange (id null): how /mcp refuses a request before it reaches a session. */
export const rpcError = (res: Response, status: number, code: number, message: string) => res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });

/** An MLflow scoring-server error ({error_code, message}): how the REST routes refuse a request. */
export const restError = (res: Response, status: number, errorCode: string, message: string) => res.status(status).json({ error_code: errorCode, message });
