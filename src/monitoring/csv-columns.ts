/** What every CSV reader of the drift tools answers: the columns, or one of these errors (naming line and column, never the text). */
import { DomainError } from '../errors.js';
import { listNames } from '../serving/features.js';

/** A CSV read into one Float64Array per requested feature (in the order asked), and how many other columns its header has (counted: their names are the file's text). */
export interface CsvColumns {
  values: Float64Array[];
  rows: number;
  ignored: number;
}

/** Progress is reported every this many data rows. */
export const PROGRESS_ROWS = 10_000;

/** A header without every feature: which are missing, and how many columns it has (never the names it has: the file's text). */
export function requireColumns(displayName: string, header: readonly string[], features: readonly string[]): void {
  const missing = features.filter((f) => !header.includes(f));
  if (missing.length) {
    throw new DomainError(
      'invalid_argument',
      `${displayName} has no column${missing.length > 1 ? 's' : ''} ${listNames(missing)} in its header row (${header.length} column${header.length === 1 ? '' : 's'}); the model's features are ${listNames(features)}.`,
    );
  }
}

export const emptyCsv = (displayName: string) => new DomainError('invalid_argument', `${displayName} is empty; it needs a header row naming the features.`);

/** An empty or non-finite cell: its line and column, never its text. */
export const badCell = (displayName: string, line: number, feature: string, empty: boolean) =>
  new DomainError('invalid_argument', `${displayName} line ${line}, column "${feature}": the cell is ${empty ? 'empty' : 'not a finite number'}.`);
