import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ArtifactStore, STALE_TEMP_MS } from '../../src/registry/artifacts.js';
import { ModelRegistry } from '../../src/registry/registry.js';
import { ModelChecks } from '../../src/serving/model-check.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { loadConfig } from '../../src/config.js';
import { createAppContext } from '../../src/context.js';
import { FIXTURES, fixture, tempDir } from '../helpers.js';

const who = { actor: 'test', reason: 'because' };
const opened: SqliteStore[] = [];
const checks = new ModelChecks({ runTimeoutMs: 10_000, loadTimeoutMs: 30_000, memoryMb: 1024, maxOutputBytes: 64 << 20 });
afterAll(() => checks.close());

function registryOn(home: string) {
  const opened1 = openSqliteStore(path.join(home, 'registry.db'), pino({ level: 'silent' }));
  opened.push(opened1);
  const store = opened1.registry;
  const registry = new ModelRegistry({ store, artifacts: new ArtifactStore(path.join(home, 'artifacts')), checker: checks, allowedDirs: [FIXTURES] });
  return { store, registry };
}

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

async function fourVersions(registry: ModelRegistry) {
  for (const file of ['nba_points_v1.onnx', 'nba_points_v2.onnx', 'nba_points_v1.onnx', 'nba_points_v2.onnx']) {
    await registry.register({ name: 'nba_points', artifactPath: fixture(file) }, who);
  }
}

