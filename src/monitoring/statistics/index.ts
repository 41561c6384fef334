import { ks } from './ks.js';
import { psi } from './psi.js';
import { wasserstein } from './wasserstein.js';
import { FIELD_NAME, wireName, type DriftStatistic, type FieldValue, type Fields, type ValuesOf, type VerdictValues } from './statistic.js';

/**
 * The drift statistics, in the order runs, answers and the dashboard show them: the one list a
 * new statistic joins (docs/extension.md). Exactly one decides drift (role 'verdict': KS); the
 * others are informational.
 */
export const STATISTICS = [ks, psi, wasserstein] as const;

type Statistic = (typeof STATISTICS)[number];
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
type ValuesOfAll<S> = UnionToIntersection<S extends DriftStatistic<infer F> ? ValuesOf<F> : never>;

/** The verdict statistic's fields of a feature. */
export type VerdictFieldValues = ValuesOfAll<Extract<Statistic, { role: 'verdict' }>> & VerdictValues;
/** The informational statistics' fields of a feature (psi, …). */
export type InformationalValues = ValuesOfAll<Extract<Statistic, { role: 'informational' }>>;
/** Every statistic's fields of one feature, as compareFeature computes them. */
export type StatisticValues = VerdictFieldValues & InformationalValues;

/** Fields of a feature in a drift run that are not any statistic's. */
export const RUN_FIELDS = ['feature', 'pValueAdjusted', 'driftDetected', 'nRef', 'nCur'] as const;

/** Checks what the types cannot: one verdict, names unique, field names camelCase and unique. Run when this module loads. */
export function checkStatistics(list: readonly DriftStatistic[]): void {
  const verdicts = list.filter((s) => s.role === 'verdict');
  if (verdicts.length !== 1) throw new Error(`drift statistics: ${verdicts.length} have role 'verdict'; exactly one must decide drift`);
  const seen = new Map<string, string>(RUN_FIELDS.map((f) => [f, 'the run']));
  for (const s of list) {
    if (seen.has(`statistic ${s.name}`)) throw new Error(`drift statistics: two are named ${s.name}`);
    seen.set(`statistic ${s.name}`, s.name);
    for (const field of Object.keys(s.fields)) {
      if (!FIELD_NAME.test(field)) throw new Error(`drift statistics: field ${field} of ${s.name} is not camelCase (answered as ${wireName(field)})`);
      const owner = seen.get(field);
      if (owner) throw new Error(`drift statistics: field ${field} of ${s.name} is already ${owner}'s`);
      seen.set(field, s.name);
    }
  }
  for (const field of ['statistic', 'pValue', 'method']) {
    if (!Object.hasOwn(verdicts[0].fields, field)) throw new Error(`drift statistics: the verdict ${verdicts[0].name} has no field ${field}`);
  }
}
checkStatistics(STATISTICS);

/** The statistic whose corrected p-value decides drift. */
export const VERDICT = STATISTICS.find((s): s is Extract<Statistic, { role: 'verdict' }> => s.role === 'verdict')!;
/** The statistics reported beside the verdict. */
export const INFORMATIONAL: ReadonlyArray<DriftStatistic<Fields, 'informational'>> = STATISTICS.filter((s) => s.role === 'informational');

/** Every statistic of one feature, from its sorted reference and current values (on a drift thread). */
export function computeStatistics(refSorted: Float64Array, curSorted: Float64Array): StatisticValues {
  const values: Record<string, FieldValue> = {};
  for (const s of STATISTICS) Object.assign(values, s.compute(refSorted, curSorted));
  return values as unknown as StatisticValues;
}

/**
 * A field's value in a feature of a run, or null: a run stored before a statistic was added has
 * none of its fields.
 */
export function fieldValue(feature: object, field: string): FieldValue | null {
  const value = Object.hasOwn(feature, field) ? (feature as Record<string, unknown>)[field] : undefined;
  return typeof value === 'number' || typeof value === 'string' ? value : null;
}

/** The informational statistics' fields of a feature, null where the run has none (keyed by their camelCase names). */
export function informationalValues(feature: object): Record<string, FieldValue | null> {
  const out: Record<string, FieldValue | null> = {};
  for (const s of INFORMATIONAL) for (const field of Object.keys(s.fields)) out[field] = fieldValue(feature, field);
  return out;
}

export { domainName, wireName, withKeys } from './statistic.js';
export type { DriftStatistic, FieldSpec, FieldValue, Fields, Wire, WireName } from './statistic.js';
