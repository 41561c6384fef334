import fs from 'node:fs/promises';
import path from 'node:path';
import { DomainError } from './errors.js';

/**
 * Confines a file argument to the allowed directories, as the MCP filesystem server does:
 * resolve it, resolve symlinks with realpath, then check again against the allowed
 * directories' own real paths. A symlink inside an allowed directory that points outside it is
 * refused. Errors name the argument and the allowed directories, never the file's contents.
 */
export async function resolveAllowedFile(argument: string, requested: string, allowedDirs: readonly string[]): Promise<string> {
  if (requested.includes('\0')) throw new DomainError('invalid_argument', `${argument} contains a NUL byte.`);
  const absolute = path.resolve(requested);
  const allowedReal = await realAllowedDirs(allowedDirs);
  if (!isWithin(absolute, allowedDirs.map((d) => path.resolve(d))) && !isWithin(absolute, allowedReal)) {
    throw notAllowed(argument, requested, allowedDirs);
  }
  let real: string;
  try {
    real = await fs.realpath(absolute);
  } catch {
    throw new DomainError('file_not_found', `${argument} "${requested}" does not exist. Check the path; it must be a file under ${shown(allowedDirs)}.`);
  }
  if (!isWithin(real, allowedReal)) throw notAllowed(argument, requested, allowedDirs);
  const stat = await fs.stat(real);
  if (!stat.isFile()) throw new DomainError('invalid_argument', `${argument} "${requested}" is not a regular file.`);
  return real;
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

function isWithin(file: string, dirs: readonly string[]): boolean {
  return dirs.some((dir) => {
    const rel = path.relative(dir, file);
    return rel === '' ? false : !rel.startsWith('..') && !path.isAbsolute(rel);
  });
}

/** Allowed directories as a caller may see them: relative to the working directory, never the server's absolute paths. */
function shown(dirs: readonly string[]): string {
  const cwd = process.cwd();
  const names = dirs.map((d) => {
    const rel = path.relative(cwd, path.resolve(d));
    return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? null : rel;
  });
  const visible = names.filter((n): n is string => n !== null);
  const others = names.length - visible.length;
  return [...visible, ...(others ? [`${others} more in MLOPS_MCP_ALLOWED_DIRS`] : [])].join(', ');
}

const notAllowed = (argument: string, requested: string, dirs: readonly string[]) =>
  new DomainError(
    'path_not_allowed',
    `${argument} "${requested}" is outside the allowed directories (${shown(dirs)}). Copy the file under one of them, or add its directory to MLOPS_MCP_ALLOWED_DIRS.`,
  );
