import type { Statement } from 'better-sqlite3';
import { isSqliteBusy } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Alert, AlertDraft, AlertSeverity } from '../monitoring/alert-types.js';
import type { DriftReference, DriftRun, FeatureSummary, ReferenceFeature } from '../monitoring/drift-types.js';
import type { Actor, AuditAction, AuditEntry, ModelSignature, ModelVersion, Stage, StageChange } from '../registry/types.js';
import type { Routing, TrafficConfig } from '../serving/traffic.js';
import type { WriterProgress } from '../serving/prediction-writer.js';
import { openDatabase, schemaVersion, type Db } from './database.js';

/** What the registry decides to insert, given the model's current versions; the store sets the rest. */
export type NewVersion = Omit<ModelVersion, 'seq' | 'stage' | 'createdAt' | 'updatedAt'>;

export type OutboxKind = 'register' | 'stage' | 'traffic' | 'drift_run';

export interface OutboxEntry {
  id: number;
  kind: OutboxKind;
  name: string;
  payload: Record<string, unknown>;
  createdAt: string;
  attempts: number;
  lastError: string | null;
}

export interface MlflowLink {
  mlflowName: string;
  mlflowVersion: string;
  runId: string | null;
}

export interface StoreOptions {
  /** Record every change in the MLflow outbox too (MLFLOW_TRACKING_URI is set). */
  mlflowOutbox?: boolean;
  now?: () => string;
}

/** A version's label and registration order: all that choosing a new label needs. */
export type VersionLabel = Pick<ModelVersion, 'version' | 'seq'>;

/** A model's state as the registry's rules read it. */
export interface ModelState {
  name: string;
  /** In registration order. */
  versions: ModelVersion[];
  /**
   * The version production had before the current one: the newest that an audit row moved into
   * production, other than the current production version and still registered (null if none).
   */
  previousProduction: string | null;
  /** The explicit traffic split, if one is set (else all traffic goes to production). */
  traffic: TrafficConfig | null;
}

/** The outcome of a stage rule: the changes to make, audited under one action, and alerts to raise. */
export interface StagePlan {
  action: AuditAction;
  changes: StageChange[];
  alerts: AlertDraft[];
  /** The change ends the model's explicit traffic split (traffic goes back to production). */
  clearTraffic?: boolean;
}

/** The outcome of a traffic rule: the split to store, and alerts to raise. */
export interface TrafficPlan {
  weights: Record<string, number>;
  routing: Routing;
  alerts: AlertDraft[];
}

/** Per-variant counts over the prediction log, aggregated in SQL. */
/** Predictions of a version, failed ones, and the sum and count of numeric outputs (for a mean). */
export interface VariantTally {
  count: number;
  errors: number;
  sum: number;
  n: number;
}

/** Logged features of one entry: `rows` rows of `width` values, row-major, in the version's feature order. */
export interface LoggedFeatures {
  version: string;
  rows: number;
  width: number;
  values: Float64Array;
}

/**
 * An entry's features (migration 8): float64s as a BLOB, or, for a row logged before it, a JSON
 * array. null for anything else (what a failed request sent is never read as features).
 */
function decodeFeatures(row: { version: string; row_count: number; width: number | null; features: Buffer | string }): LoggedFeatures | null {
  if (typeof row.features === 'string') {
    const values = JSON.parse(row.features) as unknown;
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'number')) return null;
    return { version: row.version, rows: 1, width: values.length, values: Float64Array.from(values as number[]) };
  }
  const width = row.width ?? 0;
  if (!width || row.features.byteLength !== row.row_count * width * 8) return null;
  return { version: row.version, rows: row.row_count, width, values: float64sOf(row.features) };
}

/** A BLOB's float64s, copied: a Float64Array cannot view a Buffer at an offset that is not a multiple of 8. */
const float64sOf = (blob: Buffer) => new Float64Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));

export interface VersionQuery {
  name?: string | undefined;
  stage?: Stage | undefined;
  createdBefore?: string | undefined;
  /** Keyset cursor: versions after this (name, seq). */
  after?: { name: string; seq: number } | undefined;
  limit: number;
}

export interface AlertQuery {
  since: string;
  severity?: AlertSeverity | undefined;
  name?: string | undefined;
  beforeId?: number | undefined;
  limit: number;
}

interface VersionRow {
  model_name: string;
  version: string;
  seq: number;
  stage: Stage;
  artifact_sha256: string;
  artifact_bytes: number;
  source_path: string | null;
  signature: string;
  feature_names: string | null;
  metrics: string;
  tags: string;
  description: string;
  created_at: string;
  updated_at: string;
}

interface AuditRow {
  id: number;
  model_name: string;
  version: string | null;
  action: AuditAction;
  from_stage: Stage | null;
  to_stage: Stage | null;
  actor: string;
  reason: string | null;
  details: string | null;
  created_at: string;
}

