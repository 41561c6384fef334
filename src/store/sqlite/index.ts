import type { DatabaseProbe, DatabaseStatus } from '../../health/ports.js';
import type { Logger } from '../../logger.js';
import type { Store, StoreOptions } from '../store.js';
import { translateErrors } from '../translate.js';
import { SqliteAlertDeliveryStore, SqliteAlertStore } from './alerts.js';
import { SqliteChangeFeed } from './changes.js';
import { SqliteConnection, WRITE_ATTEMPT_WAIT_MS } from './connection.js';
import { openDatabase, schemaVersion, type Db } from './database.js';
import { SqliteDriftStore } from './drift.js';
import { sqliteToDomain } from './errors.js';
import { SqliteOutboxStore } from './outbox.js';
import { SqliteOutcomeStore } from './outcomes.js';
import { SqlitePredictionLogStore } from './prediction-log.js';
import { SqliteRegistryStore } from './registry.js';
import { SqliteTrafficStore } from './traffic.js';

/** The registry in one SQLite file (MLOPS_MCP_HOME/registry.db): the default, with no set-up. */
export interface SqliteStore extends Store {
  readonly engine: 'sqlite';
  /** The connection's durability settings, as SQLite reports them. */
  settings(): { journalMode: string; synchronous: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA'; busyTimeoutMs: number };
}

export function openSqliteStore(dbPath: string, logger: Logger, options: StoreOptions = {}): SqliteStore {
  const db = openDatabase(dbPath, logger);
  // Migrations (at start) waited up to 5 s in SQLite itself; from here writes wait on timers.
  db.pragma(`busy_timeout = ${WRITE_ATTEMPT_WAIT_MS}`);
  const c = new SqliteConnection(db, options.now ?? (() => new Date().toISOString()), options.mlflowOutbox ?? false, options.alertDelivery);
  const guard = <T extends object>(adapter: T) => translateErrors(adapter, (e) => sqliteToDomain(e, logger));
  const registry = new SqliteRegistryStore(c);
  return {
    engine: 'sqlite',
    registry: guard(registry),
    traffic: guard(new SqliteTrafficStore(c, registry)),
    predictions: guard(new SqlitePredictionLogStore(c, dbPath)),
    drift: guard(new SqliteDriftStore(c)),
    alerts: guard(new SqliteAlertStore(c)),
    deliveries: guard(new SqliteAlertDeliveryStore(c)),
    deliveryLeader: { holds: async () => true, release: async () => undefined },
    outbox: guard(new SqliteOutboxStore(c)),
    // Processes sharing one home push the outbox each (a push repeated is harmless: versions are
    // found again by tag); the lead matters where many servers share one database.
    outboxLeader: { holds: async () => true, release: async () => undefined },
    outcomes: guard(new SqliteOutcomeStore(c)),
    // Not guarded: read on every prediction, and it reads only a counter of the connection.
    changes: new SqliteChangeFeed(c),
    database: guard(new SqliteProbe(db)),
    settings: () => settingsOf(db),
    async close() {
      if (db.open) db.close();
    },
  };
}

class SqliteProbe implements DatabaseProbe {
  private readonly ping1;

  constructor(private readonly db: Db) {
    this.ping1 = db.prepare('SELECT 1 AS ok');
  }

  async ping(): Promise<void> {
    this.ping1.get();
  }

  async status(): Promise<DatabaseStatus> {
    const version = (this.db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    const { journalMode } = settingsOf(this.db);
    return {
      engine: 'sqlite',
      serverVersion: version,
      schemaVersion: schemaVersion(this.db),
      detail: `SQLite ${version}, registry.db in MLOPS_MCP_HOME (${journalMode.toUpperCase()})`,
    };
  }
}

function settingsOf(db: Db): ReturnType<SqliteStore['settings']> {
  const synchronous = (['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const)[db.pragma('synchronous', { simple: true }) as number];
  return {
    journalMode: db.pragma('journal_mode', { simple: true }) as string,
    synchronous,
    busyTimeoutMs: db.pragma('busy_timeout', { simple: true }) as number,
  };
}
