import Database from 'better-sqlite3';
import pg from 'pg';
import { expect, it } from 'vitest';
import { DomainError } from '../../../src/errors.js';
import { planPromotion } from '../../../src/registry/rules.js';
import { newVersion } from '../../versions.js';
import { describeEachEngine } from './engines.js';

const who = { actor: 'contract' };

describeEachEngine('store contract: failures as the domain names them', (engine) => {
  it('answers busy, with nothing changed, when another writer holds the model past the wait', { timeout: 30_000 }, async () => {
    const db = await engine.database();
    const store = await db.open();
    await store.registry.registerVersion('m', (e) => newVersion({ name: 'm', version: `v${e.length + 1}` }), who);
    // Another process's transaction holding the lock: the whole file on SQLite, the model's row on PostgreSQL.
    const release = await holdModel(engine.name, db, 'm');
    try {
      const started = Date.now();
      const error = await store.registry
        .changeStages('m', (s) => planPromotion(s, { version: 'v1', targetStage: 'production', archiveExisting: true }), who)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ code: 'busy', message: expect.stringMatching(/Nothing was changed; retry in a moment/) });
      expect(Date.now() - started).toBeGreaterThanOrEqual(4_500); // it waited for the lock first
    } finally {
      await release();
    }
    expect((await store.registry.modelState('m'))!.versions[0].stage).toBe('none');
  });
});

/** Holds the lock a write to model `name` needs, from a connection of its own, until released. */
async function holdModel(engine: 'sqlite' | 'postgresql', db: { rows: <R>(q: string) => Promise<R[]> }, name: string): Promise<() => Promise<void>> {
  if (engine === 'sqlite') {
    const [{ file }] = await db.rows<{ file: string }>("SELECT file FROM pragma_database_list WHERE name = 'main'");
    const other = new Database(file);
    other.exec('BEGIN EXCLUSIVE');
    return async () => {
      other.exec('ROLLBACK');
      other.close();
    };
  }
  const [{ url }] = await db.rows<{ url: string }>("SELECT 'postgresql://postgres@127.0.0.1:' || current_setting('port') || '/' || current_database() AS url");
  const other = new pg.Client({ connectionString: url });
  await other.connect();
  await other.query('BEGIN');
  await other.query('SELECT 1 FROM models WHERE name = $1 FOR UPDATE', [name]);
  return async () => {
    await other.query('ROLLBACK');
    await other.end();
  };
}
