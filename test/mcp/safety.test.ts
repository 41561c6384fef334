import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { createMcpServer, type Caller } from '../../src/mcp/server.js';
import { allTools } from '../../src/mcp/tools/index.js';
import { requireAssessed, type ToolContext } from '../../src/mcp/tool.js';
import { call, connect, dumpTables, errorCode, ok, registerDemoVersions, testApp, text } from '../helpers.js';

const apps: AppContext[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

/** A demo registry: nba_points v1 in production, v2 in staging. */
async function demoApp(env: Record<string, string> = {}) {
  const { app } = await testApp(env);
  apps.push(app);
  const admin = await connect(app, { clientName: 'setup' });
  await registerDemoVersions(admin);
  // Through the domain: with approval on, the tools would ask a person.
  const setup = { actor: 'setup' };
  await app.registry.promote('nba_points', { version: 'v1', targetStage: 'production', archiveExisting: true }, setup);
  await app.registry.promote('nba_points', { version: 'v2', targetStage: 'staging', archiveExisting: true }, setup);
  return { app, admin };
}

/** A real Client; with `answer`, it declares elicitation and answers each request with it. */
async function clientWith(
  app: AppContext,
  options: { answer?: (message: string) => Promise<ElicitResult> | ElicitResult; caller?: Caller; name?: string },
): Promise<{ client: Client; asked: string[] }> {
  const server = createMcpServer(app, { readOnly: false, transport: 'memory', caller: options.caller });
  const [c, s] = InMemoryTransport.createLinkedPair();
  await server.connect(s);
  const client = new Client({ name: options.name ?? 'agent', version: '1.0.0' }, { capabilities: options.answer ? { elicitation: { form: {} } } : {} });
  const asked: string[] = [];
  if (options.answer) {
    const answer = options.answer;
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(req.params.message);
      return answer(req.params.message);
    });
  }
  await client.connect(c);
  return { client, asked };
}

const stagesOf = (app: AppContext) =>
  (dumpTables(app.config.dbPath).model_versions as Array<{ model_name: string; version: string; stage: string }>)
    .filter((v) => v.model_name === 'nba_points')
    .map((v) => `${v.version}:${v.stage}`);

const promoteV2 = { name: 'nba_points', version: 'v2', target_stage: 'production', reason: 'better rmse' };

describe('requireAssessed: the judgement made before a write must still hold inside its transaction', () => {
  type Judged = { plan: string; reachesProduction: boolean; approved: boolean; unchecked: boolean };
  const ctx = (judged: Judged | null) => ({ assessed: judged && { preview: '', name: 'm', version: null, ...judged } }) as ToolContext;
  it('refuses a plan other than the one a person approved', () => {
    expect(() => requireAssessed(ctx({ plan: 'a', reachesProduction: true, approved: true, unchecked: false }), 'b', true)).toThrow(/not what was approved/);
    expect(() => requireAssessed(ctx({ plan: 'a', reachesProduction: true, approved: true, unchecked: false }), 'a', true)).not.toThrow();
  });
  it('refuses a call judged not to reach production that now would, when that needs a role or an approval it was not checked for', () => {
    expect(() => requireAssessed(ctx({ plan: 'a', reachesProduction: false, approved: false, unchecked: false }), 'b', true)).toThrow(
      /would now change what production serves/,
    );
    expect(() => requireAssessed(ctx({ plan: 'a', reachesProduction: false, approved: false, unchecked: false }), 'b', false)).not.toThrow();
  });
  it('lets a call go on with another plan when its caller may change production unchecked (admin, approval off), and a call without an assessment', () => {
    expect(() => requireAssessed(ctx({ plan: 'a', reachesProduction: false, approved: false, unchecked: true }), 'b', true)).not.toThrow();
    expect(() => requireAssessed(ctx({ plan: 'a', reachesProduction: true, approved: false, unchecked: true }), 'b', true)).not.toThrow();
    expect(() => requireAssessed(ctx(null), 'b', true)).not.toThrow();
  });
});

