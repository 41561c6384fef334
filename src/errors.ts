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

/**
 * What the caller can do next, as facts: each adapter words them in its own terms (MCP names a
 * tool, REST a route or an operator), so the domain's message says only what went wrong.
 */
export type NextStep =
  | { kind: 'list_models' }
  | { kind: 'register_model' }
  | { kind: 'show_model'; name: string }
  | { kind: 'promote'; name: string }
  | { kind: 'rollback'; name: string }
  | { kind: 'archive_with_force'; name: string }
  | { kind: 'move_traffic'; name: string }
  | { kind: 'pass_version' }
  | { kind: 'detect_drift' }
  | { kind: 'set_drift_reference'; name: string }
  | { kind: 'check_health' };

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly next: readonly NextStep[] = [],
  ) {
    super(message);
  }
}

export const notFound = (message: string, next?: readonly NextStep[]) => new DomainError('not_found', message, next);
export const invalidArgument = (message: string) => new DomainError('invalid_argument', message);
export const failedPrecondition = (message: string, next?: readonly NextStep[]) => new DomainError('failed_precondition', message, next);

/** The message with its next steps in an adapter's words, joined: "… . Do this; or that." */
export function withNextSteps(e: DomainError, word: (step: NextStep) => string): string {
  if (!e.next.length) return e.message;
  const steps = e.next.map(word).join('; or ');
  return `${e.message} ${steps.charAt(0).toUpperCase()}${steps.slice(1)}.`;
}

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