describe('ModelRegistry on real SQLite and ONNX', () => {
  it('registers with v<n> labels, a content-addressed artifact and the ONNX signature', async () => {
    const home = tempDir();
    const { registry } = registryOn(home);
    const { version: v1 } = await registry.register({ name: 'nba_points', artifactPath: fixture('nba_points_v1.onnx') }, who);
    expect(v1.version).toBe('v1');
    expect(v1.stage).toBe('none');
    expect(v1.featureNames).toHaveLength(10); // read from the ONNX feature_names metadata
    expect(v1.signature.inputs).toEqual([{ name: 'float_input', type: 'float32', shape: ['?', 10] }]);
    const stored = path.join(home, 'artifacts', v1.artifactSha256.slice(0, 2), `${v1.artifactSha256}.onnx`);
    expect(fs.readFileSync(stored)).toEqual(fs.readFileSync(fixture('nba_points_v1.onnx')));
    const { version: v2 } = await registry.register({ name: 'nba_points', artifactPath: fixture('nba_points_v1.onnx'), version: 'v2.0-rc1' }, who);
    expect(v2.version).toBe('v2.0-rc1');
    const { version: v3 } = await registry.register({ name: 'nba_points', artifactPath: fixture('nba_points_v2.onnx') }, who);
    expect(v3.version).toBe('v3');
    expect(fs.readdirSync(path.join(home, 'artifacts', 'tmp'))).toEqual([]); // no temp file left behind
  });

  it('rolls back through several promotions using the audit trail', async () => {
    const { registry } = registryOn(tempDir());
    await fourVersions(registry);
    for (const v of ['v1', 'v2', 'v3', 'v4']) await registry.promote('nba_points', { version: v, targetStage: 'production', archiveExisting: true }, who);
    const stages = async () => Object.fromEntries((await registry.modelState('nba_points')).versions.map((v) => [v.version, v.stage]));
    expect(await stages()).toEqual({ v1: 'archived', v2: 'archived', v3: 'archived', v4: 'production' });

    const first = await registry.rollback('nba_points', {}, who);
    expect(first.productionBefore).toBe('v4');
    expect(first.productionAfter).toBe('v3');
    expect(await stages()).toEqual({ v1: 'archived', v2: 'archived', v3: 'production', v4: 'archived' });
    // The previous production version is now v4 (it was in production before v3 came back).
    expect((await registry.rollback('nba_points', {}, who)).productionAfter).toBe('v4');
    expect((await registry.rollback('nba_points', { toVersion: 'v1' }, who)).productionAfter).toBe('v1');
    expect(await stages()).toEqual({ v1: 'production', v2: 'archived', v3: 'archived', v4: 'archived' });

    const { entries } = await registry.history('nba_points', { limit: 100 });
    expect(entries[0]).toMatchObject({ action: 'rollback', version: 'v4', fromStage: 'production', toStage: 'archived', actor: 'test', reason: 'because' });
    expect(entries.filter((e) => e.action === 'register')).toHaveLength(4);
  });

  it('lets only one of two concurrent promotions hold production, from two connections', async () => {
    const home = tempDir();
    const a = registryOn(home);
    const b = registryOn(home);
    await fourVersions(a.registry);
    await Promise.all([
      a.registry.promote('nba_points', { version: 'v1', targetStage: 'production', archiveExisting: true }, who),
      b.registry.promote('nba_points', { version: 'v2', targetStage: 'production', archiveExisting: true }, who),
      a.registry.promote('nba_points', { version: 'v3', targetStage: 'production', archiveExisting: false }, who),
    ]);
    const versions = (await a.registry.modelState('nba_points')).versions;
    expect(versions.filter((v) => v.stage === 'production')).toHaveLength(1);
    // Stages agree with the audit trail: each version's last audited to_stage is its stage.
    const { entries } = await b.registry.history('nba_points', { limit: 100 });
    for (const v of versions) expect(entries.find((e) => e.version === v.version)?.toStage).toBe(v.stage);
  });

  it('answers a dry run with the plan and writes nothing', async () => {
    const home = tempDir();
    const { registry } = registryOn(home);
    await fourVersions(registry);
    await registry.promote('nba_points', { version: 'v1', targetStage: 'production', archiveExisting: true }, who);
    const before = await registry.modelState('nba_points');
    const dry = await registry.promote('nba_points', { version: 'v2', targetStage: 'production', archiveExisting: true }, who, { dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, productionBefore: 'v1', productionAfter: 'v2' });
    expect(await registry.modelState('nba_points')).toEqual(before);
    const reg = await registry.register({ name: 'nba_points', artifactPath: fixture('nba_points_v2.onnx') }, who, { dryRun: true });
    expect(reg.version.version).toBe('v5');
    expect(await registry.modelState('nba_points')).toEqual(before);
  });

  it('refuses a file that is not ONNX and keeps nothing of it', async () => {
    const home = tempDir();
    const { registry } = registryOn(home);
    await expect(registry.register({ name: 'x', artifactPath: fixture('nba_points_reference.csv') }, who)).rejects.toThrow(/not a usable ONNX model/);
    expect(fs.readdirSync(path.join(home, 'artifacts', 'tmp'))).toEqual([]);
    expect(fs.readdirSync(path.join(home, 'artifacts')).filter((d) => d !== 'tmp')).toEqual([]);
  });

  it('removes temp files left by writes that never finished when the store is opened, and only stale ones', async () => {
    const home = tempDir();
    const tmp = path.join(home, 'artifacts', 'tmp');
    fs.mkdirSync(tmp, { recursive: true });
    // Real files as a killed process leaves them, aged by setting their mtime.
    const put = (name: string, ageMs: number) => {
      const file = path.join(tmp, name);
      fs.writeFileSync(file, 'partial bytes');
      const t = new Date(Date.now() - ageMs);
      fs.utimesSync(file, t, t);
      return name;
    };
    const stalePart = put(`${randomUUID()}.part`, STALE_TEMP_MS + 60_000);
    const staleImport = put(`import-${randomUUID()}.onnx`, STALE_TEMP_MS + 60_000);
    // Another process on this home may be writing these right now: they stay.
    const livePart = put(`${randomUUID()}.part`, 5_000);
    const almostStale = put(`${randomUUID()}.part`, STALE_TEMP_MS - 60_000);
    // Not a name the store writes: never touched, however old.
    const foreign = put('notes.part', STALE_TEMP_MS * 10);

    new ArtifactStore(path.join(home, 'artifacts'));
    expect(fs.readdirSync(tmp).sort()).toEqual([livePart, almostStale, foreign].sort());

    // The age is a constructor option; what a registration stages afterwards is untouched by it.
    const store = new ArtifactStore(path.join(home, 'artifacts'), { staleTempMs: 60_000 });
    expect(fs.readdirSync(tmp).sort()).toEqual([livePart, foreign].sort());
    const staged = await store.stage(fixture('nba_points_v1.onnx'));
    expect(store.removeStaleTemps(60_000)).toEqual([]);
    expect(fs.existsSync(staged.tempPath)).toBe(true);
    expect(store.removeStaleTemps(60_000, Date.now() + 120_000)).toEqual(expect.arrayContaining([livePart, path.basename(staged.tempPath)]));
    expect(fs.readdirSync(tmp)).toEqual([foreign]);
    expect([stalePart, staleImport].some((n) => fs.existsSync(path.join(tmp, n)))).toBe(false);
  });

  it('opens on a home without a temp area', () => {
    const home = tempDir();
    expect(() => new ArtifactStore(path.join(home, 'artifacts'))).not.toThrow();
  });
});

