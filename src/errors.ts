/**
 * Domain errors: what went wrong, in words that say what to do next, plus a stable code a
 * program can branch on. The MCP layer turns them into `isError` results; anything else
 * thrown is an internal error and is reported without its stack.
 */
export type ErrorCode =
  | 'not_found'
  | 'invalid_argument'
  | 'already_exists'
  | 'failed_precondition'
  | 'invalid_model'
  | 'file_not_found'
  | 'path_not_allowed'
  | 'read_only'
  | 'forbidden'
  | 'approval_required'
  | 'approval_declined'
  | 'busy'
  | 'internal';

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (message: string) => new DomainError('not_found', message);
export const invalidArgument = (message: string) => new DomainError('invalid_argument', message);
export const failedPrecondition = (message: string) => new DomainError('failed_precondition', message);

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}

/** SQLite's "database is locked" (another writer held the lock past our wait): retryable, and the transaction was rolled back. */
export const isSqliteBusy = (e: unknown) => typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' && e.code.startsWith('SQLITE_BUSY');
