import pg from 'pg';
import type { DatabaseProbe, DatabaseStatus } from '../../health/ports.js';
import type { Logger } from '../../logger.js';
import type { Store, StoreOptions } from '../store.js';
import { translateErrors } from '../translate.js';
import { PostgresAlertDeliveryStore, PostgresAlertStore } from './alerts.js';
import { PostgresChangeFeed } from './changes.js';
import { PostgresLeadership } from './leadership.js';
import { clientConfig, deliveryOf, PostgresConnection, POOL_WAIT_MS } from './connection.js';
import { PostgresDriftStore } from './drift.js';
import { postgresToDomain } from './errors.js';
import { applyMigrations } from './migrations.js';
import { PostgresOutboxStore } from './outbox.js';
import { PostgresOutcomeStore } from './outcomes.js';
import { PostgresPredictionLogStore } from './prediction-log.js';
import { PostgresRegistryStore } from './registry.js';
import { PostgresTrafficStore } from './traffic.js';

export interface PostgresStoreOptions extends StoreOptions {
  /** Connections the pool keeps at most. */
  poolSize: number;
}

/** The URL as it may be shown: without its password. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'MLOPS_MCP_DATABASE_URL (not a valid URL)';
  }
}

/** A failure to start on PostgreSQL, in words that name the setting to check. */
export class DatabaseStartError extends Error {
  override name = 'DatabaseStartError';
}

/**
 * The registry on a PostgreSQL server that several mlops-mcp servers may share: connects (and
 * fails at once, naming MLOPS_MCP_DATABASE_URL, when it cannot), applies pending migrations
 * (once, whichever server gets there first) and starts listening for other servers' changes.
 */
export async function openPostgresStore(url: string, logger: Logger, options: PostgresStoreOptions): Promise<Store> {
  const shown = redactedUrl(url);
  const pool = new pg.Pool({ ...clientConfig(url, 'mlops-mcp'), max: options.poolSize, idleTimeoutMillis: 30_000, connectionTimeoutMillis: POOL_WAIT_MS });
  // An idle connection the server closed (a restart): the pool drops it and opens another on demand.
  pool.on('error', (e) => logger.warn({ err: e }, 'an idle PostgreSQL connection failed'));
  const c = new PostgresConnection(pool, options.now ?? (() => new Date().toISOString()), options.mlflowOutbox ?? false, deliveryOf(options.alertDelivery));
  const changes = new PostgresChangeFeed(url, c, logger);
  try {
    await pool.query('SELECT 1');
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new DatabaseStartError(`cannot reach the PostgreSQL server in MLOPS_MCP_DATABASE_URL (${shown}): ${(e as Error).message}`);
  }
  try {
    await applyMigrations(pool, logger);
    await changes.start();
  } catch (e) {
    await changes.close();
    await pool.end().catch(() => undefined);
    throw new DatabaseStartError(`could not prepare the PostgreSQL database in MLOPS_MCP_DATABASE_URL (${shown}): ${(e as Error).message}`);
  }
  const guard = <T extends object>(adapter: T) => translateErrors(adapter, (e) => postgresToDomain(e, logger));
  const outboxLeader = new PostgresLeadership(url, 'mlops-mcp outbox', logger);
  const deliveryLeader = new PostgresLeadership(url, 'mlops-mcp alert delivery', logger);
  return {
    engine: 'postgresql',
    registry: guard(new PostgresRegistryStore(c)),
    traffic: guard(new PostgresTrafficStore(c)),
    predictions: guard(new PostgresPredictionLogStore(c, url)),
    drift: guard(new PostgresDriftStore(c)),
    alerts: guard(new PostgresAlertStore(c)),
    deliveries: guard(new PostgresAlertDeliveryStore(c)),
    deliveryLeader,
    outbox: guard(new PostgresOutboxStore(c)),
    outboxLeader,
    outcomes: guard(new PostgresOutcomeStore(c)),
    // Not guarded: read on every prediction, and it reads only counters.
    changes,
    database: guard(new PostgresProbe(c, shown)),
    async close() {
      await outboxLeader.release();
      await deliveryLeader.release();
      await changes.close();
      await pool.end();
    },
  };
}

class PostgresProbe implements DatabaseProbe {
  constructor(
    private readonly c: PostgresConnection,
    private readonly shown: string,
  ) {}

  async ping(): Promise<void> {
    await this.c.query('SELECT 1');
  }

  async status(): Promise<DatabaseStatus> {
    const [row] = await this.c.query<{ version: string; schema: number | null }>(
      "SELECT current_setting('server_version') AS version, (SELECT max(version) FROM schema_migrations) AS schema",
    );
    const where = new URL(this.shown);
    return {
      engine: 'postgresql',
      serverVersion: row.version,
      schemaVersion: row.schema ?? 0,
      detail: `PostgreSQL ${row.version} at ${where.host}${where.pathname}`,
    };
  }
}
