import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { DASHBOARD_TOOLS, DASHBOARD_URI } from '../../src/mcp/app.js';
import { pino } from 'pino';
import { createAppContext } from '../../src/context.js';
import { ecdfPoints, MAX_CURVE_POINTS } from '../../src/monitoring/curves.js';
import { call, connect, errorCode, fixture, ok, registerDemoVersions, testApp } from '../helpers.js';

/** The server side of the dashboard: the ui:// resource, the tool links, and get_drift_curves. */

interface Curves {
  run_id: string;
  statistic: number;
  reference: { n: number; x: number[]; cdf: number[] } | null;
  current: { n: number; x: number[]; cdf: number[] } | null;
  ks: { x: number; reference_cdf: number; current_cdf: number; distance: number } | null;
  note: string | null;
}

let app: AppContext;
let client: Client;

beforeEach(async () => {
  ({ app } = await testApp());
  client = await connect(app, { clientName: 'ui-test' });
  await registerDemoVersions(client);
  await ok(client, 'promote_model', { name: 'nba_win_predictor', version: 'v1.5', target_stage: 'production' });
});
afterEach(async () => {
  await client.close();
  await app.close();
});

describe('the dashboard resource and links', () => {
  it('serves ui://mlops-mcp/dashboard as text/html;profile=mcp-app, built and self-contained', async () => {
    const listed = await client.listResources();
    const entry = listed.resources.find((r) => r.uri === DASHBOARD_URI);
    expect(entry?.mimeType).toBe('text/html;profile=mcp-app');
    const read = await client.readResource({ uri: DASHBOARD_URI });
    const content = read.contents[0] as { mimeType: string; text: string; _meta?: Record<string, unknown> };
    expect(content.mimeType).toBe('text/html;profile=mcp-app');
    expect(content.text).toMatch(/^<!doctype html>/i);
    expect(content.text).toContain('data-mlops-dashboard="app"');
    // One file: no script or stylesheet fetched from anywhere.
    expect(content.text).not.toMatch(/<script[^>]+src=|<link[^>]+rel="stylesheet"/);
    expect(content._meta).toMatchObject({ ui: { prefersBorder: true } });
  });

  it('links exactly the four dashboard tools through _meta.ui.resourceUri (and the legacy key), and shows get_drift_curves to the app only', async () => {
    const { tools } = await client.listTools();
    const linked = tools.filter((t) => (t._meta?.ui as { resourceUri?: string } | undefined)?.resourceUri !== undefined);
    expect(linked.map((t) => t.name).sort()).toEqual([...DASHBOARD_TOOLS].sort());
    for (const t of linked) expect(t._meta).toEqual({ ui: { resourceUri: DASHBOARD_URI }, 'ui/resourceUri': DASHBOARD_URI });
    // Listed (a client without MCP Apps calls it like any tool), but hosts keep it from the model.
    expect(tools.find((t) => t.name === 'get_drift_curves')?._meta).toEqual({ ui: { visibility: ['app'] } });
    expect(tools.filter((t) => t._meta !== undefined).length).toBe(DASHBOARD_TOOLS.length + 1);
    // The answers themselves are what they were: text plus structured content.
    const health = await call(client, 'health_check', {});
    expect(health.content[0].type).toBe('text');
    expect(health.structuredContent).toHaveProperty('components');
  });
});

describe('ecdfPoints', () => {
  it('keeps every distinct value of a small sample, with right-continuous CDF values', () => {
    expect(ecdfPoints(Float64Array.from([1, 2, 2, 3]))).toEqual({ n: 4, x: [1, 2, 3], cdf: [0.25, 0.75, 1] });
  });

  it('keeps at most 200 points of a large sample, the minimum, the maximum and the extra x', () => {
    const sorted = Float64Array.from({ length: 100_000 }, (_, i) => i / 100_000);
    const c = ecdfPoints(sorted, MAX_CURVE_POINTS, [0.123456]);
    expect(c.x.length).toBeLessThanOrEqual(MAX_CURVE_POINTS);
    expect(c.x[0]).toBe(0);
    expect(c.x.at(-1)).toBe(sorted[sorted.length - 1]);
    expect(c.cdf.at(-1)).toBe(1);
    expect(c.x).toContain(0.123456);
    for (let i = 1; i < c.x.length; i++) {
      expect(c.x[i]).toBeGreaterThan(c.x[i - 1]);
      expect(c.cdf[i] - c.cdf[i - 1]).toBeLessThanOrEqual(1 / 150);
    }
  });
});

