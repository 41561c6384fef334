import fs from 'node:fs';
import path from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { readNumericCsv } from '../../src/monitoring/csv-numbers.js';
import { readCsvColumns } from '../../src/monitoring/csv-read.js';
import { tempDir } from '../helpers.js';

const dir = tempDir();
let fileNo = 0;

/** The bytes in a real file, opened read-only: the reader gets the descriptor, as from openAllowedFile. */
function withFile<T>(bytes: string | Buffer, use: (fd: number) => T): T {
  const file = path.join(dir, `f${fileNo++}.csv`);
  fs.writeFileSync(file, bytes);
  const fd = fs.openSync(file, 'r');
  try {
    return use(fd);
  } finally {
    fs.closeSync(fd);
  }
}

async function read(bytes: string | Buffer, features: readonly string[]) {
  const file = path.join(dir, `f${fileNo++}.csv`);
  fs.writeFileSync(file, bytes);
  const fd = fs.openSync(file, 'r');
  try {
    return await readCsvColumns(fd, 'csv_path "x.csv"', features);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * What csv-parse makes of the bytes (bom, trim, skip_empty_lines, one record length) with each
 * feature's cell given to Number(): the answer the reader must give, or the error it must name.
 */
function oracle(bytes: Buffer, features: readonly string[]): { values: number[][]; rows: number; ignored: number } | { error: string } {
  let header: string[] | null = null;
  const values = features.map(() => [] as number[]);
  let rows = 0;
  try {
    parse(bytes, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: false,
      on_record: (record: string[], info) => {
        if (header === null) {
          header = record;
          const missing = features.filter((f) => !record.includes(f));
          if (missing.length) throw new Error(`has no column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} in its header row`);
          return null;
        }
        features.forEach((f, i) => {
          const cell = record[header!.indexOf(f)];
          const v = cell === '' ? Number.NaN : Number(cell);
          if (!Number.isFinite(v)) throw new Error(`line ${info.lines}, column "${f}": the cell is ${cell === '' ? 'empty' : 'not a finite number'}.`);
          values[i].push(v);
        });
        rows++;
        return null;
      },
    });
  } catch (e) {
    const err = e as { code?: string; lines?: number; message: string };
    if (!err.code) return { error: err.message };
    return { error: `is not a readable CSV (${err.code}${typeof err.lines === 'number' ? ` at line ${err.lines}` : ''})` };
  }
  const names = header as string[] | null; // set by on_record
  if (names === null) return { error: 'is empty; it needs a header row naming the features.' };
  return { values, rows, ignored: names.filter((h) => !features.includes(h)).length };
}

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('readCsvColumns: real files, the answers and messages csv-parse gives', () => {
  it('reads the features by name, whatever the column order, and counts the columns it ignored', async () => {
    const columns = await read('b,extra,a\n2,x,1\n4,y,3\n', ['a', 'b']);
    expect(columns.rows).toBe(2);
    expect(columns.values.map((v) => [...v])).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(columns.ignored).toBe(1);
  });

  it('reads CRLF lines, a BOM, a quoted header (as R writes it), spaces around cells and blank lines between rows', async () => {
    const plain = await read('\ufeff"a","b c",z\r\n 1.5 ,\t-2e3,q\r\n\r\n3,.25,\r\n', ['a', 'b c']);
    expect(plain).toEqual({ values: [Float64Array.of(1.5, 3), Float64Array.of(-2000, 0.25)], rows: 2, ignored: 1 });
    expect(withFile('\ufeff"a","b c",z\r\n 1.5 ,\t-2e3,q\r\n\r\n3,.25,\r\n', (fd) => readNumericCsv(fd, 'x', ['a']))).not.toBeNull(); // without csv-parse
  });

  it('reads quoted cells and a quoted comma through csv-parse, with the same answers', async () => {
    const columns = await read('a,name\n"1.5","x, y"\n2,"say ""hi"""\n', ['a']);
    expect([...columns.values[0]]).toEqual([1.5, 2]);
    expect(withFile('a,name\n"1.5","x, y"\n', (fd) => readNumericCsv(fd, 'x', ['a']))).toBeNull();
  });

  it.each([
    ['a,b\n1,2\n3,\n', /^csv_path "x.csv" line 3, column "b": the cell is empty\.$/],
    ['a,b\n1,2\n3,  \n', /line 3, column "b": the cell is empty/],
    ['a,b\n1,NaN\n', /line 2, column "b": the cell is not a finite number/],
    ['a,b\n1,Infinity\n', /line 2, column "b": the cell is not a finite number/],
    ['a,b\n1,-Infinity\n', /line 2, column "b": the cell is not a finite number/],
    ['a,b\n1,1e400\n', /line 2, column "b": the cell is not a finite number/],
    ['a,b\n1,' + '9'.repeat(400) + '\n', /line 2, column "b": the cell is not a finite number/],
    ['a,b\n1,2\n\n\nx,y\n', /line 5, column "a": the cell is not a finite number/], // the line in the file, blank lines counted
    ['b,a\nx,\n', /line 2, column "a": the cell is empty/], // the first failing feature in the model's order
    [Buffer.concat([Buffer.from('a,b\n1,'), Buffer.from([0xff, 0x31]), Buffer.from('\n')]), /line 2, column "b": the cell is not a finite number/],
    ['a,c\n1,2\n', /^csv_path "x.csv" has no column b in its header row \(2 columns\); the model's features are a, b\.$/],
    ['a,b\n1,2\n3\n', /^csv_path "x.csv" is not a readable CSV \(CSV_RECORD_INCONSISTENT_FIELDS_LENGTH at line 3\)\.$/],
    ['a,b\n1,"2\n', /is not a readable CSV \(CSV_QUOTE_NOT_CLOSED/],
    ['', /^csv_path "x.csv" is empty; it needs a header row naming the features\.$/],
    ['\n\n', /is empty; it needs a header row/],
  ])('refuses %j with a message naming line and column, never the cell', async (bytes, message) => {
    await expect(read(bytes, ['a', 'b'])).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringMatching(message) });
  });

  it('gives every cell exactly what Number() gives: huge, tiny, signed, hex, exponent and 17-digit cells', async () => {
    const cells = [
      '1e308',
      '-1.7976931348623157e308',
      '4.9e-324',
      '1e-400',
      '-0',
      '+0.5',
      '5.',
      '.5',
      '0x1F',
      '0b101',
      '1E+5',
      '0.1',
      '0.30000000000000004',
      '123456789012345678',
      '9007199254740993',
      '2.2250738585072011e-308',
      '1e22',
      '1e23',
      '00012.500',
      '\u00a03\u00a0',
    ];
    const columns = await read(`a\n${cells.join('\n')}\n`, ['a']);
    expect(columns.values[0].length).toBe(cells.length);
    cells.forEach((c, i) => expect(Object.is(columns.values[0][i], Number(c.trim())), c).toBe(true));
  });

  it("answers a read error as the file's problem", async () => {
    // A directory opens, and every read of it fails (EISDIR).
    const fd = fs.openSync(tempDir(), 'r');
    await expect(readCsvColumns(fd, 'csv_path "d"', ['a'])).rejects.toMatchObject({
      code: 'invalid_argument',
      message: expect.stringMatching(/csv_path "d" is not a readable CSV \(EISDIR\)/),
    });
    fs.closeSync(fd);
  });

  it('reports rows read every 10 000 rows, rising only', async () => {
    const progress: number[] = [];
    const file = path.join(dir, 'progress.csv');
    fs.writeFileSync(file, `a\n${'1\n'.repeat(25_000)}`);
    const fd = fs.openSync(file, 'r');
    await readCsvColumns(fd, 'x', ['a'], (n) => progress.push(n));
    fs.closeSync(fd);
    expect(progress).toEqual([10_000, 20_000]);
  });
});

/** Cells of number syntax mostly, now and then with the characters csv-parse treats specially; lines of 1–4 cells. */
const piece = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom('0', '1', '7', '9', '.', '-', '+', 'e', 'E', '12.5', '0.001', '1e5', '-3.25e-2', '123456789012345678') },
  { weight: 1, arbitrary: fc.constantFrom(' ', '\t', '\r', '\n', '\r\n', '"', '""', ',', 'x', 'NaN', 'Infinity', '0x1f', '\u00a0', '\u00e9', '\v', '\ufeff') },
);
const cell = fc.array(piece, { maxLength: 4 }).map((p) => p.join(''));
const line = (width: number) =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant('') },
    { weight: 2, arbitrary: fc.array(cell, { minLength: 1, maxLength: 4 }).map((c) => c.join(',')) },
    { weight: 12, arbitrary: fc.array(cell, { minLength: width, maxLength: width }).map((c) => c.join(',')) },
  );