describe('stored artifacts no registry row names (a registration refused after storing its file)', () => {
  const age = (file: string, ms: number) => {
    const t = new Date(Date.now() - ms);
    fs.utimesSync(file, t, t);
  };

  /** A home with nba_points_v1.onnx registered as model `name`, and its artifact store. */
  async function homeWith(name: string) {
    const home = tempDir();
    const { registry, store } = registryOn(home);
    const { version } = await registry.register({ name, artifactPath: fixture('nba_points_v1.onnx') }, who);
    return { home, registry, store, version, artifacts: new ArtifactStore(path.join(home, 'artifacts')) };
  }

  it('are removed when the server opens the home, once older than the temp-file age; named, fresh and foreign files stay', async () => {
    const { home, store, version, artifacts } = await homeWith('nba_points');
    const named = artifacts.pathFor(version.artifactSha256);
    age(named, STALE_TEMP_MS * 10);
    // What a refused registration leaves: a real model's bytes under their own sha256.
    const put = (sha: string, ms: number, where = artifacts.pathFor(sha)) => {
      fs.mkdirSync(path.dirname(where), { recursive: true });
      fs.copyFileSync(fixture('nba_points_v2.onnx'), where);
      age(where, ms);
      return where;
    };
    const oldOrphan = put('ab'.repeat(32), STALE_TEMP_MS + 60_000);
    const freshOrphan = put('cd'.repeat(32), 5_000); // another process may be about to name it
    const misplaced = put('ef'.repeat(32), STALE_TEMP_MS * 10, path.join(home, 'artifacts', '00', `${'ef'.repeat(32)}.onnx`));
    const foreign = put('', STALE_TEMP_MS * 10, path.join(home, 'artifacts', 'ab', 'notes.onnx'));

    expect(artifacts.removeUnreferenced(await store.referencedArtifacts(), STALE_TEMP_MS)).toEqual(['ab'.repeat(32)]);
    expect([oldOrphan, freshOrphan, misplaced, foreign, named].map((f) => fs.existsSync(f))).toEqual([false, true, true, true, true]);
    expect(await artifacts.verify(version.artifactSha256, version.artifactBytes)).toBe('ok');
  });

  it('the server sweeps them when it opens the home', async () => {
    const root = tempDir();
    const config = loadConfig({ MLOPS_MCP_HOME: path.join(root, 'home'), MLOPS_MCP_ALLOWED_DIRS: FIXTURES, LOG_LEVEL: 'silent' }, root);
    const first = await createAppContext(config, pino({ level: 'silent' }));
    const { version } = await first.registry.register({ name: 'nba_points', artifactPath: fixture('nba_points_v1.onnx') }, who);
    await first.close();
    const orphan = first.artifacts.pathFor('ab'.repeat(32));
    fs.mkdirSync(path.dirname(orphan), { recursive: true });
    fs.copyFileSync(fixture('nba_points_v2.onnx'), orphan);
    age(orphan, STALE_TEMP_MS + 60_000);
    const second = await createAppContext(config, pino({ level: 'silent' }));
    try {
      expect(fs.existsSync(orphan)).toBe(false);
      expect(fs.existsSync(second.artifacts.pathFor(version.artifactSha256))).toBe(true);
    } finally {
      await second.close();
    }
  });

  it('a registration that reuses a stored file touches it, so a sweep starting meanwhile keeps it', async () => {
    const { registry, store, version, artifacts } = await homeWith('a');
    const file = artifacts.pathFor(version.artifactSha256);
    age(file, STALE_TEMP_MS * 10);
    await registry.register({ name: 'b', artifactPath: fixture('nba_points_v1.onnx') }, who);
    expect(Date.now() - fs.statSync(file).mtimeMs).toBeLessThan(60_000);
    // Named by both rows now; the sweep never takes a named file, however old.
    age(file, STALE_TEMP_MS * 10);
    expect(artifacts.removeUnreferenced(await store.referencedArtifacts(), STALE_TEMP_MS)).toEqual([]);
  });
});
