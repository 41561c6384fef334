import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResourceListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { jsonWithin } from '../../src/mcp/answer.js';
import { TEXT_LIMIT } from '../../src/mcp/format.js';
import { call, connect, fixture, ok, registerDemoVersions, testApp, type ToolResult } from '../helpers.js';

/** Answers every client can read: JSON text beside the summary, links to what they name, and list changes. */

let app: AppContext;
let client: Client;
beforeAll(async () => {
  ({ app } = await testApp());
  client = await connect(app);
  await registerDemoVersions(client);
  await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
});
afterAll(async () => {
  await client.close();
  await app.close();
});

const ROW = [1, 2, 24.1, 6.2, 5.0, 27.4, 5.8, 6.1, 34.5, 112.3];
const texts = (r: ToolResult) => r.content.filter((c) => c.type === 'text').map((c) => c.text ?? '');
const links = (r: ToolResult) => (r.content as Array<{ type: string; uri?: string }>).filter((c) => c.type === 'resource_link').map((c) => c.uri);

describe('the structured answer as JSON text', () => {
  it('follows the summary, equal to structuredContent, in every kind of answer', async () => {
    for (const [tool, args] of [
      ['health_check', {}],
      ['get_model', { name: 'nba_points', version: 'v2' }],
      ['list_models', {}],
      ['predict', { name: 'nba_points', features: ROW }],
      ['promote_model', { name: 'nba_points', version: 'v2', target_stage: 'staging', dry_run: true }],
    ] as const) {
      const r = await call(client, tool, args);
      expect(r.isError, tool).toBeFalsy();
      const [summary, json] = texts(r);
      expect(summary, tool).not.toMatch(/^\{/);
      expect(JSON.parse(json), tool).toEqual(r.structuredContent);
    }
  });

  it('keeps the chart beside it: summary, JSON, then the image', async () => {
    await ok(client, 'set_drift_reference', { name: 'nba_points', csv_path: fixture('nba_points_reference.csv') });
    const r = await call(client, 'detect_drift', { name: 'nba_points', csv_path: fixture('nba_points_current.csv'), include_chart: true });
    expect(r.content.map((c) => c.type).slice(0, 3)).toEqual(['text', 'text', 'image']);
    expect(JSON.parse(r.content[1].text!)).toEqual(r.structuredContent);
  });

  it('stays within the answer bound: a 10 000-row batch keeps its first predictions in the text, and says so', async () => {
    const r = await call(client, 'batch_predict', { name: 'nba_points', rows: Array.from({ length: 10_000 }, () => ROW) });
    const [summary, json] = texts(r);
    expect(summary.length + json.length).toBeLessThanOrEqual(TEXT_LIMIT);
    const shown = JSON.parse(json) as { predictions: number[]; rows: number };
    expect(shown.rows).toBe(10_000);
    expect(shown.predictions.length).toBeGreaterThan(100);
    expect(shown.predictions.length).toBeLessThan(10_000);
    expect(summary).toContain(`predictions keeps ${shown.predictions.length} of 10000 items`);
    expect((r.structuredContent as { predictions: number[] }).predictions).toHaveLength(10_000);
  });

  it('cuts the longest arrays first, keeping their first items', () => {
    const data = { a: Array.from({ length: 1000 }, (_, i) => i), b: [1, 2, 3], nested: { c: Array.from({ length: 300 }, () => 'xxxxxxxx') } };
    const cut = jsonWithin(data, 1200)!;
    expect(cut.text.length).toBeLessThanOrEqual(1200);
    const back = JSON.parse(cut.text) as typeof data;
    expect(back.b).toEqual([1, 2, 3]);
    expect(back.a).toEqual(data.a.slice(0, back.a.length));
    expect(cut.cuts.join('; ')).toMatch(/^(a keeps \d+ of 1000 items|nested\.c keeps \d+ of 300 items)/);
    expect(jsonWithin({ s: 'x'.repeat(5000) }, 1000)).toBeNull();
  });
});

describe('resource links', () => {
  it('link the model versions and audit trails an answer names, and each link reads', async () => {
    const got = await call(client, 'get_model', { name: 'nba_points', version: 'v2' });
    expect(links(got)).toEqual(['models://nba_points/v2', 'audit://nba_points']);
    expect(links(await call(client, 'get_model_history', { name: 'nba_points' }))).toEqual(['audit://nba_points']);
    const promoted = await call(client, 'promote_model', { name: 'nba_win_predictor', version: 'v2.0', target_stage: 'staging' });
    expect(links(promoted)).toEqual(['models://nba_win_predictor/v2.0', 'audit://nba_win_predictor']);
    // A dry run names what it would move, and no audit trail: it writes none.
    expect(links(await call(client, 'promote_model', { name: 'nba_win_predictor', version: 'v1.5', target_stage: 'staging', dry_run: true }))).toEqual([
      'models://nba_win_predictor/v1.5',
    ]);
    const listed = links(await call(client, 'list_models', {}));
    expect(listed).toContain('models://nba_points/v1');
    for (const uri of [...links(got), ...listed]) {
      const read = await client.readResource({ uri: uri! });
      expect((read.contents[0] as { text: string }).text, uri).toBeTruthy();
    }
    const link = got.content.find((c) => c.type === 'resource_link') as unknown as Record<string, string>;
    expect(link).toMatchObject({ name: 'nba_points v2', mimeType: 'text/markdown', description: 'Model card of nba_points v2 (none)' });
  });
});

describe('notifications/resources/list_changed', () => {
  it('reaches every session when the registry changes, through a tool here or a write elsewhere, and not on a dry run', async () => {
    const other = await connect(app, { clientName: 'watcher' });
    let heard = 0;
    other.setNotificationHandler(ResourceListChangedNotificationSchema, () => void heard++);
    const hear = async (what: string, change: () => Promise<unknown>) => {
      const before = heard;
      await change();
      const started = Date.now();
      while (heard === before && Date.now() - started < 3000) await new Promise((r) => setTimeout(r, 20));
      expect(heard, what).toBeGreaterThan(before);
    };
    // Let the watch take its first look.
    await new Promise((r) => setTimeout(r, 100));
    await hear('a promotion by another session', () => ok(client, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production' }));
    // As another server sharing the store would: straight to the store, no tool.
    await hear('a registration written by someone else', () =>
      app.store.registry.registerVersion('nba_points', () => ({ ...baseVersion, name: 'nba_points', version: 'v9' }), { actor: 'elsewhere' }),
    );
    const quiet = heard;
    await ok(client, 'archive_model', { name: 'nba_points', version: 'v9', dry_run: true });
    await new Promise((r) => setTimeout(r, 1500));
    expect(heard).toBe(quiet);
    await other.close();
  });
});

const baseVersion = {
  artifactSha256: 'a'.repeat(64),
  artifactBytes: 1,
  sourcePath: null,
  signature: { inputs: [{ name: 'x', type: 'float32', shape: ['?', 1] }], outputs: [] },
  featureNames: null,
  metrics: {},
  tags: {},
  description: '',
};
