import path from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { TRIM_SQL } from '../../src/store/sqlite/log-writer.js';
import { migrations } from '../../src/store/sqlite/migrations.js';
import { planPromotion } from '../../src/registry/rules.js';
import { tempDir } from '../helpers.js';

const silent = pino({ level: 'silent' });

/** Every prepared statement of the adapters, by name (public on each adapter for this check). */
function statements(store: SqliteStore): Array<[string, { source: string }]> {
  const adapters = [store.registry, store.traffic, store.predictions, store.drift] as unknown as Array<{ q: Record<string, { source: string }> }>;
  return adapters.flatMap((a) => Object.entries(a.q));
}

describe('the SQLite store', () => {
  it('reads the prediction log only through indexes: no statement scans it (it holds up to a million rows)', async () => {
    const dbPath = path.join(tempDir(), 'registry.db');
    const store = openSqliteStore(dbPath, silent);
    const db = new Database(dbPath, { readonly: true });
    try {
      const reading = statements(store).filter(([, st]) => /\bpredictions\b/.test(st.source));
      expect(reading.length).toBeGreaterThan(0);
      for (const [name, st] of reading) {
        const params = (st.source.match(/\?/g) ?? []).map(() => 'x');
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${st.source}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail);
        expect(
          plan.filter((d) => /^SCAN predictions\b/.test(d)),
          `${name}: ${plan.join(' | ')}`,
        ).toEqual([]);
      }
    } finally {
      db.close();
      await store.close();
    }
  });

  it('trims the prediction log and its totals along indexes: the writer runs each delete once a minute, at every size', async () => {
    const dbPath = path.join(tempDir(), 'registry.db');
    const store = openSqliteStore(dbPath, silent);
    const db = new Database(dbPath, { readonly: true });
    try {
      for (const [name, sql] of Object.entries(TRIM_SQL)) {
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all('x', 1) as Array<{ detail: string }>).map((r) => r.detail);
        expect(
          plan.filter((d) => /^SCAN /.test(d)),
          `${name}: ${plan.join(' | ')}`,
        ).toEqual([]);
      }
    } finally {
      db.close();
      await store.close();
    }
  });

  it("finds rollback's default target along the production-only audit index (it runs on every stage change and model-state read)", async () => {
    const dbPath = path.join(tempDir(), 'registry.db');
    const store = openSqliteStore(dbPath, silent);
    const db = new Database(dbPath, { readonly: true });
    try {
      const st = Object.fromEntries(statements(store)).previousProduction;
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${st.source}`).all('m', 'v1') as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
      expect(plan).toMatch(/SEARCH a USING (COVERING )?INDEX audit_log_production/);
    } finally {
      db.close();
      await store.close();
    }
  });

  it('opens in WAL with synchronous=NORMAL, a busy timeout and the latest schema version', async () => {
    const dbPath = path.join(tempDir(), 'registry.db');
    const store = openSqliteStore(dbPath, silent);
    expect((await store.database.status()).schemaVersion).toBe(migrations[migrations.length - 1].version);
    // NORMAL is what docs/operations.md promises: a process crash loses no committed transaction.
    expect(store.settings()).toEqual({ journalMode: 'wal', synchronous: 'NORMAL', busyTimeoutMs: 10 });
    await store.close();
  });

  it('applies migrations once, whatever the number of opens', async () => {
    const dbPath = path.join(tempDir(), 'registry.db');
    const stores = [openSqliteStore(dbPath, silent), openSqliteStore(dbPath, silent), openSqliteStore(dbPath, silent)];
    for (const s of stores) expect((await s.database.status()).schemaVersion).toBe(migrations.length);
    for (const s of stores) await s.close();
  });

  it('carries a prediction log written before migration 8 over as one-row entries that every reader still reads', async () => {
    const dbPath = path.join(tempDir(), 'registry.db');
    openDatabase(
      dbPath,
      silent,
      migrations.filter((m) => m.version < 8),
    ).close();
    const old = new Database(dbPath);
    const insert = old.prepare(
      'INSERT INTO predictions (id, model_name, version, ok, error, features, output, prediction_value, latency_ms, routing_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, NULL, ?)',
    );
    insert.run('p1', 'm', 'v1', 1, null, '[1,2]', '{"prediction":3,"probabilities":null}', 3, '2026-11-23T10:00:00.000Z');
    insert.run('p2', 'm', 'v1', 0, 'boom', '{"a":"x"}', null, null, '2026-11-23T10:00:01.000Z');
    insert.run('p3', 'm', 'v1', 1, null, '[5,6]', '{"prediction":7,"probabilities":null}', 7, '2026-11-23T10:00:02.000Z');
    old.close();
    const store = openSqliteStore(dbPath, silent);
    try {
      expect((await store.database.status()).schemaVersion).toBe(migrations[migrations.length - 1].version);
      expect(await store.predictions.count()).toBe(3);
      const logged = await store.predictions.loggedFeatures('m', { lastN: 10 });
      expect(logged.map((e) => [e.rows, e.width, Array.from(e.values)])).toEqual([
        [1, 2, [5, 6]],
        [1, 2, [1, 2]],
      ]);
      // Rows inserted after migration 7 have no per-minute counts: only the log's own second answers.
      expect([...(await store.predictions.tallies('m', '2026-11-23T10:00:01.000Z', 'no writer')).tallies]).toEqual([
        ['v1', { count: 1, errors: 1, sum: 0, n: 0 }],
      ]);
    } finally {
      await store.close();
    }
  });

  it("reads a stage plan only once it holds the write lock: another connection's change is seen, the plan runs once", async () => {
    const dbPath = path.join(tempDir(), 'registry.db');
    const store = openSqliteStore(dbPath, silent);
    const other = new Database(dbPath);
    try {
      const who = { actor: 'test' };
      for (const sha of ['a', 'b']) {
        await store.registry.registerVersion(
          'm',
          (existing) => ({
            name: 'm',
            version: `v${existing.length + 1}`,
            artifactSha256: sha.repeat(64),
            artifactBytes: 1,
            sourcePath: '/m.onnx',
            signature: { inputs: [], outputs: [], classLabels: null },
            featureNames: [],
            metrics: {},
            tags: {},
            description: '',
          }),
          who,
        );
      }
      other.exec('BEGIN IMMEDIATE');
      other.prepare("UPDATE model_versions SET stage = 'production' WHERE model_name = 'm' AND version = 'v1'").run();
      setTimeout(() => other.exec('COMMIT'), 150);
      const seen: string[][] = [];
      const done = await store.registry.changeStages(
        'm',
        (state) => {
          seen.push(state.versions.map((v) => `${v.version}:${v.stage}`));
          return planPromotion(state, { version: 'v2', targetStage: 'production', archiveExisting: true });
        },
        who,
      );
      expect(seen).toEqual([['v1:production', 'v2:none']]);
      expect(done?.plan.changes).toEqual([
        { version: 'v2', from: 'none', to: 'production' },
        { version: 'v1', from: 'production', to: 'archived' },
      ]);
    } finally {
      other.close();
      await store.close();
    }
  });

  it('enforces one production version per model in the schema itself', async () => {
    const dbPath = path.join(tempDir(), 'registry.db');
    await openSqliteStore(dbPath, silent).close();
    const db = new Database(dbPath);
    const now = new Date().toISOString();
    db.prepare('INSERT INTO models VALUES (?, ?, ?)').run('m', now, now);
    const insert = db.prepare(`INSERT INTO model_versions (model_name, version, seq, stage, artifact_sha256, artifact_bytes, signature, created_at, updated_at)
      VALUES ('m', ?, ?, 'production', 'x', 1, '{}', ?, ?)`);
    insert.run('v1', 1, now, now);
    expect(() => insert.run('v2', 2, now, now)).toThrow(/UNIQUE constraint failed/);
    db.close();
  });
});
