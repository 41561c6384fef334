import { fstatSync, readSync } from 'node:fs';
import { badCell, emptyCsv, PROGRESS_ROWS, requireColumns, type CsvColumns } from './csv-columns.js';
import { nearestDecimal } from './decimal.js';

/** 10^0 … 10^22: the powers of ten a double holds exactly (parsed, so each is the exact value). */
const POW10 = Float64Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
const CHUNK = 1 << 20;
const LF = 10;
const CR = 13;
const COMMA = 44;
const QUOTE = 34;
const SPACE = 32;
const TAB = 9;

/**
 * Reads a numeric CSV straight from bytes into Float64Arrays: no string per cell, no array per
 * row. Returns null, having changed nothing, when the file is outside the plain form this reader
 * handles exactly as csv-parse (bom, trim, skip_empty_lines) does; the caller then reads it with
 * csv-parse. The plain form: an optional UTF-8 BOM; a header line whose fields are unquoted, or
 * quoted whole with no quote, comma or line break inside; data lines without a quote; every line
 * ending in the header's end of line (LF, or CRLF) with no other CR; every data line with the
 * header's number of fields and at least one character that is not a space or tab; empty lines
 * only after the header.
 *
 * A feature's cell is csv-parse's cell (its bytes as UTF-8, trimmed as String.prototype.trim)
 * given to Number(): a decimal of at most 15 significant digits whose value is m × 10^e with
 * |e| ≤ 22 is one exact division or multiplication of two exact doubles, so correctly rounded as
 * Number() is; any other cell (more digits, hex, Infinity, other whitespace, non-ASCII bytes)
 * is decoded and given to Number() itself. An empty or non-finite cell is an error naming its
 * line and the feature; errors never quote the file.
 *
 * Reads `fd` from position 0 with positioned reads (the caller's descriptor, which it keeps
 * open and closes).
 */
export function readNumericCsv(fd: number, displayName: string, features: readonly string[], onProgress?: (rows: number) => void): CsvColumns | null {
  const input = new Input(fd);
  input.fill(0);
  const { buf, end } = input;
  if (end === 0) throw emptyCsv(displayName);
  let pos = 0;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
  else if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff)) return null; // UTF-16: csv-parse re-decodes
  let nl: number;
  // The whole header line in the buffer (at the end of the file the last line has its LF).
  while ((nl = input.buf.indexOf(LF, pos)) < 0 || nl >= input.end) input.fill(0);
  const crlf = nl > pos && input.buf[nl - 1] === CR;
  const headerEnd = crlf ? nl - 1 : nl;
  if (headerEnd === pos) return null; // an empty first line: csv-parse skips it
  const header = headerNames(input.buf.toString('utf8', pos, headerEnd));
  if (header === null || input.buf.subarray(pos, headerEnd).includes(CR)) return null;
  requireColumns(displayName, header, features);
  const target = new Int32Array(header.length).fill(-1);
  features.forEach((f, i) => {
    const at = header.indexOf(f);
    if (target[at] < 0) target[at] = i;
  });
  const table = new Table(target, crlf, features.length, onProgress);
  const fileSize = fstatSync(fd).size;
  pos = nl + 1;
  for (;;) {
    const limit = input.end === 0 ? 0 : input.buf.lastIndexOf(LF, input.end - 1) + 1;
    const done = parseLines(table, input.buf, pos, limit);
    if (done < 0) return null;
    if (table.bad >= 0) throw badCell(displayName, table.line, features[table.bad], table.badEmpty);
    pos = done;
    if (!table.estimated && table.rows > 0) {
      // One growth to the size the first buffer suggests, instead of a doubling per power of two.
      table.estimated = true;
      table.grow(Math.ceil(((table.rows * fileSize) / Math.max(1, input.filePos - (input.end - pos))) * 1.02) + 16);
    }
    table.text = null;
    if (input.eof) break;
    input.fill(pos);
    pos = 0;
  }
  // A feature named twice in `features` reads the same column.
  const values = features.map((f) => table.cols[target[header.indexOf(f)]].slice(0, table.rows));
  return { values, rows: table.rows, ignored: header.filter((h) => !features.includes(h)).length };
}

