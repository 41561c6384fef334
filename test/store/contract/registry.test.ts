import { expect, it } from 'vitest';
import { DomainError } from '../../../src/errors.js';
import { nextVersionLabel, planPromotion, planRollback } from '../../../src/registry/rules.js';
import type { NewVersion, StagePlan, VersionLabel } from '../../../src/registry/types.js';
import type { Store } from '../../../src/store/store.js';
import { describeEachEngine } from './engines.js';

const who = { actor: 'contract', reason: 'testing' };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const signature = { inputs: [{ name: 'x', type: 'float32', shape: ['?', 2] }], outputs: [{ name: 'y', type: 'float32', shape: ['?', 1] }], classLabels: null };

/** A version row as the registry would decide it: label given, or the next v<n>. */
const draft =
  (name: string, label?: string, sha = 'a'.repeat(64)) =>
  (existing: VersionLabel[]): NewVersion => ({
    name,
    version: label ?? nextVersionLabel(existing),
    artifactSha256: sha,
    artifactBytes: 123,
    sourcePath: '/models/m.onnx',
    signature,
    featureNames: ['a', 'b'],
    metrics: { r2: 0.91 },
    tags: { team: 'nba' },
    description: 'a model',
  });

async function versions(store: Store, name: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await store.registry.registerVersion(name, draft(name), who);
}

const promote = async (store: Store, name: string, version: string, archiveExisting = true) => {
  const done = await store.registry.changeStages(name, (s) => planPromotion(s, { version, targetStage: 'production', archiveExisting }), who);
  if (!done) throw new Error(`no model ${name}`);
  return done.plan;
};

