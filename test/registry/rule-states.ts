import type { ModelSignature, ModelState, ModelVersion, Stage } from '../../src/registry/types.js';
import { modelVersion } from '../versions.js';

/** Model states for the registry's rules, as the store would hand them over. */

export const sig: ModelSignature = { inputs: [{ name: 'x', type: 'float32', shape: ['?', 3] }], outputs: [{ name: 'y', type: 'float32', shape: ['?', 1] }] };

export const version = (label: string, stage: Stage, seq: number): ModelVersion => modelVersion({ name: 'm', version: label, stage, seq, signature: sig });

/** A model's state; `productionHistory`: versions moved into production, newest first, as the audit trail would list them. */
export function state(stages: Record<string, Stage>, productionHistory: string[] = [], traffic: Record<string, number> | null = null): ModelState {
  const current = Object.entries(stages).find(([, s]) => s === 'production')?.[0];
  return {
    name: 'm',
    traffic: traffic && { weights: traffic, routing: 'random', updatedAt: '2026-01-01T00:00:00.000Z' },
    versions: Object.entries(stages).map(([v, s], i) => version(v, s, i + 1)),
    // What the store's query answers for such a trail.
    previousProduction: current === undefined ? null : (productionHistory.find((v) => v !== current && v in stages) ?? null),
  };
}

/** What a refusal says, whole: the wording a user reads, its code and its next steps. */
export function refusal(f: () => unknown): { code: string; message: string; next: unknown } {
  try {
    f();
  } catch (e) {
    const { code, message, next } = e as { code: string; message: string; next: unknown };
    return { code, message, next };
  }
  throw new Error('no refusal');
}