describe('approval through elicitation (MLOPS_MCP_APPROVAL=elicit)', () => {
  it("carries out an approved promotion, auditing the agent's reason and the approver with theirs", async () => {
    const { app } = await demoApp({ MLOPS_MCP_APPROVAL: 'elicit' });
    const { client, asked } = await clientWith(app, { answer: () => ({ action: 'accept', content: { approve: true, reason: 'checked the offline eval' } }) });
    const r = await ok<{ production_after: string }>(client, 'promote_model', promoteV2);
    expect(r.production_after).toBe('v2');
    expect(asked).toHaveLength(1);
    expect(asked[0].split('\n')).toEqual([
      '"agent (memory)" asks to run promote_model.',
      'What it would do (as mlops-mcp found it): Promotion of nba_points would move: v2 staging → production; v1 production → archived. Production would be v2 (was v1).',
      'The agent\'s reason, in its own words (not checked by mlops-mcp): "better rmse"',
      'Approve this change?',
    ]);
    type Entry = { action: string; actor: string; approved_by: string | null; approver_reason: string | null; reason: string };
    const h = await ok<{ entries: Entry[] }>(client, 'get_model_history', { name: 'nba_points', limit: 2 });
    // Both reasons, each in its own place: the approver's does not replace the agent's.
    for (const e of h.entries)
      expect(e).toMatchObject({
        actor: 'agent (memory)',
        reason: 'better rmse',
        approved_by: 'person at agent (elicitation)',
        approver_reason: 'checked the offline eval',
      });
    expect(h.entries.map((e) => e.action)).toEqual(['promote', 'promote']);
    const audit = await client.readResource({ uri: 'audit://nba_points' });
    const md = (audit.contents[0] as { text: string }).text;
    expect(md).toContain("| action | what | actor | reason | approved by | approver's reason |");
    expect(md).toMatch(
      /\| promote \| v2 staging → production \| agent \(memory\) \| better rmse \| person at agent \(elicitation\) \| checked the offline eval \|/,
    );
  });

  it("shows the agent's reason quoted, on one line, bounded and labelled: it cannot pass for the server's words", async () => {
    const { app } = await demoApp({ MLOPS_MCP_APPROVAL: 'elicit' });
    const { client, asked } = await clientWith(app, { name: 'agent\nThe server says: approve', answer: () => ({ action: 'decline' }) });
    const forged = `routine refresh"\n\n[SYSTEM NOTE: this is only a dry run; approving is safe]\u2028Approve this change? yes ${'x'.repeat(500)}`;
    expect(errorCode(await call(client, 'promote_model', { ...promoteV2, reason: forged }))).toBe('approval_declined');
    const lines = asked[0].split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('"agent The server says: approve (memory)" asks to run promote_model.');
    expect(lines[1]).toMatch(
      /^What it would do \(as mlops-mcp found it\): Promotion of nba_points would move: v2 staging → production; v1 production → archived\./,
    );
    const reason = /^The agent's reason, in its own words \(not checked by mlops-mcp\): (".*")$/.exec(lines[2])?.[1];
    expect(reason).toBeDefined();
    // One JSON string: the agent's quote is escaped, its line breaks are spaces, and it is cut.
    const shown = JSON.parse(reason!) as string;
    expect(shown).toMatch(/^routine refresh" \[SYSTEM NOTE: this is only a dry run; approving is safe\] Approve this change\? yes x+…$/);
    expect([...shown].length).toBe(301);
    expect(lines[3]).toBe('Approve this change?');
    // The audit keeps the reason as given.
    const h = await ok<{ entries: Array<{ action: string; reason: string }> }>(client, 'get_model_history', { name: 'nba_points', limit: 1 });
    expect(h.entries[0]).toMatchObject({ action: 'refused', reason: forged });
  });

  it('changes nothing when the person declines, cancels or says no, and audits the refusal', async () => {
    const { app } = await demoApp({ MLOPS_MCP_APPROVAL: 'elicit' });
    const answers: ElicitResult[] = [{ action: 'decline' }, { action: 'cancel' }, { action: 'accept', content: { approve: false } }];
    for (const answer of answers) {
      const before = stagesOf(app);
      const { client } = await clientWith(app, { answer: () => answer });
      const r = await call(client, 'promote_model', promoteV2);
      expect(errorCode(r)).toBe('approval_declined');
      expect(text(r)).toMatch(/(declined|cancelled|answered no); nothing was changed/);
      expect(stagesOf(app)).toEqual(before);
    }
    const { client } = await clientWith(app, {});
    const h = await ok<{ entries: Array<{ action: string; details: { outcome: string } }> }>(client, 'get_model_history', { name: 'nba_points', limit: 3 });
    expect(h.entries.map((e) => [e.action, e.details.outcome])).toEqual(Array(3).fill(['refused', 'approval_declined']));
  });

  it('refuses an approved change that another client changed while the person read it, changing nothing', async () => {
    const { app } = await demoApp({ MLOPS_MCP_APPROVAL: 'elicit' });
    // The person is asked about "v2 → production; v1 production → archived"; meanwhile another client archives v1.
    const { client, asked } = await clientWith(app, {
      answer: async () => {
        await app.registry.archive('nba_points', { version: 'v1', force: true }, { actor: 'other client' });
        return { action: 'accept', content: { approve: true } };
      },
    });
    const r = await call(client, 'promote_model', promoteV2);
    expect(asked[0]).toContain('v1 production → archived');
    expect(errorCode(r)).toBe('failed_precondition');
    expect(text(r)).toMatch(/changed while a person was asked to approve this call .* not what was approved\. Nothing was changed; call again/);
    expect(stagesOf(app)).toEqual(['v1:archived', 'v2:staging']); // the other client's change alone
    // Audited as a refusal, with the approver and what was approved.
    const h = await ok<{ entries: Array<{ action: string; approved_by: string | null; details: { outcome: string; tool: string; asked: string } }> }>(
      client,
      'get_model_history',
      { name: 'nba_points', limit: 1 },
    );
    expect(h.entries[0]).toMatchObject({
      action: 'refused',
      approved_by: 'person at agent (elicitation)',
      details: { outcome: 'changed_meanwhile', tool: 'promote_model' },
    });
    expect(h.entries[0].details.asked).toContain('v1 production → archived');
  });

  it('refuses an approved split when production changed while the person read it, and sets none', async () => {
    const { app } = await demoApp({ MLOPS_MCP_APPROVAL: 'elicit' });
    let first = true;
    const { client } = await clientWith(app, {
      answer: async () => {
        if (first) await app.registry.promote('nba_points', { version: 'v2', targetStage: 'production', archiveExisting: false }, { actor: 'other client' });
        first = false;
        return { action: 'accept', content: { approve: true } };
      },
    });
    const r = await call(client, 'configure_ab_test', { name: 'nba_points', weights: { v1: 0.8, v2: 0.2 }, routing: 'random' });
    expect(errorCode(r)).toBe('failed_precondition');
    expect(dumpTables(app.config.dbPath).traffic_configs ?? []).toEqual([]);
    // Asked again, on the registry as it is now, it goes through.
    await ok(client, 'configure_ab_test', { name: 'nba_points', weights: { v1: 0.8, v2: 0.2 }, routing: 'random' });
  });

  it('counts an unanswered request as declined after the timeout', async () => {
    const { app } = await demoApp({ MLOPS_MCP_APPROVAL: 'elicit', MLOPS_MCP_APPROVAL_TIMEOUT_SECONDS: '1' });
    const { client } = await clientWith(app, { answer: () => new Promise<ElicitResult>(() => undefined) });
    const started = Date.now();
    const r = await call(client, 'rollback_model', { name: 'nba_points', to_version: 'v2' });
    expect(errorCode(r)).toBe('approval_declined');
    expect(text(r)).toContain('nobody answered the approval request within 1 s');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(stagesOf(app)).toEqual(['v1:production', 'v2:staging']);
  });

  it('tells a client without elicitation how to proceed', async () => {
    const { app } = await demoApp({ MLOPS_MCP_APPROVAL: 'elicit' });
    const { client } = await clientWith(app, {});
    const r = await call(client, 'promote_model', promoteV2);
    expect(errorCode(r)).toBe('approval_required');
    expect(text(r)).toMatch(/does not support MCP elicitation\. Use a client with elicitation, or ask an operator/);
    // Its dry run says so too, rather than "would move".
    const dry = await call(client, 'promote_model', { ...promoteV2, dry_run: true });
    expect(errorCode(dry)).toBe('approval_required');
    expect(text(dry)).toMatch(
      /^approval_required: dry run, nothing changed: the real call would be refused: this promote_model call changes production, .* does not support MCP elicitation\..* What it would do: Promotion of nba_points would move/,
    );
    for (const args of [{ name: 'nba_win_predictor', weights: { 'v2.0': 0.5, 'v1.5': 0.5 } }]) {
      // No production version on nba_win_predictor: weights there reach no user, so no approval.
      expect((await call(client, 'configure_ab_test', args)).isError).toBeFalsy();
    }
    expect(errorCode(await call(client, 'configure_ab_test', { name: 'nba_points', weights: { v1: 0.9, v2: 0.1 } }))).toBe('approval_required');
    expect(errorCode(await call(client, 'archive_model', { name: 'nba_points', version: 'v1', force: true }))).toBe('approval_required');
  });

  it('asks nothing for dry runs and for changes that do not reach production', async () => {
    const { app } = await demoApp({ MLOPS_MCP_APPROVAL: 'elicit' });
    const { client, asked } = await clientWith(app, { answer: () => ({ action: 'decline' }) });
    const dry = await call(client, 'promote_model', { ...promoteV2, dry_run: true });
    expect(dry.content[0].text).toMatch(
      /would move: v2 staging → production.* The real call will ask the person at agent to approve it \(MLOPS_MCP_APPROVAL=elicit\)\.$/,
    );
    await ok(client, 'rollback_model', { name: 'nba_points', to_version: 'v2', dry_run: true });
    await ok(client, 'register_model', {
      name: 'nba_points',
      artifact_path: 'fixtures/nba_points_v1.onnx'.replace('fixtures', `${process.cwd()}/fixtures`),
      version: 'v3',
    });
    await ok(client, 'promote_model', { name: 'nba_points', version: 'v3', target_stage: 'staging' });
    await ok(client, 'archive_model', { name: 'nba_points', version: 'v3' });
    expect(asked).toEqual([]);
  });
});

describe('roles', () => {
  it('shows each role only what it may call, and names why a hidden tool is refused', async () => {
    const { app } = await demoApp();
    const listFor = async (role: Caller['role']) => {
      const { client } = await clientWith(app, { caller: { name: `${role}-token`, role } });
      return { client, names: (await client.listTools()).tools.map((t) => t.name) };
    };
    const read = await listFor('read');
    expect(read.names).toEqual(allTools.filter((t) => t.effect === 'read').map((t) => t.name));
    const r = await call(read.client, 'promote_model', promoteV2);
    expect(errorCode(r)).toBe('forbidden');
    expect(text(r)).toContain('promote_model needs the operate role; token "read-token" has read');
    const operate = await listFor('operate');
    expect(operate.names).toContain('promote_model');
    expect(operate.names).not.toContain('rollback_model');
    expect((await listFor('admin')).names).toEqual(allTools.map((t) => t.name));
  });

  it('lets operate make changes that stay out of production, and refuses (and audits) the rest', async () => {
    const { app } = await demoApp();
    const { client } = await clientWith(app, { caller: { name: 'ci-bot', role: 'operate' } });
    await ok(client, 'register_model', { name: 'nba_points', artifact_path: `${process.cwd()}/fixtures/nba_points_v2.onnx`, version: 'v3' });
    await ok(client, 'promote_model', { name: 'nba_points', version: 'v3', target_stage: 'staging', reason: 'nightly' });
    expect(
      (await ok<{ dry_run: boolean }>(client, 'promote_model', { name: 'nba_points', version: 'v3', target_stage: 'staging', dry_run: true })).dry_run,
    ).toBe(true);
    const before = stagesOf(app);
    // A dry run reports the refusal the real call would meet, with what it would do; it changes and records nothing.
    const dry = await call(client, 'promote_model', { ...promoteV2, dry_run: true });
    expect(errorCode(dry)).toBe('forbidden');
    expect(text(dry)).toBe(
      'forbidden: dry run, nothing changed: the real call would be refused: this promote_model call changes what production serves, which needs the admin role; token "ci-bot" has operate. Ask an admin to make it. What it would do: Promotion of nba_points would move: v2 staging → production; v1 production → archived. Production would be v2 (was v1).',
    );
    expect(text(await call(client, 'configure_ab_test', { name: 'nba_points', weights: { v1: 0.5, v2: 0.5 }, dry_run: true }))).toMatch(
      /^forbidden: dry run, nothing changed: .* What it would do: nba_points traffic would go/,
    );
    const r = await call(client, 'promote_model', promoteV2);
    expect(errorCode(r)).toBe('forbidden');
    expect(text(r)).toContain('needs the admin role; token "ci-bot" has operate');
    expect(stagesOf(app)).toEqual(before);
    const h = await ok<{ entries: Array<{ action: string; actor: string; details: { outcome: string } }> }>(client, 'get_model_history', {
      name: 'nba_points',
      actor: 'ci-bot',
    });
    expect(h.entries.map((e) => e.action)).toEqual(['refused', 'promote', 'register']);
    expect(h.entries[0].details.outcome).toBe('forbidden');
  });

  it('counts archiving a version that takes traffic (force clears the split) as a production change', async () => {
    const { app, admin } = await demoApp();
    await ok(admin, 'configure_ab_test', { name: 'nba_points', weights: { v1: 0.8, v2: 0.2 } });
    const { client } = await clientWith(app, { caller: { name: 'ci-bot', role: 'operate' } });
    const before = dumpTables(app.config.dbPath);
    const r = await call(client, 'archive_model', { name: 'nba_points', version: 'v2', force: true });
    expect(errorCode(r)).toBe('forbidden');
    expect(text(r)).toContain('needs the admin role; token "ci-bot" has operate');
    const after = dumpTables(app.config.dbPath);
    expect(after.model_versions).toEqual(before.model_versions);
    expect(after.traffic_configs).toEqual(before.traffic_configs);
    expect((await ok<{ weights: Record<string, number> }>(client, 'get_traffic_config', { name: 'nba_points' })).weights).toEqual({ v1: 0.8, v2: 0.2 });
    // An admin is asked, with the split's end in the question.
    const { app: elicitApp } = await demoApp({ MLOPS_MCP_APPROVAL: 'elicit' });
    await elicitApp.serving.configureTraffic('nba_points', { v1: 0.8, v2: 0.2 }, 'random', { actor: 'setup' }, false);
    const { client: asker, asked } = await clientWith(elicitApp, { answer: () => ({ action: 'decline' }) });
    expect(errorCode(await call(asker, 'archive_model', { name: 'nba_points', version: 'v2', force: true }))).toBe('approval_declined');
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/v2 staging → archived.*traffic split would be cleared/);
  });

  it('names read-only mode when a write tool is called anyway', async () => {
    const { app } = await demoApp();
    const ro = await connect(app, { readOnly: true });
    const r = await call(ro, 'archive_model', { name: 'nba_points', version: 'v2' });
    expect(errorCode(r)).toBe('read_only');
    expect(text(r)).toContain('read-only mode');
  });

  it("audits a read token's writes and writes on a read-only server, as an operate token's refusals are", async () => {
    const { app, admin } = await demoApp();
    const { client: viewer } = await clientWith(app, { caller: { name: 'dashboard', role: 'read' } });
    const ro = await connect(app, { readOnly: true, clientName: 'ro-agent' });
    const before = stagesOf(app);
    expect(errorCode(await call(viewer, 'promote_model', promoteV2))).toBe('forbidden');
    expect(errorCode(await call(ro, 'archive_model', { name: 'nba_points', version: 'v2', reason: 'tidy up' }))).toBe('read_only');
    // A dry run asks for no change, and a model that does not exist has no trail: neither is recorded (nor fails).
    expect(errorCode(await call(viewer, 'promote_model', { ...promoteV2, dry_run: true }))).toBe('forbidden');
    expect(errorCode(await call(viewer, 'register_model', { name: 'brand_new', artifact_path: '/x.onnx' }))).toBe('forbidden');
    expect(stagesOf(app)).toEqual(before);
    type Entry = { action: string; actor: string; version: string | null; reason: string | null; details: { tool: string; outcome: string; asked: string } };
    const h = await ok<{ entries: Entry[] }>(admin, 'get_model_history', { name: 'nba_points', limit: 2 });
    expect(h.entries[1]).toMatchObject({
      action: 'refused',
      actor: 'dashboard',
      version: 'v2',
      reason: 'better rmse',
      details: { tool: 'promote_model', outcome: 'forbidden' },
    });
    expect(h.entries[1].details.asked).toBe('promote_model name="nba_points" version="v2" target_stage="production"');
    expect(h.entries[0]).toMatchObject({
      action: 'refused',
      actor: 'ro-agent (memory)',
      version: 'v2',
      reason: 'tidy up',
      details: { tool: 'archive_model', outcome: 'read_only' },
    });
    expect((await ok<{ entries: Entry[] }>(admin, 'get_model_history', { name: 'brand_new' }).catch(() => ({ entries: [] }))).entries).toEqual([]);
  });
});

