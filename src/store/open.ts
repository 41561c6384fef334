import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { AlertDeliveryPolicy } from '../monitoring/ports.js';
import type { ArtifactObjects } from '../registry/ports.js';
import { openS3Objects } from './artifacts/s3.js';
import { openPostgresStore } from './postgres/index.js';
import { openSqliteStore } from './sqlite/index.js';
import type { Store } from './store.js';

/**
 * The store the configuration names: PostgreSQL when MLOPS_MCP_DATABASE_URL is set, else SQLite
 * in MLOPS_MCP_HOME. A third engine is a folder beside sqlite/ and postgres/ and a line here.
 */
export async function openStore(config: Config, logger: Logger, alertDelivery?: AlertDeliveryPolicy): Promise<Store> {
  const options = { mlflowOutbox: config.mlflowTrackingUri !== undefined, alertDelivery };
  if (config.databaseUrl) return openPostgresStore(config.databaseUrl, logger, { ...options, poolSize: config.databasePoolSize });
  return openSqliteStore(config.dbPath, logger, options);
}

/** Object storage for artifacts when MLOPS_MCP_ARTIFACTS_URL names one; undefined: the home's directory alone. */
export async function openArtifactObjects(config: Config, logger: Logger): Promise<ArtifactObjects | undefined> {
  return config.artifactsUrl ? openS3Objects(config.artifactsUrl, logger) : undefined;
}
