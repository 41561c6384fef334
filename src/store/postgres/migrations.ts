import type pg from 'pg';
import type { Logger } from '../../logger.js';

/**
 * PostgreSQL's numbered migrations. Append only: a released migration is never edited, a change
 * is a new entry. schema_migrations holds one row per migration applied. Migration 1 is the
 * schema SQLite reached at its migration 10, in PostgreSQL's own types.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'baseline',
    sql: `
      -- Names and labels compare byte by byte (COLLATE "C"), as on SQLite, whatever the
      -- database's locale: list order and keyset cursors agree on both engines.
      CREATE TABLE models (
        name        text COLLATE "C" PRIMARY KEY,
        created_at  timestamptz NOT NULL,
        updated_at  timestamptz NOT NULL
      );

      -- JSON columns are json, not jsonb: the text is kept as written, so a traffic split's
      -- weights keep their order (routing walks them in that order) and every answer reads
      -- back byte for byte what SQLite would give.
      CREATE TABLE model_versions (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        model_name      text COLLATE "C" NOT NULL REFERENCES models (name),
        version         text COLLATE "C" NOT NULL,
        seq             integer NOT NULL,
        stage           text NOT NULL CHECK (stage IN ('none', 'staging', 'production', 'archived')),
        artifact_sha256 text NOT NULL,
        artifact_bytes  bigint NOT NULL,
        source_path     text,
        signature       json NOT NULL,
        feature_names   json,
        metrics         json NOT NULL DEFAULT '{}',
        tags            json NOT NULL DEFAULT '{}',
        description     text NOT NULL DEFAULT '',
        created_at      timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL,
        UNIQUE (model_name, version),
        UNIQUE (model_name, seq)
      );
      -- At most one production version per model, enforced by the database itself.
      CREATE UNIQUE INDEX model_versions_one_production ON model_versions (model_name) WHERE stage = 'production';
      CREATE INDEX model_versions_artifact ON model_versions (artifact_sha256);
      CREATE INDEX model_versions_stage ON model_versions (stage);

      CREATE TABLE audit_log (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        model_name  text COLLATE "C" NOT NULL,
        version     text,
        action      text NOT NULL,
        from_stage  text,
        to_stage    text,
        actor       text NOT NULL,
        reason      text,
        details     json,
        created_at  timestamptz NOT NULL
      );
      CREATE INDEX audit_log_model ON audit_log (model_name, id);
      CREATE INDEX audit_log_production ON audit_log (model_name, id) WHERE to_stage = 'production';

      CREATE TABLE alerts (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        type        text NOT NULL,
        severity    text NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
        model_name  text COLLATE "C",
        version     text,
        message     text NOT NULL,
        details     json,
        created_at  timestamptz NOT NULL
      );
      CREATE INDEX alerts_created ON alerts (created_at);

      CREATE TABLE traffic_configs (
        model_name  text COLLATE "C" PRIMARY KEY REFERENCES models (name),
        weights     json NOT NULL,
        routing     text NOT NULL CHECK (routing IN ('random', 'sticky')),
        updated_at  timestamptz NOT NULL
      );

      -- version '' is the model-wide reference; a version label scopes it to that version.
      CREATE TABLE drift_references (
        model_name  text COLLATE "C" NOT NULL REFERENCES models (name),
        version     text NOT NULL,
        source      text NOT NULL,
        rows        integer NOT NULL,
        created_at  timestamptz NOT NULL,
        PRIMARY KEY (model_name, version)
      );
      -- Each feature's reference values, sorted once when stored, as float64s (little-endian).
      CREATE TABLE drift_reference_features (
        model_name    text COLLATE "C" NOT NULL,
        version       text NOT NULL,
        position      integer NOT NULL,
        feature       text NOT NULL,
        n             integer NOT NULL,
        sorted_values bytea NOT NULL,
        summary       json NOT NULL,
        PRIMARY KEY (model_name, version, feature),
        FOREIGN KEY (model_name, version) REFERENCES drift_references (model_name, version) ON DELETE CASCADE
      );
      CREATE TABLE drift_runs (
        seq           bigint GENERATED ALWAYS AS IDENTITY,
        id            text PRIMARY KEY,
        model_name    text COLLATE "C" NOT NULL,
        version       text,
        source        text NOT NULL,
        dataset_drift boolean NOT NULL,
        drifted_share double precision NOT NULL,
        result        json NOT NULL,
        actor         text NOT NULL,
        created_at    timestamptz NOT NULL
      );
      CREATE INDEX drift_runs_model_time ON drift_runs (model_name, created_at DESC, seq DESC);
      CREATE INDEX drift_runs_time ON drift_runs (created_at DESC, seq DESC);

      -- Changes to mirror into MLflow, written in the same transaction as the change itself.
      CREATE TABLE mlflow_outbox (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind        text NOT NULL CHECK (kind IN ('register', 'stage', 'traffic', 'drift_run')),
        model_name  text COLLATE "C" NOT NULL,
        payload     json NOT NULL,
        created_at  timestamptz NOT NULL,
        attempts    integer NOT NULL DEFAULT 0,
        last_error  text
      );
      CREATE TABLE mlflow_links (
        model_name     text COLLATE "C" NOT NULL,
        version        text NOT NULL,
        mlflow_name    text NOT NULL,
        mlflow_version text NOT NULL,
        run_id         text,
        PRIMARY KEY (model_name, version)
      );

      -- The prediction log: one row per entry (a predict call's prediction, or the rows of a
      -- batch one version served; row j of a batch entry is prediction <id>:<row_indices[j]>),
      -- partitioned by day of created_at (UTC) so that retention drops whole partitions. Every
      -- server's writer copies its entries in; nothing is a counter all writers update.
      --   row_indices  int32s (little-endian), one per row; NULL for a single prediction
      --   features     float64s (little-endian), row_count × width, in the version's feature order
      --   raw_input    JSON text of what a request that failed before its features were read sent
      --   output       JSON text {"predictions": [...], "probabilities": {label: [...]} | null}
      CREATE SEQUENCE predictions_seq;
      CREATE TABLE predictions (
        seq         bigint NOT NULL DEFAULT nextval('predictions_seq'),
        id          text NOT NULL,
        row_indices bytea,
        row_count   integer NOT NULL,
        model_name  text COLLATE "C" NOT NULL,
        version     text,
        ok          boolean NOT NULL,
        error       text,
        width       integer,
        features    bytea,
        raw_input   text,
        output      text,
        value_sum   double precision,
        value_n     integer NOT NULL,
        latency_ms  double precision NOT NULL,
        routing_key text,
        created_at  timestamptz NOT NULL,
        writer      text NOT NULL
      ) PARTITION BY RANGE (created_at);
      CREATE INDEX predictions_model_time ON predictions (model_name, created_at);
      CREATE INDEX predictions_time ON predictions (created_at);

      -- Per model, version, minute and writer (version '' for a request that failed before a
      -- version was chosen): what get_traffic_config counts, kept by each writer in the
      -- transaction that writes the rows, keyed by writer so writers never wait on one another.
      CREATE TABLE prediction_minutes (
        model_name text COLLATE "C" NOT NULL,
        version    text NOT NULL,
        minute     timestamptz NOT NULL,
        writer     text NOT NULL,
        count      bigint NOT NULL,
        errors     bigint NOT NULL,
        value_sum  double precision NOT NULL,
        value_n    bigint NOT NULL,
        PRIMARY KEY (model_name, minute, version, writer)
      );
      CREATE INDEX prediction_minutes_minute ON prediction_minutes (minute);
      CREATE TABLE prediction_seconds (
        model_name text COLLATE "C" NOT NULL,
        version    text NOT NULL,
        second     timestamptz NOT NULL,
        writer     text NOT NULL,
        count      bigint NOT NULL,
        errors     bigint NOT NULL,
        value_sum  double precision NOT NULL,
        value_n    bigint NOT NULL,
        PRIMARY KEY (model_name, second, version, writer)
      );
      CREATE INDEX prediction_seconds_second ON prediction_seconds (second);
      -- Predictions the log holds per day (the partition's) and writer; trimming adds negative
      -- rows under writer '' for what it deletes, and drops a day's rows with its partition.
      CREATE TABLE prediction_days (
        day    date NOT NULL,
        writer text NOT NULL,
        rows   bigint NOT NULL,
        PRIMARY KEY (day, writer)
      );
      -- Each writer records, in the transaction that writes them, how far into its current batch
      -- it has written (see PredictionLog.startRead).
      CREATE TABLE prediction_log_progress (
        writer     text PRIMARY KEY,
        batch      bigint NOT NULL,
        entries    integer NOT NULL,
        updated_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'alert episodes',
    // An error-rate or latency episode, by alert type and model, as every server sees it: the
    // alert is raised by the server that finds it quiet (no server marked it active lately).
    sql: `
      CREATE TABLE alert_episodes (
        key         text PRIMARY KEY,
        opened_at   timestamptz NOT NULL,
        last_active timestamptz NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'alert deliveries',
    // Alerts to push to a webhook or Alertmanager, written in the transaction that stores the
    // alert (an outbox), taken off once delivered; per target, in id order, by one server.
    sql: `
      CREATE TABLE alert_deliveries (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        alert_id        bigint NOT NULL REFERENCES alerts (id),
        target          text NOT NULL CHECK (target IN ('webhook', 'alertmanager')),
        created_at      timestamptz NOT NULL,
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        last_error      text
      );
      CREATE INDEX alert_deliveries_target ON alert_deliveries (target, id);
    `,
  },
  {
    version: 4,
    name: 'drift runs that do not monitor',
    // As SQLite's migration 13: a read-only caller's run is kept but never a model's latest check.
    sql: `
      ALTER TABLE drift_runs ADD COLUMN monitored boolean NOT NULL DEFAULT true;
      CREATE INDEX drift_runs_monitored ON drift_runs (model_name, created_at DESC, seq DESC) WHERE monitored;
      CREATE INDEX drift_runs_monitored_time ON drift_runs (created_at DESC, seq DESC) WHERE monitored;
    `,
  },
  {
    version: 5,
    name: 'outcomes',
    // As SQLite's migration 14. Every server upserts by prediction id (no row all writers
    // update); the join finds a prediction by (created_at, id), the time read from its id, so it
    // probes one day's partition.
    sql: `
      CREATE TABLE outcomes (
        prediction_id   text COLLATE "C" PRIMARY KEY,
        model_name      text COLLATE "C" NOT NULL,
        version         text COLLATE "C" NOT NULL,
        predicted_at    timestamptz NOT NULL,
        routing_key     text,
        predicted       double precision,
        actual          double precision,
        predicted_label text,
        actual_label    text,
        probabilities   double precision[],
        p_actual        double precision,
        brier           double precision,
        p_positive      double precision,
        recorded_at     timestamptz NOT NULL,
        revisions       integer NOT NULL DEFAULT 0
      );
      -- Windows read newest first by (predicted_at, prediction_id): an index in that order each.
      CREATE INDEX outcomes_model_time ON outcomes (model_name, predicted_at, prediction_id);
      CREATE INDEX outcomes_version_time ON outcomes (model_name, version, predicted_at, prediction_id);
    `,
  },
];

/** The advisory lock key under which migrations are applied ('mlopsmcp' in ASCII). */
const MIGRATION_LOCK = 0x6d6c6f70736d6370n;

/**
 * Applies every pending migration, each in its own transaction under a transaction-level
 * advisory lock: servers that start together wait for one another, and each migration is
 * applied exactly once. Answers the schema version reached.
 */
export async function applyMigrations(pool: pg.Pool, logger: Logger, list: readonly Migration[] = migrations): Promise<number> {
  const client = await pool.connect();
  try {
    await client
      .query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      )
      .catch(async (e: unknown) => {
        // Two servers creating it at the same moment: one of them loses the race on the catalog.
        if (!(await tableExists(client, 'schema_migrations'))) throw e;
      });
    for (const m of list) {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
        const done = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
        if (done.rowCount === 0) {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        }
        await client.query('COMMIT');
        if (done.rowCount === 0) logger.info({ migration: m.version, name: m.name }, 'applied migration');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    }
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    return rows[0].v ?? 0;
  } finally {
    client.release();
  }
}

async function tableExists(client: pg.PoolClient, name: string): Promise<boolean> {
  const { rows } = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [name]);
  return rows[0].t !== null;
}