describe('get_drift_curves', () => {
  it('answers both ECDFs of the latest run, downsampled, with the KS distance equal to the run statistic', async () => {
    await ok(client, 'set_drift_reference', { name: 'nba_win_predictor', csv_path: fixture('nba_win_reference.csv') });
    const run = await ok<{ run_id: string; features: Array<{ feature: string; statistic: number }> }>(client, 'detect_drift', {
      name: 'nba_win_predictor',
      csv_path: fixture('nba_win_current.csv'),
    });
    for (const f of run.features) {
      const c = await ok<Curves>(client, 'get_drift_curves', { name: 'nba_win_predictor', feature: f.feature });
      expect(c.run_id).toBe(run.run_id);
      expect(c.reference!.n).toBe(4000);
      expect(c.current!.n).toBe(2000);
      expect(c.reference!.x.length).toBeLessThanOrEqual(MAX_CURVE_POINTS);
      expect(c.current!.x.length).toBeLessThanOrEqual(MAX_CURVE_POINTS);
      expect(c.ks!.distance).toBeCloseTo(f.statistic, 12);
      expect(c.statistic).toBe(f.statistic);
      // The KS location is one of the charted points of both curves, with the same CDF values.
      expect(c.reference!.cdf[c.reference!.x.indexOf(c.ks!.x)]).toBe(c.ks!.reference_cdf);
      expect(c.current!.cdf[c.current!.x.indexOf(c.ks!.x)]).toBe(c.ks!.current_cdf);
      expect(c.note).toBeNull();
    }
  });

  it('takes the current data from inline rows and from the prediction log too', async () => {
    await ok(client, 'set_drift_reference', { name: 'nba_win_predictor', csv_path: fixture('nba_win_reference.csv') });
    const rows = Array.from({ length: 30 }, (_, i) => [0.3 + i / 100, 0.5, 110 + i / 3, 110, 110, 110, 1, 2]);
    await ok(client, 'detect_drift', { name: 'nba_win_predictor', current_rows: rows });
    const inline = await ok<Curves>(client, 'get_drift_curves', { name: 'nba_win_predictor', feature: 'home_off_rating' });
    expect(inline.current).toMatchObject({ n: 30 });
    await ok(client, 'batch_predict', { name: 'nba_win_predictor', rows });
    const logged = await ok<{ run_id: string }>(client, 'detect_drift', { name: 'nba_win_predictor', window: { last_n: 1000 } });
    const fromLog = await ok<Curves>(client, 'get_drift_curves', { name: 'nba_win_predictor', run_id: logged.run_id, feature: 'home_off_rating' });
    expect(fromLog.current).toMatchObject({ n: 30 });
    for (const row of rows) expect(fromLog.current!.x).toContain(row[2]);
  });

  it('keeps the curves with the run, so they survive a restart', async () => {
    await ok(client, 'set_drift_reference', { name: 'nba_win_predictor', csv_path: fixture('nba_win_reference.csv') });
    const rows = Array.from({ length: 5 }, (_, i) => [0.5, 0.5, 110 + i, 110, 110, 110, 1, 2]);
    const run = await ok<{ run_id: string }>(client, 'detect_drift', { name: 'nba_win_predictor', current_rows: rows });
    const again = await createAppContext(app.config, pino({ level: 'silent' }));
    const other = await connect(again);
    try {
      const kept = await ok<Curves>(other, 'get_drift_curves', { name: 'nba_win_predictor', run_id: run.run_id, feature: 'home_off_rating' });
      expect(kept.reference).toMatchObject({ n: 4000 });
      expect(kept.current).toMatchObject({ n: 5 });
      expect(kept.ks).not.toBeNull();
      expect(kept.note).toBeNull();
    } finally {
      await other.close();
      await again.close();
    }
  });

  it('says what is wrong: unknown model, no run, a run of another model, an unknown feature', async () => {
    expect(errorCode(await call(client, 'get_drift_curves', { name: 'nope', feature: 'x' }))).toBe('not_found');
    expect(errorCode(await call(client, 'get_drift_curves', { name: 'nba_win_predictor', feature: 'x' }))).toBe('not_found');
    await ok(client, 'set_drift_reference', { name: 'nba_win_predictor', csv_path: fixture('nba_win_reference.csv') });
    const run = await ok<{ run_id: string }>(client, 'detect_drift', { name: 'nba_win_predictor', csv_path: fixture('nba_win_current.csv') });
    expect(errorCode(await call(client, 'get_drift_curves', { name: 'nba_points', run_id: run.run_id, feature: 'home_off_rating' }))).toBe('invalid_argument');
    const unknown = await call(client, 'get_drift_curves', { name: 'nba_win_predictor', feature: 'ppg' });
    expect(errorCode(unknown)).toBe('invalid_argument');
    expect(unknown.content[0].text).toContain('home_off_rating');
  });
});