const header = fc.constantFrom('a,b,c', 'a,b', 'b,a', 'a', '"a",b', 'a,"b"', 'a, b ,c', 'a,b,c,a');
const lineEnd = fc.constantFrom('\n', '\r\n');
/** A header and lines mostly of its width. */
const table = header.chain((head) => fc.tuple(fc.constant(head), fc.array(line(head.split(',').length), { maxLength: 8 })));

describe('readCsvColumns against csv-parse on generated files', () => {
  let plain = 0;
  let runs = 0;
  afterAll(() => {
    // The comparison is about the byte reader: most generated files must have gone through it.
    expect(plain / runs).toBeGreaterThan(0.3);
  });

  test.prop([fc.boolean(), table, lineEnd, fc.boolean()], { numRuns: 500 })(
    'the same columns, or the same error, as csv-parse and Number()',
    async (bom, [head, lines], eol, finalEol) => {
      const text = `${bom ? '\ufeff' : ''}${head}${eol}${lines.join(eol)}${finalEol ? eol : ''}`;
      const bytes = Buffer.from(text);
      const features = ['a', 'b'].filter((f) => head.includes(f));
      const expected = oracle(bytes, features);
      runs++;
      if (
        withFile(bytes, (fd) => {
          try {
            return readNumericCsv(fd, 'x', features);
          } catch {
            return 'error';
          }
        }) !== null
      )
        plain++;
      const got = await read(bytes, features).then(
        (c) => ({ values: c.values.map((v) => [...v]), rows: c.rows, ignored: c.ignored }),
        (e: Error) => ({ error: e.message }),
      );
      if ('error' in expected) {
        expect('error' in got ? got.error : got, text).toContain(expected.error);
      } else {
        expect(got, text).toEqual(expected);
        if ('values' in got) got.values.forEach((col, i) => col.forEach((v, j) => expect(Object.is(v, expected.values[i][j]), text).toBe(true)));
      }
    },
    120_000,
  );

  test.prop([fc.double({ noNaN: true, noDefaultInfinity: true }), fc.nat({ max: 20 }), fc.constantFrom('plain', 'fixed', 'exp', 'precision', 'padded')], {
    numRuns: 1500,
  })(
    'every decimal text of a double parses as Number() parses it',
    async (x, digits, form) => {
      const text =
        form === 'fixed'
          ? x.toFixed(Math.min(digits, 20))
          : form === 'exp'
            ? x.toExponential(Math.min(digits, 20))
            : form === 'precision'
              ? x.toPrecision(Math.max(1, digits))
              : form === 'padded'
                ? ` 000${Math.abs(x)} `
                : String(x);
      fc.pre(Number.isFinite(Number(text)));
      const columns = withFile(`a\n${text}\n`, (fd) => readNumericCsv(fd, 'x', ['a']));
      expect(Object.is(columns?.values[0][0], Number(text)), text).toBe(true);
    },
    120_000,
  );
});
