import type { FeatureCurves } from '../monitoring/curves.js';
import type { DriftRun, FeatureDrift } from '../monitoring/drift-types.js';
import { domainName, wireName, withKeys } from '../monitoring/statistics/index.js';

/**
 * A drift run as both engines keep it (one JSON value per run): the run's own fields camelCase,
 * each feature's fields and each curve's KS location under their snake_case wire names
 * (`p_value_adjusted`, `reference_cdf`). That is the shape every release has stored, so rows
 * written before the domain records were camelCase need no rewrite, and servers of either release
 * sharing one PostgreSQL database read each other's runs.
 */

const curvesWith = (curves: Record<string, FeatureCurves>, name: (key: string) => string): Record<string, FeatureCurves> =>
  Object.fromEntries(Object.entries(curves).map(([feature, c]) => [feature, { ...c, ks: withKeys<FeatureCurves['ks']>(c.ks, name) }]));

/** The JSON text a run is stored as. */
export function storedRun(run: DriftRun): string {
  return JSON.stringify({
    ...run,
    features: run.features.map((f) => withKeys<object>(f, wireName)),
    ...(run.curves ? { curves: curvesWith(run.curves, wireName) } : {}),
  });
}

/**
 * A stored run as the domain reads it. Every snake_case key of a feature becomes its camelCase
 * name, including fields of a statistic no longer in the list (answers leave those out); a key
 * already camelCase stays as it is.
 */
export function runOfStored(stored: string | object): DriftRun {
  const run = (typeof stored === 'string' ? JSON.parse(stored) : stored) as DriftRun;
  return {
    ...run,
    features: run.features.map((f) => withKeys<FeatureDrift>(f, domainName)),
    ...(run.curves ? { curves: curvesWith(run.curves, domainName) } : {}),
  };
}
