import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { openSqliteStore } from './sqlite/index.js';
import type { Store } from './store.js';

/** The store the configuration names: SQLite in MLOPS_MCP_HOME unless MLOPS_MCP_DATABASE_URL names a server. */
export async function openStore(config: Config, logger: Logger): Promise<Store> {
  return openSqliteStore(config.dbPath, logger, { mlflowOutbox: config.mlflowTrackingUri !== undefined });
}
