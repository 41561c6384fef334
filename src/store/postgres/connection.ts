import pg from 'pg';
import type { AlertDraft } from '../../monitoring/alert-types.js';
import type { OutboxKind } from '../../mlflow/ports.js';
import type { Actor, AuditAction, Stage } from '../../registry/types.js';
import { isRetryable } from './errors.js';

/** How long a statement waits for another transaction's lock, and how long one may run at all. */
export const LOCK_TIMEOUT_MS = 5000;
export const STATEMENT_TIMEOUT_MS = 60_000;
/** How long a request waits for a free connection in the pool before it is answered busy. */
export const POOL_WAIT_MS = 5000;
/** Channel of the change notices sent by every registry and traffic write (see PostgresChangeFeed). */
export const CHANGES_CHANNEL = 'mlops_mcp_changes';

const OID = { int8: 20, timestamptz: 1184 } as const;

/**
 * Type parsers for this store's connections only (pg's defaults are global): timestamps come back
 * as the ISO strings the domain uses, bigint counts and ids as numbers (they stay far below 2^53).
 */
export const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === OID.timestamptz && format !== 'binary') {
      const date = pg.types.getTypeParser(OID.timestamptz) as (v: string) => Date;
      return (v: string) => date(v).toISOString();
    }
    if (oid === OID.int8 && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

/** The settings every connection of the store gets: UTC, bounded waits, and a name in pg_stat_activity. */
export function clientConfig(url: string, applicationName: string): pg.ClientConfig {
  return {
    connectionString: url,
    application_name: applicationName,
    types: pgTypes,
    lock_timeout: LOCK_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    connectionTimeoutMillis: POOL_WAIT_MS,
    keepAlive: true,
    options: '-c TimeZone=UTC',
  };
}

/** PostgreSQL's text types refuse U+0000, which JavaScript strings (and SQLite) allow: it is kept as U+FFFD. */
const NUL = /\u0000/g;
export const pgText = (s: string) => (s.includes('\u0000') ? s.replace(NUL, '\uFFFD') : s);
const params = (values: readonly unknown[]) => values.map((v) => (typeof v === 'string' ? pgText(v) : v));

export interface AuditDraft {
  name: string;
  version: string | null;
  action: AuditAction;
  from: Stage | null;
  to: Stage | null;
  who: Actor;
  now: string;
  details?: Record<string, unknown> | undefined;
}

/** A write transaction under way, with the rows every write may add to it. */
export class Tx {
  constructor(
    private readonly client: pg.PoolClient,
    private readonly outbox: boolean,
  ) {}

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values: readonly unknown[] = []): Promise<R[]> {
    return (await this.client.query<R>(sql, params(values))).rows;
  }

  /**
   * Locks the model's row until the transaction ends: every write to one model takes it first, so
   * writes to a model run one after another on every server. false: no such model.
   */
  async lockModel(name: string): Promise<boolean> {
    return (await this.query('SELECT 1 FROM models WHERE name = $1 FOR UPDATE', [name])).length === 1;
  }

  async audit(e: AuditDraft): Promise<void> {
    const details = e.who.approvedBy ? { ...e.details, approved_by: e.who.approvedBy } : e.details;
    await this.query(
      `INSERT INTO audit_log (model_name, version, action, from_stage, to_stage, actor, reason, details, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [e.name, e.version, e.action, e.from, e.to, e.who.actor, e.who.reason ?? null, details ? JSON.stringify(details) : null, e.now],
    );
  }

  /** Inserts an alert; answers its id. */
  async alert(alert: AlertDraft, now: string): Promise<number> {
    const [row] = await this.query<{ id: number }>(
      'INSERT INTO alerts (type, severity, model_name, version, message, details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
      [alert.type, alert.severity, alert.name, alert.version, alert.message, alert.details ? JSON.stringify(alert.details) : null, now],
    );
    return row.id;
  }

  async enqueue(kind: OutboxKind, name: string, payload: Record<string, unknown>, now: string): Promise<void> {
    if (this.outbox) await this.query('INSERT INTO mlflow_outbox (kind, model_name, payload, created_at) VALUES ($1, $2, $3, $4)', [kind, name, JSON.stringify(payload), now]);
  }

  /** Tells every server, when this transaction commits, that the model's registry or traffic state changed. */
  async notify(name: string): Promise<void> {
    await this.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, name]);
  }
}

/** The store's pool, shared by its adapters. */
export class PostgresConnection {
  /** Registry and traffic writes committed through this pool (see PostgresChangeFeed). */
  localWrites = 0;

  constructor(
    readonly pool: pg.Pool,
    readonly now: () => string,
    private readonly outbox: boolean,
  ) {}

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values: readonly unknown[] = []): Promise<R[]> {
    return (await this.pool.query<R>(sql, params(values))).rows;
  }

  /** Runs reads that must agree with one another in one read-only snapshot. */
  async snapshot<T>(fn: (tx: Pick<Tx, 'query'>) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: unknown;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await fn(new Tx(client, false));
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch((rollback: unknown) => (broken = rollback));
      throw e;
    } finally {
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  /**
   * Runs fn in a transaction on one connection, and runs it again (up to three times) when
   * PostgreSQL rolled it back as a deadlock or serialization failure; any other failure rolls
   * back and reaches the caller.
   */
  async write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken: unknown;
      try {
        await client.query('BEGIN');
        const result = await fn(new Tx(client, this.outbox));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch((rollback: unknown) => (broken = rollback));
        if (!isRetryable(e) || attempt === 3) throw e;
      } finally {
        // A connection whose rollback failed is in an unknown state: the pool drops it.
        client.release(broken instanceof Error ? broken : undefined);
      }
    }
  }
}
