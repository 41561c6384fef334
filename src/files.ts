import { constants } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { DomainError } from './errors.js';

/**
 * Confines a file argument to the allowed directories, as the MCP filesystem server does:
 * resolve it, resolve symlinks with realpath, then check again against the allowed
 * directories' own real paths. A symlink inside an allowed directory that points outside it is
 * refused. Errors name the argument and the allowed directories, never the file's contents.
 */
export async function resolveAllowedFile(argument: string, requested: string, allowedDirs: readonly string[]): Promise<string> {
  return (await checkAllowedFile(argument, requested, allowedDirs)).real;
}

/** resolveAllowedFile's checks; also gives the allowed directories' real paths, for a check after opening. */
async function checkAllowedFile(argument: string, requested: string, allowedDirs: readonly string[]): Promise<{ real: string; allowedReal: string[] }> {
  if (requested.includes('\0')) throw new DomainError('invalid_argument', `${argument} contains a NUL byte.`);
  const absolute = path.resolve(requested);
  const allowedReal = await realAllowedDirs(allowedDirs);
  if (
    !isWithin(
      absolute,
      allowedDirs.map((d) => path.resolve(d)),
    ) &&
    !isWithin(absolute, allowedReal)
  ) {
    throw notAllowed(argument, requested, allowedDirs);
  }
  const missing = () =>
    new DomainError('file_not_found', `${argument} "${requested}" does not exist. Check the path; it must be a file under ${shown(allowedDirs)}.`);
  let real: string;
  try {
    real = await fs.realpath(absolute);
  } catch {
    throw missing();
  }
  if (!isWithin(real, allowedReal)) throw notAllowed(argument, requested, allowedDirs);
  // The file may go between realpath and stat (a rename by anyone who can write there).
  const stat = await fs.stat(real).catch(() => null);
  if (stat === null) throw missing();
  if (!stat.isFile()) throw new DomainError('invalid_argument', `${argument} "${requested}" is not a regular file.`);
  return { real, allowedReal };
}

/** A file confined to the allowed directories, opened: read it through `handle`, never by `path` again. */
export interface AllowedFile {
  handle: FileHandle;
  /** Its real path when checked (to record where it came from). */
  path: string;
}

/**
 * resolveAllowedFile, then open, then check what was opened: a directory on the checked path
 * swapped for a symlink between the check and the open (by anyone who can rename inside an
 * allowed directory) would otherwise let the open read a file outside. On Linux the opened
 * file's own path (/proc/self/fd) must be under an allowed directory; elsewhere it must be the
 * file that was checked (same device and inode). The caller closes the handle.
 */
export async function openAllowedFile(argument: string, requested: string, allowedDirs: readonly string[]): Promise<AllowedFile> {
  const { real, allowedReal } = await checkAllowedFile(argument, requested, allowedDirs);
  const handle = await openWithin(real, allowedReal, {
    unopened: () =>
      new DomainError(
        'file_not_found',
        `${argument} "${requested}" could not be opened (it changed while being checked, or is not readable). Check the path and try again.`,
      ),
    notFile: () => new DomainError('invalid_argument', `${argument} "${requested}" is not a regular file.`),
    outside: () => notAllowed(argument, requested, allowedDirs),
  });
  return { handle, path: real };
}

/**
 * Opens `real` (a path already resolved and checked to be under `dirs`, themselves real paths)
 * and checks what was opened, for a swap between the check and the open: a regular file (O_NOFOLLOW:
 * the last component may not have become a symlink; O_NONBLOCK: nor a FIFO to wait on) whose own
 * path is under `dirs` (/proc/self/fd on Linux; elsewhere the same device and inode as `real`).
 * Throws the error `fail` makes for each case; the caller closes the handle.
 */
export async function openWithin(
  real: string,
  dirs: readonly string[],
  fail: { unopened: () => Error; notFile: () => Error; outside: () => Error },
): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await fs.open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    throw fail.unopened();
  }
  try {
    const opened = await handle.stat();
    if (!opened.isFile()) throw fail.notFile();
    let inside: boolean;
    try {
      inside = isWithin(await fs.readlink(`/proc/self/fd/${handle.fd}`), dirs);
    } catch {
      const checked = await fs.stat(real).catch(() => null);
      inside = checked !== null && checked.dev === opened.dev && checked.ino === opened.ino;
    }
    if (!inside) throw fail.outside();
    return handle;
  } catch (e) {
    await handle.close();
    throw e;
  }
}

async function realAllowedDirs(dirs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    try {
      out.push(await fs.realpath(d));
    } catch {
      // An allowed directory that does not exist allows nothing.
    }
  }
  return out;
}

/** `file` lies under one of `dirs` (not one of them itself). */
export function isWithin(file: string, dirs: readonly string[]): boolean {
  return dirs.some((dir) => {
    const rel = path.relative(dir, file);
    return rel === '' ? false : !rel.startsWith('..') && !path.isAbsolute(rel);
  });
}

/**
 * The allowed directories as configured (absolute, symlinks not resolved): a caller that is
 * refused needs to know where to put the file. Nothing else of the server's disk is named.
 */
function shown(dirs: readonly string[]): string {
  const names = dirs.map((d) => path.resolve(d));
  const more = names.length - SHOWN_DIRS;
  return more > 0 ? `${names.slice(0, SHOWN_DIRS).join(', ')} and ${more} more` : names.join(', ');
}

const SHOWN_DIRS = 10;

const notAllowed = (argument: string, requested: string, dirs: readonly string[]) =>
  new DomainError(
    'path_not_allowed',
    `${argument} "${requested}" is outside the allowed directories (${shown(dirs)}). Copy the file into one of them, or have an operator add its directory to MLOPS_MCP_ALLOWED_DIRS.`,
  );