interface AlertRow {
  id: number;
  type: Alert['type'];
  severity: AlertSeverity;
  model_name: string | null;
  version: string | null;
  message: string;
  details: string | null;
  created_at: string;
}

/** How long a write waits for another writer's lock in all (then the caller gets a retryable busy error). */
export const WRITE_LOCK_WAIT_MS = 5000;
/** How long SQLite itself waits per attempt, blocking the event loop (see RegistryStore.transaction). */
export const WRITE_ATTEMPT_WAIT_MS = 10;

/** How stale routing may be about another process's registry changes (see changeToken). */
export const OTHER_PROCESS_CHECK_MS = 50;

const toVersion = (r: VersionRow): ModelVersion => ({
  name: r.model_name,
  version: r.version,
  seq: r.seq,
  stage: r.stage,
  artifactSha256: r.artifact_sha256,
  artifactBytes: r.artifact_bytes,
  sourcePath: r.source_path,
  signature: JSON.parse(r.signature) as ModelSignature,
  featureNames: r.feature_names === null ? null : (JSON.parse(r.feature_names) as string[]),
  metrics: JSON.parse(r.metrics) as Record<string, number>,
  tags: JSON.parse(r.tags) as Record<string, string>,
  description: r.description,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toAudit = (r: AuditRow): AuditEntry => ({
  id: r.id,
  name: r.model_name,
  version: r.version,
  action: r.action,
  fromStage: r.from_stage,
  toStage: r.to_stage,
  actor: r.actor,
  reason: r.reason,
  details: r.details === null ? null : (JSON.parse(r.details) as Record<string, unknown>),
  createdAt: r.created_at,
});

const toAlert = (r: AlertRow): Alert => ({
  id: r.id,
  type: r.type,
  severity: r.severity,
  name: r.model_name,
  version: r.version,
  message: r.message,
  details: r.details === null ? undefined : (JSON.parse(r.details) as Record<string, unknown>),
  createdAt: r.created_at,
});

/** Moving out of production must happen before moving in: the one-production index checks each row. */
const leavingProductionFirst = (a: StageChange, b: StageChange) => Number(b.from === 'production') - Number(a.from === 'production');

/**
 * Owns every SQL statement. Each method is one whole operation and one transaction. Methods
 * return Promises although better-sqlite3 answers at once, so that a store for a shared
 * database (PostgreSQL) can implement the same interface without touching the domain.
 */
export class RegistryStore {
  private readonly q: Record<string, Statement>;
  /** Registry writes made through this connection (SQLite's data_version counts only other connections'). */
  private localWrites = 0;
  private dataVersion = 0;
  private dataVersionReadAt = Number.NEGATIVE_INFINITY;

  private readonly now: () => string;
  private readonly outbox: boolean;

  private constructor(
    private readonly db: Db,
    options: StoreOptions,
  ) {
    this.now = options.now ?? (() => new Date().toISOString());
    this.outbox = options.mlflowOutbox ?? false;
    this.q = {
      model: db.prepare('SELECT name FROM models WHERE name = ?'),
      modelNames: db.prepare('SELECT name FROM models ORDER BY name').pluck(),
      insertModel: db.prepare('INSERT INTO models (name, created_at, updated_at) VALUES (?, ?, ?)'),
      touchModel: db.prepare('UPDATE models SET updated_at = ? WHERE name = ?'),
      versionsOf: db.prepare('SELECT * FROM model_versions WHERE model_name = ? ORDER BY seq'),
      version: db.prepare('SELECT * FROM model_versions WHERE model_name = ? AND version = ?'),
      insertVersion: db.prepare(`INSERT INTO model_versions
        (model_name, version, seq, stage, artifact_sha256, artifact_bytes, source_path, signature, feature_names,
         metrics, tags, description, created_at, updated_at)
        VALUES (@name, @version, @seq, 'none', @sha, @bytes, @source, @signature, @features, @metrics, @tags, @description, @now, @now)`),
      setStage: db.prepare('UPDATE model_versions SET stage = ?, updated_at = ? WHERE model_name = ? AND version = ? AND stage = ?'),
      insertAudit: db.prepare(`INSERT INTO audit_log (model_name, version, action, from_stage, to_stage, actor, reason, details, created_at)
        VALUES (@name, @version, @action, @from, @to, @actor, @reason, @details, @now)`),
      // Newest first along audit_log_production (migration 9): a few rows back at most, however
      // long the trail (it read every promotion of the model on each stage change: 40 ms after
      // 4 000 of them).
      previousProduction: db
        .prepare(
          `SELECT a.version FROM audit_log a
           WHERE a.model_name = ? AND a.to_stage = 'production' AND a.version IS NOT NULL AND a.version <> ?
             AND EXISTS (SELECT 1 FROM model_versions v WHERE v.model_name = a.model_name AND v.version = a.version)
           ORDER BY a.id DESC LIMIT 1`,
        )
        .pluck(),
      insertAlert: db.prepare(`INSERT INTO alerts (type, severity, model_name, version, message, details, created_at)
        VALUES (@type, @severity, @name, @version, @message, @details, @now)`),
      stageCounts: db.prepare('SELECT stage, COUNT(*) AS n FROM model_versions GROUP BY stage'),
      traffic: db.prepare('SELECT weights, routing, updated_at FROM traffic_configs WHERE model_name = ?'),
      allTraffic: db.prepare('SELECT model_name, weights, routing, updated_at FROM traffic_configs ORDER BY model_name'),
      upsertTraffic: db.prepare(`INSERT INTO traffic_configs (model_name, weights, routing, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (model_name) DO UPDATE SET weights = excluded.weights, routing = excluded.routing, updated_at = excluded.updated_at`),
      deleteTraffic: db.prepare('DELETE FROM traffic_configs WHERE model_name = ?'),
      artifactShas: db.prepare('SELECT DISTINCT artifact_sha256 AS sha FROM model_versions'),
      versionsWithArtifact: db.prepare('SELECT model_name AS name, version FROM model_versions WHERE artifact_sha256 = ? ORDER BY model_name, seq'),
      writerProgress: db.prepare('SELECT batch, entries FROM prediction_log_progress WHERE writer = ?'),
      minutesAfter: db.prepare(
        'SELECT version, SUM(count) AS n, SUM(errors) AS errors, SUM(value_sum) AS value_sum, SUM(value_n) AS value_n FROM prediction_minutes WHERE model_name = ? AND minute > ? GROUP BY version',
      ),
      secondsWithin: db.prepare(
        'SELECT version, SUM(count) AS n, SUM(errors) AS errors, SUM(value_sum) AS value_sum, SUM(value_n) AS value_n FROM prediction_seconds WHERE model_name = ? AND second > ? AND second < ? GROUP BY version',
      ),
      partialSecond: db.prepare(
        'SELECT version, SUM(row_count) AS n, SUM((1 - ok) * row_count) AS errors, SUM(value_sum) AS value_sum, SUM(value_n) AS value_n FROM predictions WHERE model_name = ? AND created_at >= ? AND created_at < ? GROUP BY version',
      ),
      // From the newest entry's end to the oldest's start in row_offset, not SUM(row_count) (a scan
      // of the whole log): entries are deleted from the old end (trimming by count, and by age,
      // which follows seq but for a straggler), so that is the count or a few over. Each end is
      // found by MIN or MAX of the key alone (SQLite reads that from one end of the B-tree).
      countPredictions: db.prepare(
        `SELECT coalesce((SELECT row_offset + row_count FROM predictions WHERE seq = (SELECT MAX(seq) FROM predictions))
           - (SELECT row_offset FROM predictions WHERE seq = (SELECT MIN(seq) FROM predictions)), 0) AS n`,
      ),
      ping: db.prepare('SELECT 1 AS ok'),
      enqueue: db.prepare('INSERT INTO mlflow_outbox (kind, model_name, payload, created_at) VALUES (?, ?, ?, ?)'),
      outboxPeek: db.prepare('SELECT * FROM mlflow_outbox ORDER BY id LIMIT ?'),
      outboxDone: db.prepare('DELETE FROM mlflow_outbox WHERE id = ?'),
      outboxFailed: db.prepare('UPDATE mlflow_outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?'),
      outboxStats: db.prepare('SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM mlflow_outbox'),
      outboxLastError: db.prepare('SELECT last_error FROM mlflow_outbox WHERE last_error IS NOT NULL ORDER BY id LIMIT 1'),
      link: db.prepare('SELECT mlflow_name, mlflow_version, run_id FROM mlflow_links WHERE model_name = ? AND version = ?'),
      setLink: db.prepare(`INSERT INTO mlflow_links (model_name, version, mlflow_name, mlflow_version, run_id) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (model_name, version) DO UPDATE SET mlflow_name = excluded.mlflow_name, mlflow_version = excluded.mlflow_version, run_id = excluded.run_id`),
      labels: db.prepare('SELECT version, seq FROM model_versions WHERE model_name = ? ORDER BY seq'),
      deleteReference: db.prepare('DELETE FROM drift_references WHERE model_name = ? AND version = ?'),
      insertReference: db.prepare('INSERT INTO drift_references (model_name, version, source, rows, created_at) VALUES (?, ?, ?, ?, ?)'),
      insertReferenceFeature: db.prepare(
        'INSERT INTO drift_reference_features (model_name, version, feature, n, sorted_values, summary) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      reference: db.prepare('SELECT source, rows, created_at FROM drift_references WHERE model_name = ? AND version = ?'),
      referenceFeatures: db.prepare('SELECT feature, n, sorted_values, summary FROM drift_reference_features WHERE model_name = ? AND version = ? ORDER BY rowid'),
      referenceCount: db.prepare('SELECT COUNT(*) AS n FROM drift_references'),
      insertDriftRun: db.prepare(`INSERT INTO drift_runs (id, model_name, version, source, dataset_drift, drifted_share, result, actor, created_at)
        VALUES (@id, @name, @version, @source, @datasetDrift, @driftedShare, @result, @actor, @createdAt)`),
      driftRun: db.prepare('SELECT result FROM drift_runs WHERE id = ?'),
      latestDriftRun: db.prepare('SELECT result FROM drift_runs WHERE model_name = ? ORDER BY created_at DESC, rowid DESC LIMIT 1'),
      latestDriftRunAny: db.prepare('SELECT result FROM drift_runs ORDER BY created_at DESC, rowid DESC LIMIT 1'),
      latestDriftRunsPerModel: db.prepare(
        'SELECT result FROM drift_runs d WHERE rowid = (SELECT rowid FROM drift_runs WHERE model_name = d.model_name ORDER BY created_at DESC, rowid DESC LIMIT 1)',
      ),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      versionsOnly: db.prepare('SELECT * FROM model_versions WHERE model_name = ? ORDER BY seq'),
    };
  }

  static open(dbPath: string, logger: Logger, options: StoreOptions = {}): RegistryStore {
    const db = openDatabase(dbPath, logger);
    // Migrations (at start) waited up to 5 s in SQLite itself; from here writes wait on timers.
    db.pragma(`busy_timeout = ${WRITE_ATTEMPT_WAIT_MS}`);
    return new RegistryStore(db, options);
  }

  schemaVersion(): number {
    return schemaVersion(this.db);
  }

  /** The connection's durability settings, as SQLite reports them. */
  settings(): { journalMode: string; synchronous: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA'; busyTimeoutMs: number } {
    const synchronous = (['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const)[this.db.pragma('synchronous', { simple: true }) as number];
    return {
      journalMode: this.db.pragma('journal_mode', { simple: true }) as string,
      synchronous,
      busyTimeoutMs: this.db.pragma('busy_timeout', { simple: true }) as number,
    };
  }

  /**
   * Changes whenever the registry may have changed, here or in another process: a cache of
   * registry state is valid while this token stays the same.
   */
  changeToken(): number {
    // Reading data_version takes a WAL read lock (two system calls, ~10 µs): on the predict
    // path that is more than the model run, so another process's commits are looked for at
    // most every OTHER_PROCESS_CHECK_MS. This process's own writes count at once.
    const now = performance.now();
    if (now - this.dataVersionReadAt >= OTHER_PROCESS_CHECK_MS) {
      this.dataVersion = this.q.dataVersion.get() as number;
      this.dataVersionReadAt = now;
    }
    // Both counters only grow, so this sum grows whenever either does: a number, not a string
    // to build and compare on every prediction.
    return this.dataVersion * 2 ** 20 + this.localWrites;
  }

  /** What routing needs of a model: its versions and traffic split (undefined: no such model). */
  async servingState(name: string): Promise<{ versions: ModelVersion[]; traffic: TrafficConfig | null } | undefined> {
    const versions = (this.q.versionsOnly.all(name) as VersionRow[]).map(toVersion);
    if (!versions.length) return undefined;
    return { versions, traffic: this.readTraffic(name) };
  }

  async ping(): Promise<void> {
    this.q.ping.get();
  }

  async modelState(name: string): Promise<ModelState | undefined> {
    return this.readModelState(name);
  }

  async modelNames(): Promise<string[]> {
    return this.q.modelNames.all() as string[];
  }

  async versionLabels(name: string): Promise<VersionLabel[]> {
    return this.q.labels.all(name) as VersionLabel[];
  }

  async getVersion(name: string, version: string): Promise<ModelVersion | undefined> {
    const row = this.q.version.get(name, version) as VersionRow | undefined;
    return row && toVersion(row);
  }

  async listVersions(query: VersionQuery): Promise<ModelVersion[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: query.limit };
    if (query.name !== undefined) (where.push('model_name = @name'), (params.name = query.name));
    if (query.stage !== undefined) (where.push('stage = @stage'), (params.stage = query.stage));
    if (query.createdBefore !== undefined) (where.push('created_at < @before'), (params.before = query.createdBefore));
    if (query.after !== undefined) {
      where.push('(model_name > @afterName OR (model_name = @afterName AND seq > @afterSeq))');
      params.afterName = query.after.name;
      params.afterSeq = query.after.seq;
    }
    const sql = `SELECT * FROM model_versions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY model_name, seq LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as VersionRow[]).map(toVersion);
  }

  async stageCounts(): Promise<Record<Stage, number>> {
    const counts: Record<Stage, number> = { none: 0, staging: 0, production: 0, archived: 0 };
    for (const r of this.q.stageCounts.all() as Array<{ stage: Stage; n: number }>) counts[r.stage] = r.n;
    return counts;
  }

  /**
   * Registers a version in one transaction: `decide` sees the model's current versions (empty for
   * a new model) and returns the row to insert, or throws a domain error; the audit row is
   * written with it.
   */
  async registerVersion(name: string, decide: (existing: VersionLabel[]) => NewVersion, who: Actor, link?: MlflowLink): Promise<ModelVersion> {
    const run = this.transaction(() => {
      const existing = this.q.labels.all(name) as VersionLabel[];
      const draft = decide(existing);
      const now = this.now();
      if (!this.q.model.get(name)) this.q.insertModel.run(name, now, now);
      else this.q.touchModel.run(now, name);
      const seq = existing.reduce((m, v) => Math.max(m, v.seq), 0) + 1;
      this.q.insertVersion.run({
        name,
        version: draft.version,
        seq,
        sha: draft.artifactSha256,
        bytes: draft.artifactBytes,
        source: draft.sourcePath,
        signature: JSON.stringify(draft.signature),
        features: draft.featureNames && JSON.stringify(draft.featureNames),
        metrics: JSON.stringify(draft.metrics),
        tags: JSON.stringify(draft.tags),
        description: draft.description,
        now,
      });
      this.audit({ name, version: draft.version, action: 'register', from: null, to: 'none', who, now, details: { sha256: draft.artifactSha256, ...(link ? { mlflow: `models:/${link.mlflowName}/${link.mlflowVersion}` } : {}) } });
      // A version imported from MLflow is already there: link it instead of pushing it.
      if (link) this.q.setLink.run(name, draft.version, link.mlflowName, link.mlflowVersion, link.runId);
      else this.enqueue('register', name, { version: draft.version }, now);
      this.localWrites++;
      return toVersion(this.q.version.get(name, draft.version) as VersionRow);
    });
    return run.immediate();
  }

  /**
   * Changes stages in one transaction: `plan` applies the registry's rules to the model's state
   * as it is inside the transaction (so concurrent changes cannot interleave), and every change,
   * its audit rows and its alerts are written together or not at all.
   */
  async changeStages(name: string, plan: (state: ModelState) => StagePlan, who: Actor): Promise<StagePlan> {
    const run = this.transaction(() => {
      const state = this.readModelState(name);
      if (!state) throw new Error(`changeStages: model ${name} vanished`); // callers check existence first
      const decided = plan(state);
      const now = this.now();
      for (const change of [...decided.changes].sort(leavingProductionFirst)) {
        const res = this.q.setStage.run(change.to, now, name, change.version, change.from);
        if (res.changes !== 1) throw new Error(`stage of ${name} ${change.version} is not ${change.from}`);
      }
      for (const change of decided.changes) {
        this.audit({ name, version: change.version, action: decided.action, from: change.from, to: change.to, who, now });
        this.enqueue('stage', name, { ...change, action: decided.action, actor: who.actor, reason: who.reason ?? null }, now);
      }
      for (const alert of decided.alerts) this.writeAlert(alert, now);
      if (decided.clearTraffic && state.traffic) {
        this.q.deleteTraffic.run(name);
        this.enqueue('traffic', name, { weights: null, routing: null }, now);
        this.audit({ name, version: null, action: 'configure_traffic', from: null, to: null, who, now, details: { before: state.traffic.weights, after: null } });
      }
      if (decided.changes.length) this.q.touchModel.run(now, name);
      this.localWrites++;
      return decided;
    });
    return run.immediate();
  }

  /**
   * Sets a model's traffic split in one transaction: `plan` validates it against the model's
   * state inside the transaction; the split, its audit row (weights before and after) and its
   * alerts are written together.
   */
  async setTraffic(name: string, plan: (state: ModelState) => TrafficPlan, who: Actor): Promise<{ plan: TrafficPlan; before: TrafficConfig | null; config: TrafficConfig }> {
    const run = this.transaction(() => {
      const state = this.readModelState(name);
      if (!state) throw new Error(`setTraffic: model ${name} vanished`); // callers check existence first
      const decided = plan(state);
      const now = this.now();
      this.q.upsertTraffic.run(name, JSON.stringify(decided.weights), decided.routing, now);
      this.enqueue('traffic', name, { weights: decided.weights, routing: decided.routing, before: state.traffic?.weights ?? null }, now);
      this.audit({
        name,
        version: null,
        action: 'configure_traffic',
        from: null,
        to: null,
        who,
        now,
        details: { before: state.traffic?.weights ?? null, after: decided.weights, routing: decided.routing },
      });
      for (const alert of decided.alerts) this.writeAlert(alert, now);
      this.localWrites++;
      return { plan: decided, before: state.traffic, config: { weights: decided.weights, routing: decided.routing, updatedAt: now } };
    });
    return run.immediate();
  }

  /** Records a write that the safety rules refused or a person declined: asked, by whom, and what came of it. */
  async recordRefusal(name: string, version: string | null, who: Actor, details: Record<string, unknown>): Promise<void> {
    const run = this.transaction(() => this.audit({ name, version, action: 'refused', from: null, to: null, who, now: this.now(), details }));
    await run.immediate();
  }

  async trafficConfigs(): Promise<Array<{ name: string; config: TrafficConfig }>> {
    const rows = this.q.allTraffic.all() as Array<{ model_name: string; weights: string; routing: Routing; updated_at: string }>;
    return rows.map((r) => ({ name: r.model_name, config: { weights: JSON.parse(r.weights) as Record<string, number>, routing: r.routing, updatedAt: r.updated_at } }));
  }

  /**
   * Per version, the predictions logged at or after `since` (an ISO time), and the progress row of
   * prediction-log writer `writerId`, read in one snapshot: the counts hold exactly the
   * predictions that row says are written. Synchronous, unlike the store's other reads: the
   * caller adds what the writer has not written from memory in the same step, before a reply
   * from the writer can change it.
   */
  variantTallies(name: string, since: string, writerId: string): { tallies: Map<string | null, VariantTally>; progress: WriterProgress | null } {
    return this.db
      .transaction(() => ({
        tallies: this.tallies(name, since),
        progress: this.writerProgress(writerId),
      }))
      .deferred();
  }

  /**
   * Whole minutes after since's minute from prediction_minutes, whole seconds after since's
   * second within that minute from prediction_seconds, and the rest of since's own second from
   * the log itself.
   */
  private tallies(name: string, since: string): Map<string | null, VariantTally> {
    const minute = since.slice(0, 16);
    const second = since.slice(0, 19);
    const nextSecond = new Date(Date.parse(`${second}.000Z`) + 1000).toISOString();
    type Part = { version: string | null; n: number; errors: number; value_sum: number | null; value_n: number };
    const parts = [
      ...(this.q.minutesAfter.all(name, minute) as Part[]),
      ...(this.q.secondsWithin.all(name, second, `${minute}:99`) as Part[]),
      ...(this.q.partialSecond.all(name, since, nextSecond) as Part[]),
    ];
    const byVersion = new Map<string | null, VariantTally>();
    for (const p of parts) {
      const key = p.version === '' ? null : p.version;
      const v = byVersion.get(key) ?? { count: 0, errors: 0, sum: 0, n: 0 };
      v.count += p.n;
      v.errors += p.errors;
      v.sum += p.value_sum ?? 0;
      v.n += p.value_n;
      byVersion.set(key, v);
    }
    return byVersion;
  }

  /** The sha256 of every artifact a version row names (rows are never deleted). */
  referencedArtifacts(): Set<string> {
    return new Set((this.q.artifactShas.all() as Array<{ sha: string }>).map((r) => r.sha));
  }

  /** How far a prediction-log writer's committed transactions got (its prediction_log_progress row). */
  writerProgress(writerId: string): WriterProgress | null {
    return (this.q.writerProgress.get(writerId) as WriterProgress | undefined) ?? null;
  }

  /** Every version, of any model, registered with these ONNX bytes (they share one loaded session). */
  versionsWithArtifact(sha256: string): Array<{ name: string; version: string }> {
    return this.q.versionsWithArtifact.all(sha256) as Array<{ name: string; version: string }>;
  }

  async predictionCount(): Promise<number> {
    return (this.q.countPredictions.get() as { n: number }).n;
  }

  /**
   * Replaces a model's (or version's) drift reference in one transaction: the old reference and
   * its features go, the new ones arrive, with an audit row.
   */
  async replaceReference(name: string, version: string | null, source: string, rows: number, features: readonly ReferenceFeature[], who: Actor): Promise<string> {
    const key = version ?? '';
    const run = this.transaction(() => {
      const now = this.now();
      const before = this.q.reference.get(name, key) as { rows: number } | undefined;
      this.q.deleteReference.run(name, key);
      this.q.insertReference.run(name, key, source, rows, now);
      for (const f of features) {
        const blob = Buffer.from(f.sorted.buffer, f.sorted.byteOffset, f.sorted.byteLength);
        this.q.insertReferenceFeature.run(name, key, f.feature, f.sorted.length, blob, JSON.stringify(f.summary));
      }
      this.audit({
        name,
        version,
        action: 'set_drift_reference',
        from: null,
        to: null,
        who,
        now,
        details: { source, rows, features: features.map((f) => f.feature), replaced_rows: before?.rows ?? null },
      });
      return now;
    });
    return run.immediate();
  }

  async getReference(name: string, version: string | null): Promise<DriftReference | undefined> {
    const key = version ?? '';
    const head = this.q.reference.get(name, key) as { source: string; rows: number; created_at: string } | undefined;
    if (!head) return undefined;
    const features = (this.q.referenceFeatures.all(name, key) as Array<{ feature: string; sorted_values: Buffer; summary: string }>).map((r) => ({
      feature: r.feature,
      sorted: float64sOf(r.sorted_values),
      summary: JSON.parse(r.summary) as FeatureSummary,
    }));
    return { name, version, source: head.source, rows: head.rows, createdAt: head.created_at, features };
  }

  async referenceCount(): Promise<number> {
    return (this.q.referenceCount.get() as { n: number }).n;
  }

  /** Stores a drift run and the alerts it raises, together. */
  async insertDriftRun(run: DriftRun, alerts: readonly AlertDraft[]): Promise<void> {
    const tx = this.transaction(() => {
      this.q.insertDriftRun.run({
        id: run.id,
        name: run.name,
        version: run.version,
        source: run.source,
        datasetDrift: run.datasetDrift ? 1 : 0,
        driftedShare: run.driftedShare,
        result: JSON.stringify(run),
        actor: run.actor,
        createdAt: run.createdAt,
      });
      for (const a of alerts) this.writeAlert(a, run.createdAt);
      this.enqueue('drift_run', run.name, { runId: run.id }, run.createdAt);
    });
    await tx.immediate();
  }

  async getDriftRun(id: string): Promise<DriftRun | undefined> {
    const row = this.q.driftRun.get(id) as { result: string } | undefined;
    return row && (JSON.parse(row.result) as DriftRun);
  }

  async latestDriftRun(name?: string): Promise<DriftRun | undefined> {
    const row = (name === undefined ? this.q.latestDriftRunAny.get() : this.q.latestDriftRun.get(name)) as { result: string } | undefined;
    return row && (JSON.parse(row.result) as DriftRun);
  }

  /** The newest drift run of each model. */
  async latestDriftRuns(): Promise<DriftRun[]> {
    return (this.q.latestDriftRunsPerModel.all() as Array<{ result: string }>).map((r) => JSON.parse(r.result) as DriftRun);
  }

  /**
   * Logged features of successful predictions, newest first: the last `lastN`, or since a
   * time, optionally of one version. Each entry's rows come row-major in the version's feature
   * order (a batch entry's newest rows are its last; past lastN only those are kept).
   */
  async loggedFeatures(name: string, options: { version?: string | undefined; since?: string | undefined; lastN?: number | undefined }): Promise<LoggedFeatures[]> {
    const where = ['model_name = @name', 'ok = 1', 'features IS NOT NULL'];
    const params: Record<string, unknown> = { name };
    if (options.version !== undefined) (where.push('version = @version'), (params.version = options.version));
    if (options.since !== undefined) (where.push('created_at >= @since'), (params.since = options.since));
    const sql = `SELECT version, row_count, width, features FROM predictions WHERE ${where.join(' AND ')} ORDER BY created_at DESC, seq DESC`;
    const out: LoggedFeatures[] = [];
    let left = options.lastN ?? Number.POSITIVE_INFINITY;
    for (const row of this.db.prepare(sql).iterate(params) as Iterable<{ version: string; row_count: number; width: number | null; features: Buffer | string }>) {
      if (left <= 0) break;
      const entry = decodeFeatures(row);
      if (!entry) continue;
      const keep = Math.min(entry.rows, left);
      out.push(keep === entry.rows ? entry : { ...entry, rows: keep, values: entry.values.subarray((entry.rows - keep) * entry.width) });
      left -= keep;
    }
    return out;
  }

  /** The oldest pending MLflow changes, in the order they were made. */
  async outboxPeek(limit: number): Promise<OutboxEntry[]> {
    const rows = this.q.outboxPeek.all(limit) as Array<{ id: number; kind: OutboxKind; model_name: string; payload: string; created_at: string; attempts: number; last_error: string | null }>;
    return rows.map((r) => ({ id: r.id, kind: r.kind, name: r.model_name, payload: JSON.parse(r.payload) as Record<string, unknown>, createdAt: r.created_at, attempts: r.attempts, lastError: r.last_error }));
  }

  async outboxDone(id: number, link?: { name: string; version: string } & MlflowLink): Promise<void> {
    const run = this.transaction(() => {
      if (link) this.q.setLink.run(link.name, link.version, link.mlflowName, link.mlflowVersion, link.runId);
      this.q.outboxDone.run(id);
    });
    await run.immediate();
  }

  async outboxFailed(id: number, error: string): Promise<void> {
    await this.transaction(() => this.q.outboxFailed.run(error.slice(0, 500), id)).immediate();
  }

  async outboxStats(): Promise<{ pending: number; oldestCreatedAt: string | null; lastError: string | null }> {
    const s = this.q.outboxStats.get() as { n: number; oldest: string | null };
    const e = this.q.outboxLastError.get() as { last_error: string } | undefined;
    return { pending: s.n, oldestCreatedAt: s.oldest, lastError: e?.last_error ?? null };
  }

  async mlflowLink(name: string, version: string): Promise<MlflowLink | undefined> {
    const r = this.q.link.get(name, version) as { mlflow_name: string; mlflow_version: string; run_id: string | null } | undefined;
    return r && { mlflowName: r.mlflow_name, mlflowVersion: r.mlflow_version, runId: r.run_id };
  }

  async setMlflowLink(name: string, version: string, link: MlflowLink): Promise<void> {
    await this.transaction(() => this.q.setLink.run(name, version, link.mlflowName, link.mlflowVersion, link.runId)).immediate();
  }

  async history(
    name: string,
    options: { beforeId?: number | undefined; limit: number; actor?: string | undefined; since?: string | undefined },
  ): Promise<AuditEntry[]> {
    const where = ['model_name = @name', 'id < @beforeId'];
    const params: Record<string, unknown> = { name, beforeId: options.beforeId ?? Number.MAX_SAFE_INTEGER, limit: options.limit };
    if (options.actor !== undefined) (where.push('actor = @actor'), (params.actor = options.actor));
    if (options.since !== undefined) (where.push('created_at >= @since'), (params.since = options.since));
    const sql = `SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as AuditRow[]).map(toAudit);
  }

  async insertAlert(alert: AlertDraft): Promise<Alert> {
    const now = this.now();
    const id = await this.transaction(() => this.writeAlert(alert, now)).immediate();
    return { ...alert, id, createdAt: now };
  }

  async listAlerts(query: AlertQuery): Promise<Alert[]> {
    const where = ['created_at >= @since', 'id < @beforeId'];
    const params: Record<string, unknown> = { since: query.since, beforeId: query.beforeId ?? Number.MAX_SAFE_INTEGER, limit: query.limit };
    if (query.severity !== undefined) (where.push('severity = @severity'), (params.severity = query.severity));
    if (query.name !== undefined) (where.push('model_name = @name'), (params.name = query.name));
    const sql = `SELECT * FROM alerts WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as AlertRow[]).map(toAlert);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private readModelState(name: string): ModelState | undefined {
    if (!this.q.model.get(name)) return undefined;
    const versions = (this.q.versionsOf.all(name) as VersionRow[]).map(toVersion);
    const current = versions.find((v) => v.stage === 'production');
    return {
      name,
      versions,
      previousProduction: current ? ((this.q.previousProduction.get(name, current.version) as string | undefined) ?? null) : null,
      traffic: this.readTraffic(name),
    };
  }

  private readTraffic(name: string): TrafficConfig | null {
    const row = this.q.traffic.get(name) as { weights: string; routing: Routing; updated_at: string } | undefined;
    return row ? { weights: JSON.parse(row.weights) as Record<string, number>, routing: row.routing, updatedAt: row.updated_at } : null;
  }

  private audit(e: {
    name: string;
    version: string | null;
    action: AuditAction;
    from: Stage | null;
    to: Stage | null;
    who: Actor;
    now: string;
    details?: Record<string, unknown>;
  }): void {
    const details = e.who.approvedBy ? { ...e.details, approved_by: e.who.approvedBy } : e.details;
    this.q.insertAudit.run({
      name: e.name,
      version: e.version,
      action: e.action,
      from: e.from,
      to: e.to,
      actor: e.who.actor,
      reason: e.who.reason ?? null,
      details: details ? JSON.stringify(details) : null,
      now: e.now,
    });
  }

  /**
   * A write transaction whose immediate() waits for another writer's lock off the event loop:
   * SQLite's own busy wait (the connection's busy timeout) blocks the thread, and with it every
   * request, so the connection waits only WRITE_ATTEMPT_WAIT_MS per attempt and the retries
   * sleep on timers, up to WRITE_LOCK_WAIT_MS in all; then SQLITE_BUSY reaches the caller.
   */
  private transaction<T>(fn: () => T): { immediate(): Promise<T> } {
    const tx = this.db.transaction(fn);
    return {
      immediate: async () => {
        const deadline = performance.now() + WRITE_LOCK_WAIT_MS;
        for (let pause = 2; ; pause = Math.min(2 * pause, 50)) {
          try {
            return tx.immediate();
          } catch (e) {
            if (!isSqliteBusy(e) || performance.now() + pause > deadline) throw e;
          }
          await new Promise((resolve) => setTimeout(resolve, pause));
        }
      },
    };
  }

  private enqueue(kind: OutboxKind, name: string, payload: Record<string, unknown>, now: string): void {
    if (this.outbox) this.q.enqueue.run(kind, name, JSON.stringify(payload), now);
  }

  private writeAlert(alert: AlertDraft, now: string): number {
    const res = this.q.insertAlert.run({
      type: alert.type,
      severity: alert.severity,
      name: alert.name,
      version: alert.version,
      message: alert.message,
      details: alert.details ? JSON.stringify(alert.details) : null,
      now,
    });
    return Number(res.lastInsertRowid);
  }
}