/** The file in a buffer: lines are parsed in place; a line the buffer cuts is moved to its front before the next read. */
class Input {
  buf = Buffer.allocUnsafe(CHUNK + 1);
  end = 0;
  filePos = 0;
  eof = false;

  constructor(private readonly fd: number) {}

  /** Moves [from, end) to the front and reads more; at the end of the file, a last line without an LF gets one. */
  fill(from: number): void {
    if (this.eof) return;
    this.buf.copy(this.buf, 0, from, this.end);
    this.end -= from;
    if (this.end >= this.buf.length - 1) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    const n = readSync(this.fd, this.buf, this.end, this.buf.length - 1 - this.end, this.filePos);
    this.filePos += n;
    this.end += n;
    if (n === 0) {
      this.eof = true;
      if (this.end > 0 && this.buf[this.end - 1] !== LF) this.buf[this.end++] = LF;
    }
  }
}

/** The columns being filled, and where parsing stands. */
class Table {
  cols: Float64Array[];
  capacity = 1024;
  rows = 0;
  /** The line being parsed (1-based, as in the file). */
  line = 2;
  estimated = false;
  /** The feature of the failing cell of the line at `line` (the first in feature order), else -1. */
  bad = -1;
  badEmpty = false;
  /** The buffer as one-byte text, for cells handed to Number() (decoded once per buffer, when first needed). */
  text: string | null = null;

  constructor(
    /** For each column of the file, the feature it fills, or -1. */
    readonly target: Int32Array,
    readonly crlf: boolean,
    features: number,
    readonly onProgress: ((rows: number) => void) | undefined,
  ) {
    this.cols = Array.from({ length: features }, () => new Float64Array(this.capacity));
  }

  grow(capacity: number): void {
    if (capacity <= this.capacity) return;
    this.capacity = capacity;
    this.cols = this.cols.map((c) => {
      const next = new Float64Array(capacity);
      next.set(c.subarray(0, this.rows));
      return next;
    });
  }
}

/**
 * Parses the whole lines in buf[pos, limit) (the byte before limit is an LF) into the table.
 * Returns where it stopped: `limit`, or the start of a line with a bad cell (table.bad set), or
 * -1 when the file is not of the plain form (see readNumericCsv).
 */
