import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { PredictionLog } from '../../src/serving/prediction-log.js';
import { migrations } from '../../src/store/postgres/migrations.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import type { Store } from '../../src/store/store.js';
import { describePostgres, emptyDatabase, freshDatabase, sql } from '../postgres/server.js';
import { pending } from './contract/pending.js';

const silent = pino({ level: 'silent' });
const opened: Store[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});
const open = async (url: string) => {
  const s = await openPostgresStore(url, silent, { poolSize: 3 });
  opened.push(s);
  return s;
};

describePostgres('the PostgreSQL store', () => {
  it('applies each migration once when eight servers start on an empty database at the same moment', async () => {
    const url = await emptyDatabase();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const stores = await Promise.all(Array.from({ length: 8 }, () => openPostgresStore(url, logger, { poolSize: 2 })));
    opened.push(...stores);
    const applied = await sql<{ version: number }>(url, 'SELECT version FROM schema_migrations ORDER BY version');
    expect(applied.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
    expect(lines.filter((l) => l.includes('applied migration'))).toHaveLength(migrations.length);
    for (const s of stores) expect((await s.database.status()).schemaVersion).toBe(migrations[migrations.length - 1].version);
  });

  it('writes the prediction log into day partitions, each day’s created with the next, and drops whole days at retention', async () => {
    const url = await freshDatabase();
    const store = await open(url);
    const log = new PredictionLog(
      { sink: store.predictions.openSink(), logger: silent },
      { flushMs: 3_600_000, maxRows: 1e9, maxAgeMs: 86_400_000, maxPending: 1e9 },
    );
    try {
      const day = 86_400_000;
      const now = Date.now();
      for (const age of [5, 3, 0]) log.append(pending(100, { id: `d${age}`, at: now - age * day }));
      await log.flush();
      const partitions = async () =>
        (
          await sql<{ relname: string }>(
            url,
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'predictions'::regclass ORDER BY 1",
          )
        ).map((r) => r.relname);
      const name = (ms: number) => `predictions_p${new Date(ms).toISOString().slice(0, 10).replaceAll('-', '')}`;
      expect(await partitions()).toEqual([...new Set([5, 4, 3, 2, 0, -1].map((age) => name(now - age * day)))].sort());
      expect(await store.predictions.count()).toBe(300);
      await log.trim();
      // Days 5, 4, 3 and 2 are wholly past the day of retention: dropped, not deleted row by row.
      expect(await partitions()).toEqual([name(now), name(now + day)]);
      expect(await store.predictions.count()).toBe(100);
      expect((await sql<{ id: string }>(url, 'SELECT id FROM predictions')).map((r) => r.id)).toEqual(['d0']);
      // A row for a day whose partition was dropped (a late writer) gets its partition back.
      log.append(pending(1, { id: 'late', indices: null, at: now - 5 * day + 1000 }));
      await log.flush();
      expect(log.status().lastFlushFailed).toBe(false);
      expect(await store.predictions.count()).toBe(101);
    } finally {
      await log.close();
    }
  });

  it('keeps each writer’s counts in rows of its own, so writers on many servers never wait on one row', async () => {
    const url = await freshDatabase();
    const [a, b] = [await open(url), await open(url)];
    const logs = [a, b].map(
      (s) => new PredictionLog({ sink: s.predictions.openSink(), logger: silent }, { flushMs: 3_600_000, maxRows: 1e9, maxAgeMs: 1e12, maxPending: 1e9 }),
    );
    try {
      const at = Date.parse('2026-11-23T10:00:30.000Z');
      logs[0].append(pending(2, { at }));
      logs[1].append(pending(3, { at }));
      await Promise.all(logs.map((l) => l.flush()));
      const minutes = await sql<{ writer: string; count: string }>(url, 'SELECT writer, count FROM prediction_minutes ORDER BY count');
      expect(minutes.map((m) => [m.writer, Number(m.count)])).toEqual([
        [logs[0].writerId, 2],
        [logs[1].writerId, 3],
      ]);
      expect((await a.predictions.tallies('m', '2026-11-23T10:00:00.000Z', logs[0].writerId)).tallies.get('v1')?.count).toBe(5);
    } finally {
      for (const l of logs) await l.close();
    }
  });

  it('gives the outbox lead to one server at a time, and to another when it goes', async () => {
    const url = await freshDatabase();
    const [a, b] = [await open(url), await open(url)];
    expect(await a.outboxLeader.holds()).toBe(true);
    expect(await b.outboxLeader.holds()).toBe(false);
    expect(await a.outboxLeader.holds()).toBe(true);
    // The leader's connection ends (a server stopped or killed): the lock is the server's to give again.
    await sql(
      url,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mlops-mcp outbox' AND pid <> pg_backend_pid() AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)",
    );
    const started = Date.now();
    while (!(await b.outboxLeader.holds()) && Date.now() - started < 3000) await new Promise((r) => setTimeout(r, 50));
    expect(await b.outboxLeader.holds()).toBe(true);
    expect(await a.outboxLeader.holds()).toBe(false);
  });

  it('enforces one production version per model in the schema itself', async () => {
    const url = await freshDatabase();
    await sql(url, "INSERT INTO models VALUES ('m', now(), now())");
    const insert = (v: string, seq: number) =>
      sql(
        url,
        "INSERT INTO model_versions (model_name, version, seq, stage, artifact_sha256, artifact_bytes, signature, created_at, updated_at) VALUES ('m', $1, $2, 'production', 'x', 1, '{}', now(), now())",
        [v, seq],
      );
    await insert('v1', 1);
    await expect(insert('v2', 2)).rejects.toThrow(/model_versions_one_production/);
  });
});
