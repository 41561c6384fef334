import { DomainError } from '../errors.js';
import { featureWidth } from '../registry/rules.js';
import type { ModelVersion } from '../registry/types.js';

/** One row of features: named (an object) or positional (an array in signature order). */
export type FeatureRow = Readonly<Record<string, number>> | readonly number[];

/** Rows of named columns, as MLflow's dataframe_split sends them: no object per row to build. */
export interface FeatureTable {
  columns: readonly string[];
  data: ReadonlyArray<readonly number[]>;
}

export const isFeatureTable = (rows: readonly FeatureRow[] | FeatureTable): rows is FeatureTable => !Array.isArray(rows);

/**
 * The features a version takes, in input order: its recorded feature names, else positional
 * names `x0…x{k-1}` when only the width is known.
 */
export function expectedFeatures(version: ModelVersion): string[] {
  if (version.featureNames) return version.featureNames;
  const width = featureWidth(version.signature);
  if (width === null) {
    throw new DomainError(
      'invalid_model',
      `${version.name} ${version.version} has no feature names and its input shape does not say how many features it takes; re-register it with feature_names.`,
    );
  }
  return Array.from({ length: width }, (_, i) => `x${i}`);
}

/** A list of names for an error message, cut after a dozen. */
export const listNames = (names: readonly string[]) => (names.length > 12 ? `${names.slice(0, 12).join(', ')}, … (${names.length} in all)` : names.join(', '));

/** Each feature's position, built once per list (a version's list is one array for as long as the version is cached). */
const positions = new WeakMap<readonly string[], ReadonlyMap<string, number>>();
function positionsOf(features: readonly string[]): ReadonlyMap<string, number> {
  let index = positions.get(features);
  if (!index) positions.set(features, (index = new Map(features.map((f, i) => [f, i] as const))));
  return index;
}

/**
 * Validates rows against the version's features and packs them row-major into one
 * Float64Array. A missing, unknown or non-finite feature is an error naming it (and the row,
 * in a batch) and the expected list; nothing reaches onnxruntime unchecked.
 */
export function toMatrix(rows: readonly FeatureRow[], features: readonly string[], rowLabel: (r: number) => string = () => ''): Float64Array {
  const k = features.length;
  const out = new Float64Array(rows.length * k);
  const index = positionsOf(features);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const where = rowLabel(r);
    const base = r * k;
    if (Array.isArray(row)) {
      if (row.length !== k) {
        throw new DomainError('invalid_argument', `${where}expected ${k} feature values in this order: ${listNames(features)}; got ${row.length}.`);
      }
      for (let i = 0; i < k; i++) {
        const v: unknown = row[i];
        if (typeof v !== 'number' || !Number.isFinite(v)) throw notFinite(where, features[i], v);
        out[base + i] = v;
      }
    } else {
      // By feature, then a count of the row's keys: no array of keys per row. A row with as many
      // keys as features and none missing has no unknown one.
      const named = row as Readonly<Record<string, number>>;
      let missing = false;
      for (let i = 0; i < k; i++) {
        const v = named[features[i]];
        // A number is the row's own (nothing a prototype holds is one).
        if (typeof v === 'number' && Number.isFinite(v)) out[base + i] = v;
        else if (!Object.hasOwn(named, features[i])) missing = true;
        else throw notFinite(where, features[i], v);
      }
      let keys = 0;
      for (const key in named) if (Object.hasOwn(named, key)) keys++;
      if (missing || keys !== k) throw wrongNames(where, named, features, index);
    }
  }
  return out;
}

/**
 * toMatrix for a table: the columns are matched to the features once (unknown, duplicate and
 * missing ones are errors naming them), then each row's values are copied into place.
 */
export function tableToMatrix(table: FeatureTable, features: readonly string[], rowLabel: (r: number) => string = () => ''): Float64Array {
  const k = features.length;
  const index = positionsOf(features);
  const columns = table.columns;
  const at = new Int32Array(columns.length);
  const seen = new Set<string>();
  for (let c = 0; c < columns.length; c++) {
    const i = index.get(columns[c]);
    if (i === undefined) throw new DomainError('invalid_argument', `unknown column "${columns[c].slice(0, 100)}"; expected: ${listNames(features)}.`);
    if (seen.has(columns[c])) throw new DomainError('invalid_argument', `column "${columns[c].slice(0, 100)}" appears twice.`);
    seen.add(columns[c]);
    at[c] = i;
  }
  if (seen.size !== k) {
    const missing = features.filter((f) => !seen.has(f));
    throw new DomainError('invalid_argument', `missing column${missing.length > 1 ? 's' : ''} ${listNames(missing)}; expected: ${listNames(features)}.`);
  }
  const out = new Float64Array(table.data.length * k);
  for (let r = 0; r < table.data.length; r++) {
    const row = table.data[r];
    if (row.length !== k) throw new DomainError('invalid_argument', `${rowLabel(r)}${row.length} values for ${k} columns.`);
    const base = r * k;
    for (let c = 0; c < k; c++) {
      const v = row[c];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw notFinite(rowLabel(r), columns[c], v);
      out[base + at[c]] = v;
    }
  }
  return out;
}

/**
 * The error for a named row whose keys are not the features: the first unknown one and the
 * missing ones, both named (a misspelt name is both: "days_rst" unknown, "days_rest" missing).
 */
function wrongNames(where: string, named: Readonly<Record<string, number>>, features: readonly string[], index: ReadonlyMap<string, number>): DomainError {
  const unknown = Object.keys(named).find((key) => !index.has(key));
  const missing = features.filter((f) => !Object.hasOwn(named, f));
  const missingText = missing.length ? `missing feature${missing.length > 1 ? 's' : ''} ${listNames(missing)}` : '';
  if (unknown !== undefined) {
    return new DomainError(
      'invalid_argument',
      `${where}unknown feature "${unknown.slice(0, 100)}"${missingText ? ` and ${missingText}` : ''}; expected: ${listNames(features)}.`,
    );
  }
  return new DomainError('invalid_argument', `${where}${missingText}; expected: ${listNames(features)}.`);
}

const notFinite = (where: string, feature: string, v: unknown) =>
  new DomainError('invalid_argument', `${where}feature "${feature}" is ${typeof v === 'number' ? String(v) : typeof v}, not a finite number.`);
