import fs from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { call, connect, dumpTables, errorCode, fixture, ok, registerDemoVersions, testApp, text } from '../helpers.js';

let app: AppContext;
let client: Client;

beforeEach(async () => {
  ({ app } = await testApp());
  client = await connect(app, { clientName: 'registry-test' });
});
afterEach(async () => {
  await client.close();
  await app.close();
});

describe('registry tools through a real MCP client', () => {
  it('registers, lists, gets, promotes, rolls back and archives, auditing each change with the client name', async () => {
    await registerDemoVersions(client);
    const list = await ok<{ versions: Array<{ name: string; version: string; stage: string }>; count: number }>(client, 'list_models', {});
    expect(list.versions.map((v) => `${v.name}/${v.version}/${v.stage}`)).toEqual([
      'nba_points/v1/none',
      'nba_points/v2/none',
      'nba_win_predictor/v1.5/none',
      'nba_win_predictor/v2.0/none',
    ]);

    const p1 = await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production', reason: 'first release' });
    expect(p1).toMatchObject({ dry_run: false, production_before: null, production_after: 'v1' });
    const p2 = await call(client, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production', reason: 'better rmse' });
    expect(p2.structuredContent).toMatchObject({
      changes: [
        { version: 'v2', from: 'none', to: 'production' },
        { version: 'v1', from: 'production', to: 'archived' },
      ],
      production_after: 'v2',
    });
    expect(text(p2)).toContain('v1 production → archived');

    const got = await ok<{ model: { version: string; stage: string; feature_names: string[]; signature: { inputs: unknown[] } } }>(client, 'get_model', {
      name: 'nba_points',
    });
    expect(got.model).toMatchObject({ version: 'v2', stage: 'production' });
    expect(got.model.feature_names[0]).toBe('is_home');
    expect((await ok<{ model: { version: string } }>(client, 'get_model', { name: 'nba_points', stage: 'archived' })).model.version).toBe('v1');

    const rb = await ok(client, 'rollback_model', { name: 'nba_points', reason: 'latency' });
    expect(rb).toMatchObject({ production_before: 'v2', production_after: 'v1', action: 'rollback' });

    const history = await ok<{ entries: Array<{ action: string; version: string; actor: string; reason: string | null }> }>(client, 'get_model_history', {
      name: 'nba_points',
    });
    expect(history.entries[0]).toMatchObject({ action: 'rollback', actor: 'registry-test (memory)', reason: 'latency' });
    expect(history.entries.map((e) => e.action)).toEqual(['rollback', 'rollback', 'promote', 'promote', 'promote', 'register', 'register']);

    const arch = await call(client, 'archive_model', { name: 'nba_points', version: 'v1' });
    expect(arch.isError).toBe(true);
    expect(errorCode(arch)).toBe('failed_precondition');
    expect(await ok(client, 'archive_model', { name: 'nba_points', version: 'v1', force: true })).toMatchObject({ production_after: null });

    const alerts = await ok<{ alerts: Array<{ type: string; severity: string }> }>(client, 'get_alerts', { name: 'nba_points' });
    expect(alerts.alerts.map((a) => a.type)).toEqual(['model_archived', 'model_rolled_back', 'model_promoted', 'model_promoted']);
    expect((await ok<{ count: number }>(client, 'get_alerts', { severity: 'warning' })).count).toBe(1);
  });

  it('changes nothing on a dry run of every write tool', async () => {
    await registerDemoVersions(client);
    await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
    const before = dumpTables(app.config.dbPath);
    const dry = [
      ['register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v2.onnx'), dry_run: true }],
      ['promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production', dry_run: true }],
      ['rollback_model', { name: 'nba_points', to_version: 'v2', dry_run: true }],
      ['archive_model', { name: 'nba_points', version: 'v1', force: true, dry_run: true }],
    ] as const;
    for (const [tool, args] of dry) {
      const r = await ok<{ dry_run: boolean }>(client, tool, args);
      expect(r.dry_run, tool).toBe(true);
    }
    expect(dumpTables(app.config.dbPath)).toEqual(before);
    const r = await ok<{ model: { version: string } }>(client, 'register_model', dry[0][1]);
    expect(r.model.version).toBe('v3');
  });

  it('pages list_models, get_model_history and get_alerts without gaps or repeats', async () => {
    for (let i = 0; i < 7; i++) await ok(client, 'register_model', { name: `m${i % 3}`, artifact_path: fixture('nba_points_v1.onnx') });
    const seen: string[] = [];
    let cursor: string | null | undefined;
    do {
      const page = await ok<{ versions: Array<{ name: string; version: string }>; next_cursor: string | null }>(client, 'list_models', {
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.versions.map((v) => `${v.name}/${v.version}`));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['m0/v1', 'm0/v2', 'm0/v3', 'm1/v1', 'm1/v2', 'm2/v1', 'm2/v2']);
    const bad = await call(client, 'list_models', { cursor: 'not-a-cursor' });
    expect(errorCode(bad)).toBe('invalid_argument');
  });

  it('serves the registry and model cards as resources, with completions', async () => {
    await registerDemoVersions(client);
    const reg = await client.readResource({ uri: 'models://registry' });
    const body = JSON.parse((reg.contents[0] as { text: string }).text) as { models: Array<{ name: string }> };
    expect(body.models.map((m) => m.name)).toEqual(['nba_points', 'nba_win_predictor']);
    const card = await client.readResource({ uri: 'models://nba_win_predictor/v2.0' });
    const md = (card.contents[0] as { text: string }).text;
    expect(md).toContain('# nba_win_predictor v2.0');
    expect(md).toContain('| output | probabilities | float32 |');
    const listed = await client.listResources();
    expect(listed.resources.map((r) => r.uri)).toContain('models://nba_points/v2');
    await expect(client.readResource({ uri: 'models://nba_points/v9' })).rejects.toThrow(/no version "v9"/);
    // A resource's error says what to do next in the tools' words, as a tool's answer does.
    await expect(client.readResource({ uri: 'models://nobody/v1' })).rejects.toThrow(
      /No model named "nobody" is registered\. Call list_models to see the registered models/,
    );
    await expect(client.readResource({ uri: 'audit://nobody' })).rejects.toThrow(/Call list_models/);
    const completion = await client.complete({ ref: { type: 'ref/resource', uri: 'models://{name}/{version}' }, argument: { name: 'name', value: 'nba_w' } });
    expect(completion.completion.values).toEqual(['nba_win_predictor']);
  });

  it('offers the health_report and safe_promotion prompts naming our tools', async () => {
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toEqual(['health_report', 'safe_promotion', 'investigate_drift', 'evaluate_ab_test']);
    const p = await client.getPrompt({ name: 'safe_promotion', arguments: { name: 'nba_points', version: 'v2' } });
    const body = (p.messages[0].content as { text: string }).text;
    for (const tool of ['get_model', 'promote_model', 'health_check', 'get_alerts', 'rollback_model']) expect(body).toContain(tool);
    expect(body).toContain('dry_run: true');
    const ab = await client.getPrompt({ name: 'evaluate_ab_test', arguments: { name: 'nba_win_predictor', alpha: '0.01' } });
    const steps = (ab.messages[0].content as { text: string }).text;
    for (const tool of ['get_traffic_config', 'get_model_performance', 'record_outcomes', 'get_alerts', 'configure_ab_test', 'safe_promotion'])
      expect(steps).toContain(tool);
    expect(steps).toMatch(/alpha 0\.01/);
    expect(steps).toMatch(/"not yet" means the data cannot tell yet/);
  });

  it('reports health 9/9 on a served registry and unhealthy serving when a production artifact is gone', async () => {
    await registerDemoVersions(client);
    await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
    const healthy = await ok<{ status: string; healthy_components: number; total_components: number }>(client, 'health_check', {});
    expect(healthy).toMatchObject({ status: 'healthy', healthy_components: 9, total_components: 9 });
    const { model } = await ok<{ model: { artifact_sha256: string } }>(client, 'get_model', { name: 'nba_points', version: 'v1' });
    fs.rmSync(app.artifacts.pathFor(model.artifact_sha256));
    const sick = await ok<{ status: string; components: Array<{ name: string; status: string; detail: string }> }>(client, 'health_check', {});
    expect(sick.status).toBe('unhealthy');
    const serving = sick.components.find((c) => c.name === 'model_serving')!;
    expect(serving.status).toBe('unhealthy');
    expect(serving.detail).toContain('nba_points v1');
    const alerts = await ok<{ alerts: Array<{ type: string; severity: string }> }>(client, 'get_alerts', { severity: 'critical' });
    expect(alerts.alerts.map((a) => a.type)).toEqual(['system_unhealthy']);
    // One alert per episode, not one per check.
    await ok(client, 'health_check', {});
    expect((await ok<{ count: number }>(client, 'get_alerts', { severity: 'critical' })).count).toBe(1);
    // A truncated artifact is caught too, even with its session still cached.
    fs.writeFileSync(app.artifacts.pathFor(model.artifact_sha256), 'x');
    const truncated = await ok<{ components: Array<{ name: string; detail: string }> }>(client, 'health_check', { component: 'model_serving' });
    expect(truncated.components[0].detail).toContain('changed size');
    const one = await ok<{ components: unknown[] }>(client, 'health_check', { component: 'database' });
    expect(one.components).toHaveLength(1);
  });
});