function parseLines(table: Table, buf: Buffer, pos: number, limit: number): number {
  const { target, crlf } = table;
  const width = target.length;
  let cols = table.cols;
  let rows = table.rows;
  let line = table.line;
  try {
    while (pos < limit) {
      let b = buf[pos];
      if (b === LF || (crlf && b === CR && buf[pos + 1] === LF)) {
        pos += b === LF ? 1 : 2;
        line++;
        continue;
      }
      if (rows === table.capacity) {
        table.rows = rows;
        table.grow(table.capacity * 2);
        cols = table.cols;
      }
      const lineStart = pos;
      let blank = true;
      for (let c = 0; ; c++) {
        const t = target[c];
        const start = pos;
        let v = 0;
        if (t < 0) {
          while (b !== COMMA && b !== LF && b !== CR && b !== QUOTE) {
            if (b !== SPACE && b !== TAB) blank = false;
            b = buf[++pos];
          }
        } else {
          while (b === SPACE || b === TAB) b = buf[++pos];
          const neg = b === 45;
          if (neg || b === 43) b = buf[++pos];
          // m: the first 15 significant digits; lo: the next ones (as m's, exact up to 19 in all).
          // Integer and fraction digits in loops of their own: one loop testing for the point
          // inside measured 25 -> 39 ms of CPU for 100 000 rows.
          let m = 0;
          let lo = 0;
          let digits = 0;
          let scale = 0;
          let any = false;
          while (b === 48) {
            any = true;
            b = buf[++pos];
          }
          while (b >= 48 && b <= 57) {
            if (digits < 15) m = m * 10 + (b - 48);
            else lo = lo * 10 + (b - 48);
            digits++;
            any = true;
            b = buf[++pos];
          }
          if (b === 46) {
            b = buf[++pos];
            if (digits === 0) {
              while (b === 48) {
                scale--;
                any = true;
                b = buf[++pos];
              }
            }
            while (b >= 48 && b <= 57) {
              if (digits < 15) m = m * 10 + (b - 48);
              else lo = lo * 10 + (b - 48);
              digits++;
              scale--;
              any = true;
              b = buf[++pos];
            }
          }
          let exact = any && digits <= 19;
          if (exact && (b === 101 || b === 69)) {
            b = buf[++pos];
            const expNeg = b === 45;
            if (expNeg || b === 43) b = buf[++pos];
            let e = 0;
            let expDigits = 0;
            while (b >= 48 && b <= 57) {
              if (e < 100_000) e = e * 10 + (b - 48);
              expDigits++;
              b = buf[++pos];
            }
            if (expDigits === 0) exact = false;
            scale += expNeg ? -e : e;
          }
          while (b === SPACE || b === TAB) b = buf[++pos];
          v = Number.NaN;
          if (exact && (b === COMMA || b === LF || b === CR)) {
            // Up to 15 digits, m < 10^15 < 2^53 and 10^|scale| are exact doubles: one correctly
            // rounded operation. 16 to 19: nearestDecimal (NaN where it does not apply).
            if (m === 0) v = 0;
            else if (digits <= 15) v = scale < -22 || scale > 22 ? Number.NaN : scale < 0 ? m / POW10[-scale] : m * POW10[scale];
            else v = nearestDecimal(m, digits - 15, lo, scale);
            if (neg) v = -v;
          }
          if (v === v) blank = false;
          else {
            pos = cellEnd(buf, pos);
            b = buf[pos];
            v = slowCell(table, buf, start, pos, t);
            if (v === v) blank = false;
          }
          cols[t][rows] = v;
        }
        if (b === COMMA) {
          if (c === width - 1) return -1;
          b = buf[++pos];
          continue;
        }
        if (b === QUOTE || c !== width - 1) return -1;
        if (b === CR) {
          if (!crlf || buf[pos + 1] !== LF) return -1;
          pos += 2;
        } else {
          if (crlf) return -1;
          pos++;
        }
        break;
      }
      if (blank) return -1; // nothing but whitespace: csv-parse's call (a blank line, or empty cells)
      if (table.bad >= 0) return lineStart;
      rows++;
      line++;
      if (table.onProgress && rows % PROGRESS_ROWS === 0) table.onProgress(rows);
    }
    return pos;
  } finally {
    table.rows = rows;
    table.line = line;
  }
}

/** Where a cell not of the plain decimal form ends: its comma, LF, CR or quote. */
function cellEnd(buf: Buffer, pos: number): number {
  let b = buf[pos];
  while (b !== COMMA && b !== LF && b !== CR && b !== QUOTE) b = buf[++pos];
  return pos;
}

/**
 * A cell given to Number(): its bytes as UTF-8 (csv-parse's decoding), trimmed. An empty or
 * non-finite one marks the line bad (the first failing feature in feature order is named).
 */
function slowCell(table: Table, buf: Buffer, start: number, end: number, feature: number): number {
  let ascii = true;
  for (let i = start; i < end; i++) if (buf[i] >= 0x80) ascii = false;
  let cell: string;
  if (ascii) {
    table.text ??= buf.toString('latin1', 0, buf.length);
    cell = table.text.slice(start, end).trim();
  } else cell = buf.toString('utf8', start, end).trim();
  const v = cell === '' ? Number.NaN : Number(cell);
  if (!Number.isFinite(v) && (table.bad < 0 || feature < table.bad)) {
    table.bad = feature;
    table.badEmpty = cell === '';
  }
  return v;
}

/**
 * A header line's names as csv-parse (trim) gives them, or null when it has a quote other than
 * around a whole field with none inside (csv-parse's call then).
 */
function headerNames(line: string): string[] | null {
  const names = line.split(',');
  for (let i = 0; i < names.length; i++) {
    const name = names[i].trim();
    if (!name.includes('"')) names[i] = name;
    else if (/^"[^"]*"$/.test(name)) names[i] = name.slice(1, -1);
    else return null;
  }
  return names;
}