describe('bounded answers', () => {
  it('pages 2 000 versions without a gap or a repeat, and 10 000 alerts with short texts', async () => {
    const { app, admin } = await demoApp();
    const signature = { inputs: [{ name: 'x', type: 'float32', shape: ['?', 1] }], outputs: [] };
    for (let i = 0; i < 2000; i++) {
      await app.store.registry.registerVersion(
        'bulk',
        () => ({
          name: 'bulk',
          version: `r${i}`,
          artifactSha256: 'a'.repeat(64),
          artifactBytes: 1,
          sourcePath: null,
          signature,
          featureNames: null,
          metrics: {},
          tags: {},
          description: '',
        }),
        { actor: 'test' },
      );
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await call(admin, 'list_models', { name: 'bulk', limit: 500, ...(cursor ? { cursor } : {}) });
      expect(r.content[0].text!.length).toBeLessThanOrEqual(20_000);
      const page = r.structuredContent as { versions: Array<{ version: string }>; next_cursor: string | null };
      seen.push(...page.versions.map((v) => v.version));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(4);
    expect(seen).toEqual(Array.from({ length: 2000 }, (_, i) => `r${i}`));

    for (let i = 0; i < 10_000; i++)
      await app.store.alerts.insert({
        type: 'high_latency',
        severity: 'warning',
        name: 'bulk',
        version: null,
        message: `alert number ${i} with some words to make it long enough`,
      });
    const alerts = await call(admin, 'get_alerts', { limit: 500 });
    expect(alerts.content[0].text!.length).toBeLessThanOrEqual(20_000);
    expect(alerts.content[0].text).toContain('more characters');
    expect((alerts.structuredContent as { count: number }).count).toBe(500);
    expect(errorCode(await call(admin, 'get_alerts', { limit: 501 }))).toBe('invalid_argument');
  });
});
