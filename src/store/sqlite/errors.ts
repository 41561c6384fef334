import { DomainError } from '../../errors.js';
import type { Logger } from '../../logger.js';

function codeOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/** SQLite's "database is locked" (another writer held the lock past our wait): retryable, and the transaction was rolled back. */
export const isSqliteBusy = (e: unknown) => codeOf(e)?.startsWith('SQLITE_BUSY') ?? false;

/** The disk under the database failed, in words (never a path); null for any other error. */
function diskProblem(code: string): string | null {
  if (code === 'SQLITE_FULL') return 'the disk is full, or a file size limit was reached';
  if (code.startsWith('SQLITE_READONLY')) return 'the database, its directory or the file system is read-only';
  if (code === 'SQLITE_IOERR_NOMEM') return null; // memory, not the disk
  if (code.startsWith('SQLITE_IOERR')) return 'a disk I/O error';
  if (code.startsWith('SQLITE_CANTOPEN')) return 'a database file could not be opened';
  return null;
}

/**
 * SQLite's errors as the domain's kinds: a lock held past the wait is `busy`, a failing disk
 * `unavailable` (SQLite rolled the transaction back either way, so nothing was changed); any
 * other error goes on as it is (a bug, answered as internal).
 */
export function sqliteToDomain(e: unknown, logger: Logger): unknown {
  const code = codeOf(e);
  if (!code) return e;
  if (code.startsWith('SQLITE_BUSY')) {
    return new DomainError(
      'busy',
      'the registry database stayed locked by another writer (another mlops-mcp on the same home?) past the busy timeout. Nothing was changed; retry in a moment.',
    );
  }
  const disk = diskProblem(code);
  if (disk) {
    logger.error({ err: e }, 'the disk under the home failed a database request');
    return new DomainError(
      'unavailable',
      `the disk under MLOPS_MCP_HOME failed this request (${disk}). Check it (health_check's storage component). Nothing was changed; retry once it works again.`,
    );
  }
  return e;
}
