/**
 * Numbered schema migrations. Append only: a released migration is never edited, a change is a
 * new entry. `PRAGMA user_version` holds the number of the last one applied.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'registry',
    sql: `
      CREATE TABLE models (
        name        TEXT PRIMARY KEY,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
      ) STRICT;

      CREATE TABLE model_versions (
        id              INTEGER PRIMARY KEY,
        model_name      TEXT NOT NULL REFERENCES models(name),
        version         TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        stage           TEXT NOT NULL CHECK (stage IN ('none', 'staging', 'production', 'archived')),
        artifact_sha256 TEXT NOT NULL,
        artifact_bytes  INTEGER NOT NULL,
        source_path     TEXT,
        signature       TEXT NOT NULL,
        feature_names   TEXT,
        metrics         TEXT NOT NULL DEFAULT '{}',
        tags            TEXT NOT NULL DEFAULT '{}',
        description     TEXT NOT NULL DEFAULT '',
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        UNIQUE (model_name, version),
        UNIQUE (model_name, seq)
      ) STRICT;

      -- The rule "at most one production version per model", enforced by the database itself.
      CREATE UNIQUE INDEX model_versions_one_production
        ON model_versions (model_name) WHERE stage = 'production';

      CREATE TABLE audit_log (
        id          INTEGER PRIMARY KEY,
        model_name  TEXT NOT NULL,
        version     TEXT,
        action      TEXT NOT NULL,
        from_stage  TEXT,
        to_stage    TEXT,
        actor       TEXT NOT NULL,
        reason      TEXT,
        details     TEXT,
        created_at  TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_log_model ON audit_log (model_name, id);

      CREATE TABLE alerts (
        id          INTEGER PRIMARY KEY,
        type        TEXT NOT NULL,
        severity    TEXT NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
        model_name  TEXT,
        version     TEXT,
        message     TEXT NOT NULL,
        details     TEXT,
        created_at  TEXT NOT NULL
      ) STRICT;
      CREATE INDEX alerts_created ON alerts (created_at);
    `,
  },
  {
    version: 2,
    name: 'serving',
    sql: `
      CREATE TABLE traffic_configs (
        model_name  TEXT PRIMARY KEY REFERENCES models(name),
        weights     TEXT NOT NULL,
        routing     TEXT NOT NULL CHECK (routing IN ('random', 'sticky')),
        updated_at  TEXT NOT NULL
      ) STRICT;

      CREATE TABLE predictions (
        id          TEXT PRIMARY KEY,
        model_name  TEXT NOT NULL,
        version     TEXT,
        ok          INTEGER NOT NULL,
        error       TEXT,
        features    TEXT,
        output      TEXT,
        latency_ms  REAL NOT NULL,
        routing_key TEXT,
        created_at  TEXT NOT NULL
      ) STRICT;
      CREATE INDEX predictions_model_time ON predictions (model_name, created_at);
      CREATE INDEX predictions_time ON predictions (created_at);
    `,
  },
  {
    version: 3,
    name: 'drift',
    sql: `
      -- version '' is the model-wide reference; a version label scopes it to that version.
      CREATE TABLE drift_references (
        model_name  TEXT NOT NULL REFERENCES models(name),
        version     TEXT NOT NULL,
        source      TEXT NOT NULL,
        rows        INTEGER NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (model_name, version)
      ) STRICT;

      -- Each feature's reference values, sorted once when stored, as a Float64Array blob.
      CREATE TABLE drift_reference_features (
        model_name  TEXT NOT NULL,
        version     TEXT NOT NULL,
        feature     TEXT NOT NULL,
        n           INTEGER NOT NULL,
        sorted_values BLOB NOT NULL,
        summary     TEXT NOT NULL,
        PRIMARY KEY (model_name, version, feature),
        FOREIGN KEY (model_name, version) REFERENCES drift_references (model_name, version) ON DELETE CASCADE
      ) STRICT;

      CREATE TABLE drift_runs (
        id            TEXT PRIMARY KEY,
        model_name    TEXT NOT NULL,
        version       TEXT,
        source        TEXT NOT NULL,
        dataset_drift INTEGER NOT NULL,
        drifted_share REAL NOT NULL,
        result        TEXT NOT NULL,
        actor         TEXT NOT NULL,
        created_at    TEXT NOT NULL
      ) STRICT;
      CREATE INDEX drift_runs_model_time ON drift_runs (model_name, created_at);
    `,
  },
  {
    version: 4,
    name: 'mlflow',
    sql: `
      -- Changes to mirror into MLflow, written in the same transaction as the change itself and
      -- pushed in id order by the sync worker (a transactional outbox).
      CREATE TABLE mlflow_outbox (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        kind        TEXT NOT NULL CHECK (kind IN ('register', 'stage', 'traffic', 'drift_run')),
        model_name  TEXT NOT NULL,
        payload     TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT
      ) STRICT;

      -- Which MLflow model version each of ours is (MLflow numbers versions 1, 2, …).
      CREATE TABLE mlflow_links (
        model_name     TEXT NOT NULL,
        version        TEXT NOT NULL,
        mlflow_name    TEXT NOT NULL,
        mlflow_version TEXT NOT NULL,
        run_id         TEXT,
        PRIMARY KEY (model_name, version)
      ) STRICT;
    `,
  },
  {
    version: 5,
    name: 'prediction value',
    sql: `
      -- The numeric prediction on its own, so per-variant means are one SQL aggregate, not a JSON parse per row.
      ALTER TABLE predictions ADD COLUMN prediction_value REAL;
    `,
  },
  {
    version: 6,
    name: 'prediction log appends',
    sql: `
      -- Keyed by an increasing integer instead of the random prediction id: every flush appends
      -- at the end of the table instead of inserting at random places in a B-tree.
      CREATE TABLE predictions_log (
        seq              INTEGER PRIMARY KEY,
        id               TEXT NOT NULL,
        model_name       TEXT NOT NULL,
        version          TEXT,
        ok               INTEGER NOT NULL,
        error            TEXT,
        features         TEXT,
        output           TEXT,
        prediction_value REAL,
        latency_ms       REAL NOT NULL,
        routing_key      TEXT,
        created_at       TEXT NOT NULL
      ) STRICT;
      INSERT INTO predictions_log (id, model_name, version, ok, error, features, output, prediction_value, latency_ms, routing_key, created_at)
        SELECT id, model_name, version, ok, error, features, output, prediction_value, latency_ms, routing_key, created_at FROM predictions ORDER BY created_at, rowid;
      DROP TABLE predictions;
      ALTER TABLE predictions_log RENAME TO predictions;
      CREATE INDEX predictions_model_time ON predictions (model_name, created_at);
      CREATE INDEX predictions_time ON predictions (created_at);
    `,
  },
  {
    version: 7,
    name: 'prediction minutes',
    sql: `
      -- Per model, version and minute (created_at's first 16 characters): what get_traffic_config
      -- reports, kept by the log's writer in the same transaction as the rows, so counting since
      -- a split was set reads a row a minute (plus seconds, plus one second of the log) instead
      -- of every prediction since. version '' stands for predictions that failed before a
      -- version was chosen.
      CREATE TABLE prediction_minutes (
        model_name TEXT NOT NULL,
        version    TEXT NOT NULL,
        minute     TEXT NOT NULL,
        count      INTEGER NOT NULL,
        errors     INTEGER NOT NULL,
        value_sum  REAL NOT NULL,
        value_n    INTEGER NOT NULL,
        PRIMARY KEY (model_name, minute, version)
      ) STRICT;
      INSERT INTO prediction_minutes
        SELECT model_name, coalesce(version, ''), substr(created_at, 1, 16), COUNT(*), SUM(1 - ok), coalesce(SUM(prediction_value), 0), COUNT(prediction_value)
        FROM predictions GROUP BY 1, 2, 3;
      -- The same per second (created_at's first 19 characters), for the part of a minute.
      CREATE TABLE prediction_seconds (
        model_name TEXT NOT NULL,
        version    TEXT NOT NULL,
        second     TEXT NOT NULL,
        count      INTEGER NOT NULL,
        errors     INTEGER NOT NULL,
        value_sum  REAL NOT NULL,
        value_n    INTEGER NOT NULL,
        PRIMARY KEY (model_name, second, version)
      ) STRICT;
      INSERT INTO prediction_seconds
        SELECT model_name, coalesce(version, ''), substr(created_at, 1, 19), COUNT(*), SUM(1 - ok), coalesce(SUM(prediction_value), 0), COUNT(prediction_value)
        FROM predictions GROUP BY 1, 2, 3;
    `,
  },
  {
    version: 8,
    name: 'prediction log entries',
    sql: `
      -- One row per entry: a predict call's prediction, or the rows of a batch that one version
      -- served (logging a 1 000-row batch inserts one row, not a thousand). Row j of a batch entry
      -- is prediction <id>:<row_indices[j]>; a single prediction's row_indices is NULL.
      --   row_indices  BLOB of int32 (little-endian), one per row
      --   row_offset   predictions logged before this entry, ever: the log's size is a difference of two
      --   features     BLOB of float64 (little-endian), row_count × width, in the version's feature order;
      --                or TEXT: JSON of what a request that failed before its features were read sent,
      --                or a feature array of a row logged before this migration
      --   output       JSON {"predictions": [...], "probabilities": {label: [...]} | null}, one value per row
      --                (rows logged before this migration keep {"prediction", "probabilities"})
      --   value_sum, value_n  sum and count of the numeric predictions, for per-variant means
      CREATE TABLE prediction_entries (
        seq         INTEGER PRIMARY KEY,
        id          TEXT NOT NULL,
        row_indices BLOB,
        row_count   INTEGER NOT NULL,
        row_offset  INTEGER NOT NULL,
        model_name  TEXT NOT NULL,
        version     TEXT,
        ok          INTEGER NOT NULL,
        error       TEXT,
        width       INTEGER,
        features    ANY,
        output      TEXT,
        value_sum   REAL,
        value_n     INTEGER NOT NULL,
        latency_ms  REAL NOT NULL,
        routing_key TEXT,
        created_at  TEXT NOT NULL
      ) STRICT;
      INSERT INTO prediction_entries (seq, id, row_indices, row_count, row_offset, model_name, version, ok, error, width, features, output, value_sum, value_n, latency_ms, routing_key, created_at)
        SELECT seq, id, NULL, 1, ROW_NUMBER() OVER (ORDER BY seq) - 1, model_name, version, ok, error, NULL, features, output,
          prediction_value, prediction_value IS NOT NULL, latency_ms, routing_key, created_at
        FROM predictions ORDER BY seq;
      DROP TABLE predictions;
      ALTER TABLE prediction_entries RENAME TO predictions;
      CREATE INDEX predictions_model_time ON predictions (model_name, created_at);
      CREATE INDEX predictions_time ON predictions (created_at);
    `,
  },
  {
    version: 9,
    name: 'production audit index',
    // The version production had before the current one (rollback's default target) is read on
    // every stage change and model-state read; along audit_log_model it walked every audit row of
    // the model when no other version had been in production (38.8 ms at 200 000 rows).
    sql: `
      CREATE INDEX audit_log_production ON audit_log (model_name, id) WHERE to_stage = 'production';
    `,
  },
  {
    version: 10,
    name: 'prediction log writer progress',
    // Each writer thread records, in the transaction that writes them, how far into its current
    // batch it has written: a reader that takes this row and the counts in one snapshot knows
    // exactly which of its process's unwritten predictions the counts already hold.
    sql: `
      CREATE TABLE prediction_log_progress (
        writer TEXT PRIMARY KEY,
        batch INTEGER NOT NULL,
        entries INTEGER NOT NULL,
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 11,
    name: 'alert episodes',
    // An error-rate or latency episode, by alert type and model, as every process sees it: the
    // alert is raised by the one that finds it quiet (no process marked it active lately).
    sql: `
      CREATE TABLE alert_episodes (
        key         TEXT PRIMARY KEY,
        opened_at   TEXT NOT NULL,
        last_active TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 12,
    name: 'alert deliveries',
    // Alerts to push to a webhook or Alertmanager, written in the transaction that stores the
    // alert (an outbox), taken off once delivered; per target, in id order.
    sql: `
      CREATE TABLE alert_deliveries (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id        INTEGER NOT NULL REFERENCES alerts (id),
        target          TEXT NOT NULL CHECK (target IN ('webhook', 'alertmanager')),
        created_at      TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error      TEXT
      ) STRICT;
      CREATE INDEX alert_deliveries_target ON alert_deliveries (target, id);
    `,
  },
  {
    version: 13,
    name: 'drift runs that do not monitor',
    // A run by a read-only caller is kept (get_drift_report by id) but is never a model's latest
    // check, which health_check and the dashboard show: the latest queries read only monitored
    // runs, along their own index (unmonitored runs cannot lengthen the walk).
    sql: `
      ALTER TABLE drift_runs ADD COLUMN monitored INTEGER NOT NULL DEFAULT 1;
      CREATE INDEX drift_runs_monitored ON drift_runs (model_name, created_at) WHERE monitored = 1;
      CREATE INDEX drift_runs_monitored_time ON drift_runs (created_at) WHERE monitored = 1;
    `,
  },
  {
    version: 14,
    name: 'outcomes',
    // What happened after a prediction, joined at recording to its log entry: the version, the
    // routing key and the prediction itself are copied here, so measuring a window reads this
    // table alone, whatever the log has trimmed since. One row per prediction id: a later outcome
    // of the same prediction replaces it (revisions counts the replacements). Rows are kept in
    // the order windows read them (model, prediction time; WITHOUT ROWID: the table is that
    // B-tree), so a window of 100 000 is one range scan; prediction_id is a unique key beside it.
    //   predicted, actual              a regressor's values
    //   predicted_label, actual_label  a classifier's labels
    //   predicted_at                   epoch milliseconds (a window reads 100 000 of them: no date parsing per row)
    //   probabilities                  JSON array, one per class of the version, in its label order
    //   p_actual, brier, p_positive    what they add to log loss, Brier and ROC AUC (a window reads these, not the blob)
    sql: `
      CREATE TABLE outcomes (
        prediction_id   TEXT NOT NULL UNIQUE,
        model_name      TEXT NOT NULL,
        version         TEXT NOT NULL,
        predicted_at    INTEGER NOT NULL,
        routing_key     TEXT,
        predicted       REAL,
        actual          REAL,
        predicted_label TEXT,
        actual_label    TEXT,
        probabilities   TEXT,
        p_actual        REAL,
        brier           REAL,
        p_positive      REAL,
        recorded_at     TEXT NOT NULL,
        revisions       INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (model_name, predicted_at, prediction_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX outcomes_version_time ON outcomes (model_name, version, predicted_at, prediction_id);
    `,
  },
  {
    version: 15,
    name: 'prediction totals by time',
    // The trim deletes the counts older than the log's age limit every minute: along the primary
    // key (model first) that read every count kept, 2.6 million per version after 30 days of steady
    // traffic in prediction_seconds.
    sql: `
      CREATE INDEX prediction_minutes_minute ON prediction_minutes (minute);
      CREATE INDEX prediction_seconds_second ON prediction_seconds (second);
    `,
  },
];
