import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { AlertDraft } from '../../monitoring/alert-types.js';
import { pushedSeverities, type AlertDeliveryPolicy } from '../../monitoring/ports.js';
import type { OutboxKind } from '../../mlflow/ports.js';
import { auditDetails, type AuditDraft } from '../audit.js';
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
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
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
// eslint-disable-next-line no-control-regex -- U+0000 is what this replaces
const NUL = /\u0000/g;
export const pgText = (s: string) => (s.includes('\u0000') ? s.replace(NUL, '\uFFFD') : s);
const param = (v: unknown): unknown => (typeof v === 'string' ? pgText(v) : Array.isArray(v) ? v.map(param) : v);
const params = (values: readonly unknown[]) => values.map(param);

/** Who gets pushed alerts: the targets, and the severities they get (empty: nothing is pushed). */
export interface Delivery {
  targets: string[];
  severities: string[];
}

export const deliveryOf = (policy: AlertDeliveryPolicy | undefined): Delivery =>
  policy?.targets.length ? { targets: [...policy.targets], severities: pushedSeverities(policy) } : { targets: [], severities: [] };

/** Queues the alerts of a statement's `inserted` rows (id, severity) for every target that pushes their severity. */
const DELIVER = (inserted: string, targets: string, severities: string, now: string) =>
  `INSERT INTO alert_deliveries (alert_id, target, created_at, next_attempt_at)
   SELECT i.id, t.target, ${now}, ${now} FROM ${inserted} i CROSS JOIN unnest(${targets}::text[]) AS t(target) WHERE i.severity = ANY(${severities}::text[])`;

/** A write transaction under way, with the rows every write may add to it. */
export class Tx {
  constructor(
    private readonly client: pg.PoolClient,
    private readonly outbox: boolean,
    private readonly delivery: Delivery = { targets: [], severities: [] },
  ) {}

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values: readonly unknown[] = []): Promise<R[]> {
    return (await this.client.query<R>(sql, params(values))).rows;
  }

  /** Runs a COPY … FROM STDIN with these bytes as its input. */
  async copyIn(sql: string, data: Buffer): Promise<void> {
    const stream = this.client.query(copyFrom(sql));
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('finish', resolve);
      stream.end(data);
    });
  }

  /**
   * Locks the model's row until the transaction ends: every write to one model takes it first, so
   * writes to a model run one after another on every server. false: no such model.
   */
  async lockModel(name: string): Promise<boolean> {
    return (await this.query('SELECT 1 FROM models WHERE name = $1 FOR UPDATE', [name])).length === 1;
  }

  /** Inserts an alert on its own, queued for delivery as Effects does; answers its id. */
  async insertAlert(alert: AlertDraft, now: string): Promise<number> {
    const [row] = await this.query<{ id: number }>(
      `WITH inserted AS (
         INSERT INTO alerts (type, severity, model_name, version, message, details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, severity
       ), queued AS (${DELIVER('inserted', '$8', '$9', '$7::timestamptz')})
       SELECT id FROM inserted`,
      [
        alert.type,
        alert.severity,
        alert.name,
        alert.version,
        alert.message,
        alert.details ? JSON.stringify(alert.details) : null,
        now,
        this.delivery.targets,
        this.delivery.severities,
      ],
    );
    return row.id;
  }

  /** Rows this transaction adds beside its own: audit entries, alerts, outbox entries and a change notice, written in one statement. */
  effects(): Effects {
    return new Effects(this, this.outbox, this.delivery);
  }
}

/**
 * What a write adds to its transaction besides its own rows, collected and then written in one
 * statement (one round trip to the server, however many rows): audit entries in the order
 * given (the trail is read by id), alerts, MLflow outbox entries (when mirroring), a change
 * notice for every server (pg_notify, delivered on commit).
 */
export class Effects {
  private readonly audits: AuditDraft[] = [];
  private readonly alerts: Array<{ alert: AlertDraft; now: string }> = [];
  private readonly queued: Array<{ kind: OutboxKind; name: string; payload: Record<string, unknown>; now: string }> = [];
  private notice: string | null = null;

  constructor(
    private readonly tx: Tx,
    private readonly outbox: boolean,
    private readonly delivery: Delivery,
  ) {}

  audit(e: AuditDraft): this {
    this.audits.push(e);
    return this;
  }

  alert(alert: AlertDraft, now: string): this {
    this.alerts.push({ alert, now });
    return this;
  }

  enqueue(kind: OutboxKind, name: string, payload: Record<string, unknown>, now: string): this {
    if (this.outbox) this.queued.push({ kind, name, payload, now });
    return this;
  }

  /** Tells every server, when the transaction commits, that this model's registry or traffic state changed. */
  notify(name: string): this {
    this.notice = name;
    return this;
  }

  async write(): Promise<void> {
    const details = (e: AuditDraft) => {
      const d = auditDetails(e);
      return d ? JSON.stringify(d) : null;
    };
    const a = this.audits;
    const l = this.alerts;
    const o = this.queued;
    await this.tx.query(
      `WITH audit AS (
         INSERT INTO audit_log (model_name, version, action, from_stage, to_stage, actor, reason, details, created_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::json[], $9::timestamptz[])
       ), alerted AS (
         INSERT INTO alerts (type, severity, model_name, version, message, details, created_at)
         SELECT * FROM unnest($10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::json[], $16::timestamptz[])
         RETURNING id, severity, created_at
       ), delivered AS (${DELIVER('alerted', '$22', '$23', 'i.created_at')}
       ), queued AS (
         INSERT INTO mlflow_outbox (kind, model_name, payload, created_at)
         SELECT * FROM unnest($17::text[], $18::text[], $19::json[], $20::timestamptz[])
       )
       SELECT pg_notify('${CHANGES_CHANNEL}', $21) WHERE $21::text IS NOT NULL`,
      [
        a.map((e) => e.name),
        a.map((e) => e.version),
        a.map((e) => e.action),
        a.map((e) => e.from),
        a.map((e) => e.to),
        a.map((e) => e.who.actor),
        a.map((e) => e.who.reason ?? null),
        a.map(details),
        a.map((e) => e.now),
        l.map((x) => x.alert.type),
        l.map((x) => x.alert.severity),
        l.map((x) => x.alert.name),
        l.map((x) => x.alert.version),
        l.map((x) => x.alert.message),
        l.map((x) => (x.alert.details ? JSON.stringify(x.alert.details) : null)),
        l.map((x) => x.now),
        o.map((x) => x.kind),
        o.map((x) => x.name),
        o.map((x) => JSON.stringify(x.payload)),
        o.map((x) => x.now),
        this.notice,
        this.delivery.targets,
        this.delivery.severities,
      ],
    );
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
    private readonly delivery: Delivery = { targets: [], severities: [] },
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
        const result = await fn(new Tx(client, this.outbox, this.delivery));
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
