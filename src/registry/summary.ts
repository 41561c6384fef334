import type { ModelVersion } from './types.js';

export interface ModelSummary {
  name: string;
  production: string | null;
  versions: Array<{ version: string; stage: string; created_at: string }>;
}

/** Versions grouped by model, with the production version named: the registry at a glance. */
export function summarizeModels(versions: readonly ModelVersion[]): ModelSummary[] {
  const models = new Map<string, ModelSummary>();
  for (const v of versions) {
    const m = models.get(v.name) ?? { name: v.name, production: null, versions: [] };
    m.versions.push({ version: v.version, stage: v.stage, created_at: v.createdAt });
    if (v.stage === 'production') m.production = v.version;
    models.set(v.name, m);
  }
  return [...models.values()];
}
