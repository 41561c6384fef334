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
    throw new DomainError(
      'invalid_argument',
      `${where}feature "${feature}" is ${typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? typeof v)}, not a finite number.`,
    );
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
    if (missing.length)
      throw new DomainError(
        'invalid_argument',
        `${where}missing feature${missing.length > 1 ? 's' : ''} ${listNames(missing)}; the model's features are ${listNames(features)}.`,
      );
    for (const key of Object.keys(named)) {
      const i = index.get(key);
      if (i === undefined) ignored.add(key);
      else cols[i][r] = requireFinite(named[key], where, key);
    }
  });
  return { features: new Map(features.map((f, i) => [f, cols[i]])), rows: rows.length, ignored: ignored.size };
}
