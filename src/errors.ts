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

/**
 * A file-system failure under MLOPS_MCP_HOME (writing an artifact): full (or the file size limit
 * reached), read-only, or an I/O error. Says which, in words (never a path), or null for any
 * other error. A retry can succeed once the disk works again. (The database adapters translate
 * their engine's own failures into `busy` and `unavailable` DomainErrors themselves.)
 */
export function diskFailure(e: unknown): string | null {
  const code = errorCode(e);
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') return 'the disk is full, or a file size limit was reached';
  if (code === 'EROFS') return 'the file system is read-only';
  if (code === 'EIO') return 'a disk I/O error';
  return null;
}

function errorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}
