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
  | 'unavailable'
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
export const isSqliteBusy = (e: unknown) => sqliteCode(e)?.startsWith('SQLITE_BUSY') ?? false;

/**
 * The disk under the database refused a write (full, read-only, an I/O error): SQLite rolled the
 * transaction back, and a retry can succeed once the disk takes writes again. Says which, in
 * words (never the path), or null for any other error.
 */
export function sqliteWriteRefusal(e: unknown): string | null {
  const code = sqliteCode(e);
  if (!code) return null;
  if (code === 'SQLITE_FULL') return 'the disk is full';
  if (code.startsWith('SQLITE_READONLY')) return 'the database file or its directory is read-only';
  if (code.startsWith('SQLITE_IOERR')) return 'a disk I/O error';
  if (code.startsWith('SQLITE_CANTOPEN')) return 'a database file could not be opened';
  return null;
}

function sqliteCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}
