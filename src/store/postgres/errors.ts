import { DomainError } from '../../errors.js';
import type { Logger } from '../../logger.js';

function fieldOf(e: unknown, field: 'code' | 'message'): string | undefined {
  return typeof e === 'object' && e !== null && field in e && typeof (e as Record<string, unknown>)[field] === 'string'
    ? ((e as Record<string, unknown>)[field] as string)
    : undefined;
}

/** Serialization failure and deadlock: the transaction was rolled back and may simply be run again. */
export const isRetryable = (e: unknown) => ['40001', '40P01'].includes(fieldOf(e, 'code') ?? '');

/** Node's socket errors and node-postgres's own words for a connection that is gone or never came. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const CONNECTION_MESSAGES =
  /Connection terminated|connection error|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end/i;

/** What kind of failure a PostgreSQL error is, by SQLSTATE class (https://www.postgresql.org/docs/15/errcodes-appendix.html). */
export function failureKind(e: unknown): 'connection' | 'busy' | 'resources' | 'read_only' | null {
  const code = fieldOf(e, 'code') ?? '';
  const message = fieldOf(e, 'message') ?? '';
  if (CONNECTION_CODES.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code) || CONNECTION_MESSAGES.test(message))
    return 'connection';
  // lock_timeout (55P03), a statement cancelled by statement_timeout (57014), retries used up,
  // or no connection free in the pool in time.
  if (code === '55P03' || code === '57014' || isRetryable(e) || /timeout exceeded when trying to connect/i.test(message)) return 'busy';
  if (code === '53100' || code === '53200' || code === '53300' || code === '53400') return 'resources';
  if (code === '25006') return 'read_only';
  return null;
}

/**
 * PostgreSQL's errors as the domain's kinds, so that the tools and REST answer as they do on
 * SQLite: a lock or a pool held past the wait is `busy` (rolled back: nothing changed), a server
 * that is down, full or read-only is `unavailable`. Anything else goes on as it is (a bug,
 * answered as internal).
 */
export function postgresToDomain(e: unknown, logger: Logger): unknown {
  const kind = failureKind(e);
  if (kind === null) return e;
  if (kind === 'busy') {
    return new DomainError(
      'busy',
      'the registry database stayed locked by another writer, or every connection to it was in use, past the wait. Nothing was changed; retry in a moment.',
    );
  }
  logger.error({ err: e }, 'the PostgreSQL server failed a request');
  if (kind === 'connection') {
    return new DomainError(
      'unavailable',
      'the PostgreSQL server (MLOPS_MCP_DATABASE_URL) cannot be reached or closed the connection. Retry once it is back; a change whose commit was cut off may or may not have been made, so read it back (get_model, get_model_history) before repeating it.',
    );
  }
  const why = kind === 'resources' ? 'is out of disk, memory or connections' : 'accepts only reads (a standby, or a read-only transaction mode)';
  return new DomainError('unavailable', `the PostgreSQL server (MLOPS_MCP_DATABASE_URL) ${why}. Nothing was changed; retry once it works again.`);
}
