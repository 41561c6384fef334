/**
 * What a drift statistic is: one value of this shape per module in this folder, registered in
 * index.ts. Everything else reads the list: the drift threads compute each statistic of each
 * feature, a run stores their fields, the tools' output schemas and text answers, the MLflow push
 * and the dashboard's drift table show them. docs/extension.md walks through adding one.
 *
 * Plain data and functions, no schema library: the drift threads load this list (zod would add
 * ~100 ms to each thread's start), and the MCP layer makes the zod schemas from `fields`.
 */

/** One output field: its JSON type and what it means (the tools' output schema and docs/tools.md show the description). */
export type FieldSpec =
  { readonly type: 'number'; readonly description: string } | { readonly type: 'enum'; readonly values: readonly string[]; readonly description: string };

/**
 * The fields a statistic adds to each feature of a run, keyed by their camelCase names (`pValue`).
 * Answers, stored runs and peers in Python use the snake_case name `wireName` derives (`p_value`).
 */
export type Fields = Readonly<Record<string, FieldSpec>>;

/** A field's name in answers and stored runs: its camelCase name in snake_case (`pValueAdjusted` → `p_value_adjusted`). */
export const wireName = (field: string): string => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** wireName at the type level: `WireName<'pValue'>` is `'p_value'`. */
export type WireName<S extends string> = S extends `${infer H}${infer T}` ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${WireName<T>}` : S;

/** A record's keys under their wire names. */
export type Wire<V> = { [K in keyof V & string as WireName<K>]: V[K] };

/** The camelCase name of a snake_case wire name (`p_value` → `pValue`): wireName's inverse on camelCase names. */
export const domainName = (wire: string): string => wire.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A record with each key renamed by `name` (wireName or domainName), its values and their order kept. */
export const withKeys = <T>(record: object, name: (key: string) => string): T =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [name(k), v as unknown])) as T;

/** What a field may be named: lower camelCase, so that wireName and domainName are each other's inverse. */
export const FIELD_NAME = /^[a-z][a-zA-Z0-9]*$/;

/** A field's value: a number, or one of an enum's words (KS's method). */
export type FieldValue = number | string;

/** The values `fields` describe: a number per number field, one of its words per enum field. */
export type ValuesOf<F extends Fields> = { -readonly [K in keyof F]: F[K] extends { readonly values: readonly (infer W)[] } ? W : number };

/** The names of the number fields (any string for Fields in general, so that every statistic is a DriftStatistic). */
export type NumberField<F extends Fields> = string extends keyof F
  ? string
  : { [K in keyof F]: F[K] extends { readonly type: 'number' } ? K : never }[keyof F] & string;

/** 'verdict': its `pValue`, corrected across a run's features, decides drift. 'informational': reported beside it. */
export type Role = 'verdict' | 'informational';

export interface DriftStatistic<F extends Fields = Fields, R extends Role = Role> {
  /** Short key, unique in the list: 'ks', 'psi', 'wasserstein'. */
  readonly name: string;
  /** Its name in words: 'Population Stability Index'. */
  readonly title: string;
  /** One sentence: what it measures, and against what it is checked (tool descriptions, docs). */
  readonly description: string;
  /**
   * 'verdict': its `pValue`, corrected across the run's features, decides drift (exactly one
   * statistic in the list: KS). 'informational': reported beside the verdict, never changing it.
   */
  readonly role: R;
  /** The fields it adds to each feature of a run (their names unique across the list). */
  readonly fields: F;
  /**
   * Its fields for one feature, from the reference and the current values, both sorted ascending,
   * finite and at least 2 long (compareToReference checks the lengths before any statistic runs).
   * Runs on a drift thread, once per feature and check: O(n log n) or better on sorted input.
   * Input it cannot measure (values too large to hold, say) is a DomainError that says what to do.
   */
  compute(refSorted: Float64Array, curSorted: Float64Array): ValuesOf<NoInfer<F>>;
  /** The MLflow metrics logged per feature: metric `<prefix>.<feature>` for each number field named. */
  readonly mlflow: { readonly [K in NumberField<NoInfer<F>>]?: string };
  /** Its column in the dashboard's drift table, and its part of a feature's line in text answers: `label=format(value)`. */
  readonly display: {
    readonly field: NumberField<NoInfer<F>>;
    /** A few characters: 'D', 'PSI'. */
    readonly label: string;
    /** What the label stands for (the column's tooltip). */
    readonly hint: string;
    format(value: number): string;
  };
}

/** What the verdict statistic's values include: a statistic, its p-value and how the p-value was computed. */
export interface VerdictValues {
  statistic: number;
  pValue: number;
  method: string;
}

/** `definition` as it is, with its values' types taken from `fields` (and `compute`, `mlflow` and `display` checked against them). */
export function defineStatistic<const F extends Fields, R extends Role>(definition: DriftStatistic<F, R>): DriftStatistic<F, R> {
  return definition;
}
