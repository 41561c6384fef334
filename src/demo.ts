import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { packageRoot } from './config.js';
import { DomainError } from './errors.js';
import type { AppContext } from './context.js';
import { simulateHistory } from './demo-history.js';
import { ModelRegistry } from './registry/registry.js';

export const FIXTURES_DIR = path.join(packageRoot, 'fixtures');

const manifestSchema = z.object({
  models: z.array(
    z.object({
      name: z.string(),
      version: z.string(),
      file: z.string(),
      description: z.string(),
      feature_names: z.array(z.string()),
      metrics: z.record(z.string(), z.number()),
      tags: z.record(z.string(), z.string()),
    }),
  ),
});

/** Where the demo leaves each version: one in production and a challenger in staging per model. */
const DEMO_STAGES: Record<string, 'production' | 'staging'> = {
  'nba_points/v1': 'production',
  'nba_points/v2': 'staging',
  'nba_win_predictor/v1.5': 'production',
  'nba_win_predictor/v2.0': 'staging',
};

const DEMO_ACTOR = { actor: 'mlops-mcp --demo', reason: 'demo registry' };

/**
 * Registers the demo models from fixtures/ (see fixtures/README.md) and promotes them, when the
 * registry holds no model yet, then (unless options.history is false) gives them a week of
 * history (src/demo-history.ts). The
 * fixtures are ours, not a tool argument, so they are read through a registry confined to
 * fixtures/ whatever MLOPS_MCP_ALLOWED_DIRS says.
 */
export async function loadDemo(app: AppContext, options: { history: boolean } = { history: true }): Promise<boolean> {
  const existing = await app.registry.list({ limit: 1 });
  if (existing.versions.length) {
    app.logger.info('registry not empty: demo models not loaded');
    return false;
  }
  const manifest = manifestSchema.parse(JSON.parse(await fs.readFile(path.join(FIXTURES_DIR, 'models.json'), 'utf8')));
  let registeredAll = true;
  const registry = new ModelRegistry({ store: app.store.registry, artifacts: app.artifacts, checker: app.checks, allowedDirs: [FIXTURES_DIR] });
  for (const m of manifest.models) {
    const version = `v${m.version}`;
    // Another server on the same home may be loading the demo at the same moment: what it
    // registered first is kept.
    if (await app.store.registry.getVersion(m.name, version)) {
      registeredAll = false;
      continue;
    }
    const input = {
      name: m.name,
      artifactPath: path.join(FIXTURES_DIR, m.file),
      version,
      description: m.description,
      metrics: m.metrics,
      tags: m.tags,
      featureNames: m.feature_names,
    };
    const registered = await registry.register(input, DEMO_ACTOR).then(
      () => true,
      (e: unknown) => {
        if (e instanceof DomainError && e.code === 'already_exists') return false;
        throw e;
      },
    );
    if (!registered) {
      registeredAll = false;
      continue;
    }
    const stage = DEMO_STAGES[`${m.name}/${version}`];
    if (stage) await registry.promote(m.name, { version, targetStage: stage, archiveExisting: true }, DEMO_ACTOR);
  }
  // Another server on this home loading the demo at the same moment registered some: it writes the history.
  const history = options.history && registeredAll;
  if (history) await simulateHistory(app, FIXTURES_DIR, DEMO_ACTOR);
  app.logger.info({ models: manifest.models.length, history }, 'demo models registered');
  return true;
}
