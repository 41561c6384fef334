import { z } from 'zod';
import type { FeatureDrift } from '../monitoring/drift-types.js';
import {
  fieldValue,
  INFORMATIONAL,
  VERDICT,
  wireName,
  type FieldSpec,
  type Fields,
  type FieldValue,
  type InformationalValues,
  type VerdictFieldValues,
  type Wire,
} from '../monitoring/statistics/index.js';

/** The drift statistics (src/monitoring/statistics) as the tools answer them: their fields' schemas (under their wire names) and text. */

/** Each value of V, or null. */
export type Nullable<V> = { [K in keyof V]: V[K] | null };

function schemaOf(spec: FieldSpec): z.ZodType<FieldValue> {
  return spec.type === 'enum' ? z.enum(spec.values as readonly [string, ...string[]]) : z.number();
}

function shapeOf(fields: Fields, nullable: boolean): Record<string, z.ZodType<FieldValue | null>> {
  return Object.fromEntries(
    Object.entries(fields).map(([name, spec]) => [
      wireName(name),
      nullable
        ? schemaOf(spec).nullable().describe(`${spec.description}; null in a run stored before this statistic was computed`)
        : schemaOf(spec).describe(spec.description),
    ]),
  );
}

/** A shape whose schemas parse to the values of V, key by key (what shapeOf makes, typed from the list). */
type ShapeOf<V> = { [K in keyof V]-?: z.ZodType<V[K]> };

/** The verdict's fields (KS: statistic, p_value, method), in every run. */
export const verdictShape = shapeOf(VERDICT.fields, false) as ShapeOf<Wire<VerdictFieldValues>>;

/** The informational statistics' fields, each null in a run stored before its statistic was computed. */
export const informationalShape = shapeOf(Object.assign({}, ...INFORMATIONAL.map((s) => s.fields)) as Fields, true) as ShapeOf<
  Nullable<Wire<InformationalValues>>
>;

/** A feature's statistics in words: `D=0.1234, p=1.2e-5, PSI=0.0100` (a statistic the run has no value for is left out). */
export function statisticsText(f: FeatureDrift): string {
  const shown = (s: { display: { field: string; label: string; format(v: number): string } }) => {
    const v = fieldValue(f, s.display.field);
    return typeof v === 'number' ? [`${s.display.label}=${s.display.format(v)}`] : [];
  };
  return [...shown(VERDICT), `p=${f.pValueAdjusted.toExponential(3)}`, ...INFORMATIONAL.flatMap(shown)].join(', ');
}

/** The statistics named in a tool's description: the verdict's, then what is reported beside it. */
export const statisticsDescription = `${VERDICT.description} Reported beside it: ${INFORMATIONAL.map((s) => s.title).join(', ')}.`;
