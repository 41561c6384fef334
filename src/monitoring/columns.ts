import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import { DomainError } from '../errors.js';
import { listNames, type FeatureRow } from '../serving/features.js';

/** Data by feature: one Float64Array per model feature, and how many columns were not features. */
export interface Columns {
  features: Map<string, Float64Array>;
  rows: number;
  /**
   * How many columns (a CSV's) or keys (inline rows') are not features. Counted, never named: a
   * CSV's header row is the first line of whatever file a caller names (a .env file's token).
   */
  ignored: number;
}


function requireFinite(v: unknown, where: string, feature: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new DomainError('invalid_argument', `${where}feature "${feature}" is ${typeof v === 'number' ? String(v) : JSON.stringify(v) ?? typeof v}, not a finite number.`);
  }
  return v;
}

/** Inline rows (objects keyed by feature, or arrays in feature order) to columns. */
export function columnsFromRows(rows: readonly FeatureRow[], features: readonly string[]): Columns {
  const cols = features.map(() => new Float64Array(rows.length));
  const index = new Map(features.map((f, i) => [f, i] as const));
  const ignored = new Set<string>();
  rows.forEach((row, r) => {
    const where = `row ${r}: `;
    if (Array.isArray(row)) {
      if (row.length !== features.length) {
        throw new DomainError('invalid_argument', `${where}expected ${features.length} values in this order: ${listNames(features)}; got ${row.length}.`);
      }
      row.forEach((v, i) => (cols[i][r] = requireFinite(v, where, features[i])));
      return;
    }
    const named = row as Readonly<Record<string, number>>;
    const missing = features.filter((f) => !Object.hasOwn(named, f));
    if (missing.length) throw new DomainError('invalid_argument', `${where}missing feature${missing.length > 1 ? 's' : ''} ${listNames(missing)}; the model's features are ${listNames(features)}.`);
    for (const key of Object.keys(named)) {
      const i = index.get(key);
      if (i === undefined) ignored.add(key);
      else cols[i][r] = requireFinite(named[key], where, key);
    }
  });
  return { features: new Map(features.map((f, i) => [f, cols[i]])), rows: rows.length, ignored: ignored.size };
}

/** A Float64Array that grows by doubling, for columns of unknown length. */
class Growable {
  data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  done(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

/**
 * Streams a CSV with a header row into columns (csv-parse): the model's features must all be
 * there; other columns are ignored and counted; an empty or non-numeric cell is an error naming
 * its line and column. Memory is the Float64Arrays, not the text. Errors never quote the file
 * (a csv_path may name any file a caller can reach, .env included): they give line and column.
 * The caller owns `file` and closes it.
 */
export async function columnsFromCsv(file: FileHandle, displayName: string, features: readonly string[], onProgress?: (rows: number) => void): Promise<Columns> {
  const parser = parse({ bom: true, trim: true, skip_empty_lines: true, relax_column_count: false });
  // pipeline, not pipe: a read error (EIO, a file gone) ends the parser with it, so the loop
  // below throws it. With pipe() nothing listened for it and the process died.
  pipeline(file.createReadStream({ autoClose: false }), parser, () => {});
  let header: string[] | null = null;
  let positions: number[] = [];
  const cols = features.map(() => new Growable());
  let rows = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (header === null) {
        header = record;
        const missing = features.filter((f) => !header!.includes(f));
        if (missing.length) {
          throw new DomainError(
            'invalid_argument',
            `${displayName} has no column${missing.length > 1 ? 's' : ''} ${listNames(missing)} in its header row (${header.length} column${header.length === 1 ? '' : 's'}); the model's features are ${listNames(features)}.`,
          );
        }
        positions = features.map((f) => header!.indexOf(f));
        continue;
      }
      for (let i = 0; i < positions.length; i++) {
        const cell = record[positions[i]];
        const v = cell === '' ? Number.NaN : Number(cell);
        if (!Number.isFinite(v)) {
          throw new DomainError('invalid_argument', `${displayName} line ${rows + 2}, column "${features[i]}": the cell is ${cell === '' ? 'empty' : 'not a finite number'}.`);
        }
        cols[i].push(v);
      }
      rows++;
      if (onProgress && rows % 10_000 === 0) onProgress(rows);
    }
  } catch (e) {
    if (e instanceof DomainError) throw e;
    throw new DomainError('invalid_argument', `${displayName} is not a readable CSV (${csvProblem(e)}).`);
  }
  if (header === null) throw new DomainError('invalid_argument', `${displayName} is empty; it needs a header row naming the features.`);
  return { features: new Map(features.map((f, i) => [f, cols[i].done()])), rows, ignored: header.filter((h) => !features.includes(h)).length };
}

/** What went wrong reading a CSV, without its text: csv-parse's error code and line, or the system error's code. */
function csvProblem(e: unknown): string {
  const err = e as { code?: unknown; lines?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : 'unknown error';
  return typeof err?.lines === 'number' ? `${code} at line ${err.lines}` : code;
}
