import { DomainError } from '../errors.js';
import type { AlertDraft } from '../monitoring/alert-types.js';
import type { ModelVersion } from '../registry/types.js';

export type Routing = 'random' | 'sticky';

/** What a traffic report's counts start from: the split being set, the last split's end, or this server's start. */
export type SinceEvent = 'split_set' | 'split_ended' | 'server_started';

export const SINCE_EVENTS = ['split_set', 'split_ended', 'server_started'] as const satisfies readonly SinceEvent[];

/** How a model's traffic is split: weight per version label. */
export interface TrafficConfig {
  weights: Record<string, number>;
  routing: Routing;
  /** When the split was set; null for the default (all to production). */
  updatedAt: string | null;
}

/** The outcome of a traffic rule: the split to store, and alerts to raise. */
export interface TrafficPlan {
  weights: Record<string, number>;
  routing: Routing;
  alerts: AlertDraft[];
}

export const WEIGHT_TOLERANCE = 1e-9;

/**
 * A version's weight in a split: 0 unless the split names it. Weights are keyed by user-chosen
 * labels, so a label that is also a name on Object.prototype (`constructor`, `toString`) must
 * not find the prototype's function.
 */
export function weightOf(weights: Readonly<Record<string, number>> | null | undefined, label: string): number {
  return weights && Object.hasOwn(weights, label) ? weights[label] : 0;
}

/** The default split: everything to the production version, or nothing to route to. */
export function defaultTraffic(versions: readonly ModelVersion[]): TrafficConfig | null {
  const production = versions.find((v) => v.stage === 'production');
  return production ? { weights: { [production.version]: 1 }, routing: 'random', updatedAt: null } : null;
}

/** Checks weights against the model's versions: each ≥ 0, existing, not archived, summing to 1. */
export function validateWeights(name: string, versions: readonly ModelVersion[], weights: Readonly<Record<string, number>>): Record<string, number> {
  const entries = Object.entries(weights);
  if (!entries.length) throw new DomainError('invalid_argument', 'weights is empty: give at least one version, e.g. {"v2": 0.2, "v1": 0.8}.');
  for (const [version, w] of entries) {
    const v = versions.find((x) => x.version === version);
    if (!v) throw new DomainError('not_found', `${name} has no version "${version}" (versions: ${versions.map((x) => x.version).join(', ')}).`);
    if (v.stage === 'archived')
      throw new DomainError('failed_precondition', `${name} ${version} is archived and cannot take traffic; promote it to staging first.`);
    if (!Number.isFinite(w) || w < 0) throw new DomainError('invalid_argument', `weight of ${version} is ${w}; weights must be ≥ 0.`);
  }
  const sum = entries.reduce((s, [, w]) => s + w, 0);
  if (Math.abs(sum - 1) > WEIGHT_TOLERANCE) {
    throw new DomainError(
      'invalid_argument',
      `weights sum to ${Number(sum.toPrecision(12))}, not 1; scale them so they add up to exactly 1 (within ${WEIGHT_TOLERANCE}).`,
    );
  }
  // Sorted by version label so routing does not depend on the order the caller wrote them in.
  return Object.fromEntries(entries.filter(([, w]) => w > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A split ready to route by: its labels and their cumulative weights, computed once per split. */
export interface Picker {
  labels: readonly string[];
  bounds: Float64Array;
}

export function pickerFor(config: TrafficConfig): Picker {
  const labels = Object.keys(config.weights);
  const bounds = new Float64Array(labels.length);
  let acc = 0;
  for (let i = 0; i < labels.length; i++) bounds[i] = acc += config.weights[labels[i]];
  return { labels, bounds };
}

/** The version for one request: the cumulative weight the bucket in [0, 1) falls under. */
export function pickVersion(picker: Picker, bucket: number): string {
  const { labels, bounds } = picker;
  for (let i = 0; i < bounds.length; i++) if (bucket < bounds[i]) return labels[i];
  return labels[labels.length - 1];
}
