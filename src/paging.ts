import { z } from 'zod';
import { invalidArgument } from './errors.js';

/** Opaque paging cursors: base64url JSON, checked against a schema when read back. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw invalidArgument('cursor is not one this server gave out. Pass the next_cursor of the previous page, or leave it out to start again.');
  }
}

/** Fetch one row more than asked: whether it exists says if there is a next page. */
export function page<T>(rows: T[], limit: number, positionOf: (last: T) => unknown): { items: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(positionOf(items[items.length - 1])) };
}
