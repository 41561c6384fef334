import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { columnsFromCsv } from '../../src/monitoring/columns.js';
import { tempDir } from '../helpers.js';

describe('columnsFromCsv (real files)', () => {
  it('reads the features by name, whatever the column order, and counts the columns it ignored (never names them)', async () => {
    const file = path.join(tempDir(), 'data.csv');
    fs.writeFileSync(file, 'b,extra,a\n2,x,1\n4,y,3\n');
    const handle = await fs.promises.open(file);
    const columns = await columnsFromCsv(handle, 'data.csv', ['a', 'b']);
    await handle.close();
    expect(columns.rows).toBe(2);
    expect([...(columns.features.get('a') ?? [])]).toEqual([1, 3]);
    expect([...(columns.features.get('b') ?? [])]).toEqual([2, 4]);
    expect(columns.ignored).toBe(1);
  });

  it("answers a read error as the file's problem, and the process lives on", async () => {
    // A directory opens, and every read of it fails (EISDIR): an error the read stream emits.
    // Piped without a listener it was an unhandled 'error' event that ended the process.
    const handle = await fs.promises.open(tempDir());
    await expect(columnsFromCsv(handle, 'csv_path "d"', ['a'])).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringMatching(/csv_path "d" is not a readable CSV \(EISDIR\)/) });
    await handle.close();
  });
});
