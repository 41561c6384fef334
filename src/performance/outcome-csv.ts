import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import { DomainError } from '../errors.js';
import type { OutcomeInput } from './types.js';

/**
 * Reads a CSV of outcomes: a header row with `prediction_id` and `actual` (other columns are
 * ignored), then one outcome a line, at most `max`. Cells stay text: a regressor's actual is
 * read as a number when it is checked against the model. Errors name a line, never the file's
 * text (a csv_path may name any file the caller can reach). The caller closes `file`.
 */
export async function outcomesFromCsv(file: FileHandle, displayName: string, max: number): Promise<OutcomeInput[]> {
  const parser = parse({ bom: true, trim: true, skip_empty_lines: true, relax_column_count: false });
  pipeline(file.createReadStream({ autoClose: false }), parser, () => {});
  let columns: { id: number; actual: number } | null = null;
  const out: OutcomeInput[] = [];
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (columns === null) {
        const id = record.indexOf('prediction_id');
        const actual = record.indexOf('actual');
        if (id < 0 || actual < 0) {
          throw new DomainError(
            'invalid_argument',
            `${displayName} needs the columns prediction_id and actual in its header row (it has ${record.length} column${record.length === 1 ? '' : 's'}, without ${id < 0 ? 'prediction_id' : 'actual'}).`,
          );
        }
        columns = { id, actual };
        continue;
      }
      if (out.length === max)
        throw new DomainError('invalid_argument', `${displayName} has more than ${max} outcomes: split it into files of at most ${max} lines.`);
      out.push({ predictionId: record[columns.id], actual: record[columns.actual], line: out.length + 2 });
    }
  } catch (e) {
    if (e instanceof DomainError) throw e;
    const err = e as { code?: unknown; lines?: unknown } | null;
    const code = typeof err?.code === 'string' ? err.code : 'unknown error';
    throw new DomainError(
      'invalid_argument',
      `${displayName} is not a readable CSV (${typeof err?.lines === 'number' ? `${code} at line ${err.lines}` : code}).`,
    );
  }
  if (columns === null) throw new DomainError('invalid_argument', `${displayName} is empty; it needs a header row with prediction_id and actual.`);
  return out;
}
