import { read } from 'node:fs';
import { promisify } from 'node:util';
import { pipeline, Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { DomainError } from '../errors.js';
import { badCell, emptyCsv, PROGRESS_ROWS, requireColumns, type CsvColumns } from './csv-columns.js';
import { readNumericCsv } from './csv-numbers.js';

/**
 * A CSV with a header row, read from the descriptor `fd` (from position 0; the caller keeps it
 * open and closes it) into one Float64Array per feature: the model's features must all be
 * there; other columns are ignored and counted; an empty or non-numeric cell is an error naming
 * its line and column. Errors never quote the file (a csv_path may name any file a caller can
 * reach, .env included): they give line and column, and for a malformed file csv-parse's code.
 *
 * Plain numeric files go through readNumericCsv (bytes to numbers); anything else through
 * csv-parse, with the same answers. Progress only ever rises: the csv-parse pass after a plain
 * start reports past what was reported.
 */
export async function readCsvColumns(fd: number, displayName: string, features: readonly string[], onProgress?: (rows: number) => void): Promise<CsvColumns> {
  let reported = 0;
  const progress = onProgress && ((rows: number) => rows > reported && onProgress((reported = rows)));
  try {
    return readNumericCsv(fd, displayName, features, progress) ?? (await readWithCsvParse(fd, displayName, features, progress));
  } catch (e) {
    if (e instanceof DomainError) throw e;
    throw new DomainError('invalid_argument', `${displayName} is not a readable CSV (${csvProblem(e)}).`);
  }
}

/**
 * csv-parse (bom, trim, skip_empty_lines, one record length), streamed from `fd`. Each record is
 * taken as csv-parse makes it (on_record), so the first problem in the file's order is the one
 * named, as readNumericCsv names it.
 */
async function readWithCsvParse(fd: number, displayName: string, features: readonly string[], onProgress?: (rows: number) => void): Promise<CsvColumns> {
  let header: string[] | null = null;
  let positions: number[] = [];
  const cols = features.map(() => new Growable());
  let rows = 0;
  const take = (record: string[], line: number): null => {
    if (header === null) {
      header = record;
      requireColumns(displayName, record, features);
      positions = features.map((f) => record.indexOf(f));
      return null;
    }
    for (let i = 0; i < positions.length; i++) {
      const cell = record[positions[i]];
      const v = cell === '' ? Number.NaN : Number(cell);
      if (!Number.isFinite(v)) throw badCell(displayName, line, features[i], cell === '');
      cols[i].push(v);
    }
    rows++;
    if (onProgress && rows % PROGRESS_ROWS === 0) onProgress(rows);
    return null;
  };
  const parser = parse({
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: false,
    on_record: (record: string[], info) => take(record, info.lines),
  });
  // pipeline, not pipe: a read error (EIO, a file gone) ends the parser with it, so the loop
  // below throws it. With pipe() nothing listened for it and the process died. Not a ReadStream
  // on the descriptor: pipeline destroys it on a parse error, and that closes the caller's fd.
  pipeline(Readable.from(chunksOf(fd)), parser, () => {});
  for await (const _ of parser) {
    // Records are taken by on_record, which passes none on.
  }
  const names = header as string[] | null; // set by on_record
  if (names === null) throw emptyCsv(displayName);
  return { values: cols.map((c) => c.done()), rows, ignored: names.filter((h) => !features.includes(h)).length };
}

const readAt = promisify(read);

/** The file's bytes from position 0, by positioned reads of `fd` (which stays open). */
async function* chunksOf(fd: number): AsyncGenerator<Buffer> {
  for (let position = 0; ;) {
    const buffer = Buffer.allocUnsafe(1 << 16);
    const { bytesRead } = await readAt(fd, buffer, 0, buffer.length, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
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

/** What went wrong reading a CSV, without its text: csv-parse's error code and line, or the system error's code. */
function csvProblem(e: unknown): string {
  const err = e as { code?: unknown; lines?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : 'unknown error';
  return typeof err?.lines === 'number' ? `${code} at line ${err.lines}` : code;
}
