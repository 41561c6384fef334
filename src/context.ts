import fs from 'node:fs';
import type { Config } from './config.js';
import { HealthService } from './health/health.js';
import { createLogger, type Logger } from './logger.js';
import { AlertService } from './monitoring/alerts.js';
import { ArtifactStore } from './registry/artifacts.js';
import { ModelRegistry } from './registry/registry.js';
import { loadOnnxRuntime } from './serving/runtime.js';
import { SessionCache } from './serving/session-cache.js';
import { RegistryStore } from './store/store.js';

/** Everything a request needs, built once per process and passed down; no module holds state. */
export interface AppContext {
  config: Config;
  logger: Logger;
  store: RegistryStore;
  artifacts: ArtifactStore;
  registry: ModelRegistry;
  sessions: SessionCache;
  alerts: AlertService;
  health: HealthService;
  startedAt: Date;
  close(): Promise<void>;
}

export function createAppContext(config: Config, logger: Logger = createLogger(config.logLevel)): AppContext {
  fs.mkdirSync(config.artifactsDir, { recursive: true });
  const store = RegistryStore.open(config.dbPath, logger);
  const artifacts = new ArtifactStore(config.artifactsDir);
  const sessions = new SessionCache(loadOnnxRuntime, config.modelCacheSize, config.modelCacheTtlMs);
  const alerts = new AlertService(store);
  const registry = new ModelRegistry({ store, artifacts, runtime: loadOnnxRuntime, allowedDirs: config.allowedDirs });
  const health = new HealthService({
    store,
    artifacts,
    sessions,
    runtime: loadOnnxRuntime,
    alerts,
    home: config.home,
    minFreeDiskMb: config.minFreeDiskMb,
    logger,
  });
  let closed = false;
  return {
    config,
    logger,
    store,
    artifacts,
    registry,
    sessions,
    alerts,
    health,
    startedAt: new Date(),
    async close() {
      if (closed) return;
      closed = true;
      await sessions.close();
      store.close();
    },
  };
}
