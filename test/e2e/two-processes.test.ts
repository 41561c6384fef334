import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { migrations as postgresMigrations } from '../../src/store/postgres/migrations.js';
import { migrations as sqliteMigrations } from '../../src/store/sqlite/migrations.js';
import { call, fixture, ok, tempDir, text } from '../helpers.js';
import { emptyDatabase, postgresUrl } from '../postgres/server.js';
import { readerFor } from '../store/reader.js';
import { spawnHttp, type SpawnedHttp } from './spawn.js';

const SECONDS = Number(process.env.TWO_PROCESS_SECONDS ?? 8);
const servers: SpawnedHttp[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

async function client(url: string, name: string): Promise<Client> {
  const c = new Client({ name, version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return c;
}

describe.each([
  { engine: 'sqlite', skip: false, where: 'one MLOPS_MCP_HOME', migrations: sqliteMigrations },
  { engine: 'postgresql', skip: postgresUrl === null, where: 'one PostgreSQL database (homes apart, artifacts shared)', migrations: postgresMigrations },
])('two servers on $where', ({ engine, skip, migrations }) => {
  it.skipIf(skip)(
    `promote, register and predict from both for ${SECONDS} s: no busy error, no lost update, one production`,
    { timeout: (SECONDS + 60) * 1000 },
    async () => {
      const home = path.join(tempDir(), 'home');
      const env: Record<string, string> = { MLOPS_MCP_HOME: home };
      // Both on an empty database, the PostgreSQL one included: the migrations must run once. (The
      // artifacts stay in one home until servers share object storage.)
      if (engine === 'postgresql') env.MLOPS_MCP_DATABASE_URL = await emptyDatabase();
      servers.push(...(await Promise.all([spawnHttp([], env), spawnHttp([], env)])));
      // Each migration was applied by one of them, once (both log what they apply; the log is
      // written asynchronously, so its lines may come after "listening").
      const applied = () => servers.flatMap((s) => [...s.stderr().matchAll(/"migration":(\d+)[^\n]*applied migration/g)].map((m) => Number(m[1])));
      for (let waited = 0; applied().length < migrations.length && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      expect(applied().sort((x, y) => x - y)).toEqual(migrations.map((m) => m.version));
      const [a, b] = await Promise.all(servers.map((s, i) => client(s.url, `proc-${i}`)));
      await ok(a, 'register_model', { name: 'shared', artifact_path: fixture('nba_points_v1.onnx'), version: 'base-1' });
      await ok(a, 'register_model', { name: 'shared', artifact_path: fixture('nba_points_v2.onnx'), version: 'base-2' });
      await ok(b, 'promote_model', { name: 'shared', version: 'base-1', target_stage: 'production' });

      const failures: string[] = [];
      const counts = { promotions: 0, registrations: 0, predictions: 0 };
      const deadline = Date.now() + SECONDS * 1000;
      const worker = async (c: Client, tag: string) => {
        let i = 0;
        while (Date.now() < deadline) {
          i++;
          const r1 = await call(c, 'promote_model', {
            name: 'shared',
            version: i % 2 ? 'base-2' : 'base-1',
            target_stage: 'production',
            archive_existing: false,
          });
          if (r1.isError) failures.push(text(r1));
          else if ((r1.structuredContent as { changes: unknown[] }).changes.length) counts.promotions++;
          const r2 = await call(c, 'register_model', { name: 'shared', artifact_path: fixture('nba_points_v1.onnx'), version: `${tag}-${i}` });
          if (r2.isError) failures.push(text(r2));
          else counts.registrations++;
          const r3 = await call(c, 'predict', { name: 'shared', features: Array(10).fill(i % 7) });
          if (r3.isError) failures.push(text(r3));
          else counts.predictions++;
        }
      };
      // Checkpoints keep the WAL bounded while both write (SQLite's auto-checkpoint at 1 000 pages
      // reuses the file): sampled during the run, since a clean exit checkpoints and removes it.
      const wal = path.join(home, 'registry.db-wal');
      let walMax = 0;
      const sampler = setInterval(() => {
        walMax = Math.max(walMax, fs.existsSync(wal) ? fs.statSync(wal).size : 0);
      }, 100);
      const sqlite = engine === 'sqlite';
      try {
        await Promise.all([worker(a, 'a'), worker(b, 'b'), worker(a, 'a2'), worker(b, 'b2')]);
      } finally {
        clearInterval(sampler);
      }
      console.info(
        `two processes (${engine}), ${SECONDS} s: ${counts.registrations} registrations, ${counts.promotions} promotions that changed production, ${counts.predictions} predictions${sqlite ? `; WAL at most ${(walMax / 1048576).toFixed(1)} MiB` : ''}`,
      );
      if (sqlite) {
        expect(walMax).toBeGreaterThan(0);
        expect(walMax).toBeLessThan(16 * 1024 * 1024);
      }
      expect(failures).toEqual([]);
      expect(counts.registrations).toBeGreaterThan(10);
      await a.close();
      await b.close();
      for (const s of servers.splice(0)) expect(await s.stop()).toBe(0); // flushes the prediction logs

      const db = await readerFor(env);
      try {
        if (sqlite) {
          expect((await db.all<{ user_version: number }>('PRAGMA user_version'))[0].user_version).toBe(migrations.length);
          expect((await db.all<{ integrity_check: string }>('PRAGMA integrity_check'))[0].integrity_check).toBe('ok');
        } else {
          expect((await db.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).map((r) => r.version)).toEqual(
            migrations.map((m) => m.version),
          );
        }
        const versions = await db.all<{ version: string; stage: string }>("SELECT version, stage FROM model_versions WHERE model_name = 'shared'");
        expect(versions.length).toBe(2 + counts.registrations);
        expect(versions.filter((v) => v.stage === 'production')).toHaveLength(1);
        const count = async (query: string) => Number((await db.all<{ n: number }>(query))[0].n);
        expect(await count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'register'")).toBe(2 + counts.registrations);
        // Every promotion that changed something is audited (two rows: in and out of production).
        expect(await count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'promote'")).toBe(1 + 2 * counts.promotions);
        // Stages agree with the audit trail: each version's last audited to_stage is its stage.
        const last = await db.all<{ version: string; to_stage: string }>(
          "SELECT version, to_stage FROM audit_log a WHERE model_name = 'shared' AND id = (SELECT MAX(id) FROM audit_log b WHERE b.model_name = 'shared' AND b.version = a.version AND b.to_stage IS NOT NULL)",
        );
        for (const v of versions) expect(last.find((l) => l.version === v.version)?.to_stage).toBe(v.stage);
        expect(await count(`SELECT coalesce(SUM(row_count), 0) AS n FROM predictions WHERE ${sqlite ? 'ok = 1' : 'ok'}`)).toBe(counts.predictions);
      } finally {
        await db.close();
      }
    },
  );
});