describeEachEngine('store contract: registry', (engine) => {
  it('registers versions with labels and seq chosen in the transaction, audited, timestamps as ISO strings', async () => {
    const store = await (await engine.database()).open();
    const v1 = await store.registry.registerVersion('m', draft('m'), who);
    const v2 = await store.registry.registerVersion('m', draft('m', 'v2.0', 'b'.repeat(64)), who);
    expect(v1).toMatchObject({
      name: 'm',
      version: 'v1',
      seq: 1,
      stage: 'none',
      artifactBytes: 123,
      signature,
      featureNames: ['a', 'b'],
      metrics: { r2: 0.91 },
      tags: { team: 'nba' },
    });
    expect(v2).toMatchObject({ version: 'v2.0', seq: 2 });
    expect(v1.createdAt).toMatch(ISO);
    expect(await store.registry.getVersion('m', 'v2.0')).toEqual(v2);
    expect(await store.registry.versionLabels('m')).toEqual([
      { version: 'v1', seq: 1 },
      { version: 'v2.0', seq: 2 },
    ]);
    const history = await store.registry.history('m', { limit: 10 });
    expect(history.map((e) => [e.action, e.version, e.toStage, e.actor, e.reason, e.details])).toEqual([
      ['register', 'v2.0', 'none', 'contract', 'testing', { sha256: 'b'.repeat(64) }],
      ['register', 'v1', 'none', 'contract', 'testing', { sha256: 'a'.repeat(64) }],
    ]);
    expect(history[0].createdAt).toMatch(ISO);
    expect(await store.registry.versionsWithArtifact('a'.repeat(64))).toEqual([{ name: 'm', version: 'v1' }]);
    expect(await store.registry.referencedArtifacts()).toEqual(new Set(['a'.repeat(64), 'b'.repeat(64)]));
  });

  it('leaves nothing behind when the decision refuses, a new model included, and passes the domain error through', async () => {
    const store = await (await engine.database()).open();
    const refusal = new DomainError('already_exists', 'no');
    await expect(
      store.registry.registerVersion(
        'new',
        () => {
          throw refusal;
        },
        who,
      ),
    ).rejects.toBe(refusal);
    expect(await store.registry.modelState('new')).toBeUndefined();
    expect(await store.registry.modelNames()).toEqual([]);
    expect(await store.registry.history('new', { limit: 10 })).toEqual([]);
  });

  it('lists versions in byte order of names, then registration order, and pages by keyset', async () => {
    const store = await (await engine.database()).open();
    for (const name of ['b', 'B', 'a_1', 'a-2', 'A']) await versions(store, name, 2);
    const all = await store.registry.listVersions({ limit: 100 });
    expect(all.map((v) => `${v.name}/${v.version}`)).toEqual(['A/v1', 'A/v2', 'B/v1', 'B/v2', 'a-2/v1', 'a-2/v2', 'a_1/v1', 'a_1/v2', 'b/v1', 'b/v2']);
    const page2 = await store.registry.listVersions({ limit: 3, after: { name: 'B', seq: 1 } });
    expect(page2.map((v) => `${v.name}/${v.version}`)).toEqual(['B/v2', 'a-2/v1', 'a-2/v2']);
    expect(await store.registry.modelNames()).toEqual(['A', 'B', 'a-2', 'a_1', 'b']);
    expect((await store.registry.listVersions({ limit: 100, name: 'b' })).map((v) => v.version)).toEqual(['v1', 'v2']);
    const later = new Date(Date.now() + 60_000).toISOString();
    expect(await store.registry.listVersions({ limit: 100, createdBefore: '2000-01-01T00:00:00.000Z' })).toEqual([]);
    expect(await store.registry.listVersions({ limit: 100, createdBefore: later })).toHaveLength(10);
  });

  it('applies a stage plan with its audit rows, alerts and the end of a split, and knows the previous production version', async () => {
    const store = await (await engine.database()).open();
    await versions(store, 'm', 3);
    await promote(store, 'm', 'v1');
    await store.traffic.setTraffic('m', () => ({ weights: { v1: 0.5, v2: 0.5 }, routing: 'random', alerts: [] }), who);
    const plan = await promote(store, 'm', 'v2');
    expect(plan.changes).toEqual([
      { version: 'v2', from: 'none', to: 'production' },
      { version: 'v1', from: 'production', to: 'archived' },
    ]);
    const state = (await store.registry.modelState('m'))!;
    expect(state.versions.map((v) => v.stage)).toEqual(['archived', 'production', 'none']);
    expect(state.previousProduction).toBe('v1');
    expect(state.traffic).toBeNull();
    expect(await store.registry.stageCounts()).toEqual({ none: 1, staging: 0, production: 1, archived: 1 });
    const history = await store.registry.history('m', { limit: 4 });
    expect(history.map((e) => [e.action, e.version, e.fromStage, e.toStage, e.details])).toEqual([
      ['configure_traffic', null, null, null, { before: { v1: 0.5, v2: 0.5 }, after: null }],
      ['promote', 'v1', 'production', 'archived', null],
      ['promote', 'v2', 'none', 'production', null],
      ['configure_traffic', null, null, null, { before: null, after: { v1: 0.5, v2: 0.5 }, routing: 'random' }],
    ]);
    const alerts = await store.alerts.list({ since: '2000-01-01T00:00:00.000Z', limit: 10 });
    expect(alerts.map((a) => [a.type, a.version])).toEqual([
      ['model_promoted', 'v2'],
      ['model_promoted', 'v1'],
    ]);
    const rolled = await store.registry.changeStages('m', (s) => planRollback(s, {}), who);
    expect(rolled?.plan.changes.map((c) => c.version)).toEqual(['v1', 'v2']);
    // The plan comes with the state it was made on, inside the transaction.
    expect(rolled?.before.versions.map((v) => v.stage)).toEqual(['archived', 'production', 'none']);
    expect(await store.registry.changeStages('nothing', () => ({ action: 'promote', changes: [], alerts: [] }), who)).toBeUndefined();
    expect((await store.registry.modelState('m'))!.previousProduction).toBe('v2');
  });

  it("remembers as rollback's target the version in production just before the current one, not the oldest or the newest", async () => {
    const store = await (await engine.database()).open();
    await versions(store, 'm', 4);
    for (const v of ['v1', 'v3', 'v2']) await promote(store, 'm', v);
    await store.registry.changeStages('m', (s) => planPromotion(s, { version: 'v4', targetStage: 'staging', archiveExisting: true }), who);
    const previous = async () => (await store.registry.modelState('m'))!.previousProduction;
    expect(await previous()).toBe('v3');
    const rolled = await store.registry.changeStages('m', (s) => planRollback(s, {}), who);
    expect(rolled?.plan.changes).toEqual([
      { version: 'v3', from: 'archived', to: 'production' },
      { version: 'v2', from: 'production', to: 'archived' },
    ]);
    expect(await previous()).toBe('v2');
    await promote(store, 'm', 'v4');
    expect(await previous()).toBe('v3');
  });

  it('writes nothing of a plan the rules refuse inside the transaction, or one the database refuses (two in production)', async () => {
    const store = await (await engine.database()).open();
    await versions(store, 'm', 2);
    await promote(store, 'm', 'v1');
    const before = await store.registry.modelState('m');
    const refusal = new DomainError('failed_precondition', 'changed meanwhile');
    await expect(
      store.registry.changeStages(
        'm',
        () => {
          throw refusal;
        },
        who,
      ),
    ).rejects.toBe(refusal);
    const twoInProduction: StagePlan = {
      action: 'promote',
      changes: [{ version: 'v2', from: 'none', to: 'production' }],
      alerts: [{ type: 'model_promoted', severity: 'info', name: 'm', version: 'v2', message: 'x' }],
    };
    await expect(store.registry.changeStages('m', () => twoInProduction, who)).rejects.toThrow();
    expect(await store.registry.modelState('m')).toEqual(before);
    expect(await store.alerts.list({ since: '2000-01-01T00:00:00.000Z', limit: 10 })).toHaveLength(1);
  });

  it(
    'runs promotions from four connections one model at a time: no error, one production at every moment, every change audited',
    { timeout: 60_000 },
    async () => {
      const db = await engine.database();
      const stores = await Promise.all([db.open(), db.open(), db.open(), db.open()]);
      await versions(stores[0], 'm', 3);
      let changed = 0;
      const failures: unknown[] = [];
      await Promise.all(
        stores.map(async (store, s) => {
          for (let i = 0; i < 25; i++) {
            try {
              const plan = await promote(store, 'm', `v${((i + s) % 3) + 1}`, false);
              changed += plan.changes.length;
            } catch (e) {
              failures.push(e);
            }
            const production = (await store.registry.listVersions({ name: 'm', stage: 'production', limit: 10 })).length;
            if (production !== 1) failures.push(`${production} production versions`);
          }
        }),
      );
      expect(failures).toEqual([]);
      const rows = await db.rows<{ n: number }>("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'promote'");
      expect(Number(rows[0].n)).toBe(changed);
    },
  );

  it('records refusals and pages the audit trail newest first, by actor and time', async () => {
    const store = await (await engine.database()).open();
    await versions(store, 'm', 1);
    for (let i = 0; i < 5; i++) {
      const approval = i === 4 ? { actorName: 'Alice Example', approvedBy: 'carol', approverReason: 'looks right' } : {};
      await store.registry.recordRefusal(
        'm',
        'v1',
        { actor: i % 2 ? 'alice' : 'bob', reason: `try ${i}`, ...approval },
        { tool: 'promote_model', outcome: 'declined' },
      );
    }
    const first = await store.registry.history('m', { limit: 2 });
    // The caller's reason in its column; its display name, the approver and their own reason beside it.
    expect(first.map((e) => e.reason)).toEqual(['try 4', 'try 3']);
    expect(first[0].details).toEqual({
      tool: 'promote_model',
      outcome: 'declined',
      actor_name: 'Alice Example',
      approved_by: 'carol',
      approver_reason: 'looks right',
    });
    expect(first[1].details).toEqual({ tool: 'promote_model', outcome: 'declined' });
    const next = await store.registry.history('m', { limit: 2, beforeId: first[1].id });
    expect(next.map((e) => e.reason)).toEqual(['try 2', 'try 1']);
    expect((await store.registry.history('m', { limit: 10, actor: 'alice' })).map((e) => e.reason)).toEqual(['try 3', 'try 1']);
    expect(await store.registry.history('m', { limit: 10, since: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
    // By action: the registration alone, or the newest refusal.
    expect((await store.registry.history('m', { limit: 10, action: 'register' })).map((e) => e.action)).toEqual(['register']);
    expect((await store.registry.history('m', { limit: 1, action: 'refused' })).map((e) => e.reason)).toEqual(['try 4']);
  });

  it('keeps any text a caller sends: a NUL character in a reason does not fail the write', async () => {
    const store = await (await engine.database()).open();
    await versions(store, 'm', 1);
    await store.registry.recordRefusal('m', null, { actor: 'a\u0000b', reason: 'x\u0000y' }, { note: 'z\u0000' });
    const [entry] = await store.registry.history('m', { limit: 1 });
    // SQLite keeps U+0000; PostgreSQL's text cannot hold it and keeps U+FFFD in its place.
    const nul = engine.name === 'sqlite' ? '\u0000' : '\uFFFD';
    expect([entry.actor, entry.reason]).toEqual([`a${nul}b`, `x${nul}y`]);
    expect(entry.details).toEqual({ note: 'z\u0000' });
  });

  it("moves the change token on its own writes at once, and on another connection's within a second", async () => {
    const db = await engine.database();
    const [a, b] = await Promise.all([db.open(), db.open()]);
    await versions(a, 'm', 2);
    const before = a.changes.token();
    await promote(a, 'm', 'v1');
    expect(a.changes.token()).not.toBe(before);
    const seen = b.changes.token();
    await promote(a, 'm', 'v2');
    const started = Date.now();
    while (b.changes.token() === seen && Date.now() - started < 1000) await new Promise((r) => setTimeout(r, 5));
    expect(b.changes.token()).not.toBe(seen);
  });
});
