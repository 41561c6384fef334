import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { BrowserContext, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATISTICS } from '../../src/monitoring/statistics/index.js';
import { spawnHttp, type SpawnedHttp } from '../e2e/spawn.js';
import { fixture, tempDir } from '../helpers.js';
import { consoleErrors, haveBrowser, launchBrowser, screenshotPath } from './browser.js';
import { buildTestHost, DASHBOARD_HTML, MAX_APP_BYTES, requireBuiltUi, until } from './uibuild.js';

/**
 * The MCP App in a real browser: a test host page (test/ui/host) embeds it with ext-apps'
 * AppBridge the way a chat client does, and bridges it to a real `serve --http --demo`
 * process through an SDK Client over Streamable HTTP running here in the test.
 */

interface ToolCall {
  name: string;
  arguments?: Record<string, unknown>;
}
interface HostWindow {
  host: { show(tool: string, args: Record<string, unknown>): Promise<void>; sendToolResult(result: unknown): Promise<void>; ready: boolean };
}

/** The whole page: the viewport grown to the page's height (a full-page capture leaves the app's frame blank). */
async function screenshot(page: Page, name: string): Promise<void> {
  const { width } = page.viewportSize()!;
  const height = await page.evaluate<number>('document.documentElement.scrollHeight');
  await page.setViewportSize({ width, height });
  await page.waitForTimeout(300);
  await page.screenshot({ path: screenshotPath(name) });
  await page.setViewportSize({ width, height: 900 });
}

it('builds the app into one self-contained HTML file under 300 KB', () => {
  requireBuiltUi();
  const html = fs.readFileSync(DASHBOARD_HTML, 'utf8');
  const bytes = fs.statSync(DASHBOARD_HTML).size;
  console.info(`dist/ui/dashboard.html: ${(bytes / 1024).toFixed(1)} KB`);
  expect(bytes).toBeLessThan(MAX_APP_BYTES);
  // The SVG namespace is a name, not a resource the page fetches.
  const fetched = html.replaceAll('http://www.w3.org/2000/svg', '');
  expect(fetched).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/[a-z0-9.-]+\.(com|io|net|org)\//i);
});

describe.skipIf(!haveBrowser)('the dashboard in an MCP Apps host (Chromium)', () => {
  let server: SpawnedHttp;
  let client: Client;
  let browser: BrowserContext;
  let page: Page;
  let errors: string[];
  const bridgeCalls: ToolCall[] = [];

  const frame = async (): Promise<Frame> => {
    const f = await (await page.waitForSelector('iframe')).contentFrame();
    if (!f) throw new Error('no app frame');
    return f;
  };
  const show = async (tool: string, args: Record<string, unknown> = {}): Promise<Frame> => {
    await page.evaluate(([t, a]) => (globalThis as unknown as HostWindow).host.show(t, a), [tool, args] as const);
    await until(page, 'the app to initialize', '(globalThis.host && globalThis.host.ready) === true');
    const f = await frame();
    await until(f, 'the first refresh', `document.querySelector('[data-updated]')?.dataset.updated !== ''`);
    return f;
  };
  const sendToolResult = (result: unknown) => page.evaluate((r) => (globalThis as unknown as HostWindow).host.sendToolResult(r), result);
  const ok = async <T>(name: string, args: Record<string, unknown>): Promise<{ result: unknown; data: T }> => {
    const result = await client.callTool({ name, arguments: args });
    if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content)}`);
    return { result, data: result.structuredContent as T };
  };

  beforeAll(async () => {
    requireBuiltUi();
    server = await spawnHttp(['--demo'], { MLOPS_MCP_HOME: path.join(tempDir(), 'home') });
    client = new Client({ name: 'ui-test-host', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
    const hostHtml = await buildTestHost();
    browser = await launchBrowser();
    page = await browser.newPage();
    errors = consoleErrors(page);
    await page.exposeFunction('mcpRequest', async (method: string, params: Record<string, unknown>) => {
      if (method === 'tools/list') return client.listTools();
      if (method === 'tools/call') return client.callTool(params as unknown as ToolCall);
      if (method === 'resources/read') return client.readResource(params as { uri: string });
      throw new Error(`test host: ${method} not bridged`);
    });
    await page.exposeFunction('appToolCall', async (params: ToolCall) => {
      bridgeCalls.push(params);
      return client.callTool(params);
    });
    await page.route('http://host.test/', (route) => route.fulfill({ contentType: 'text/html', body: hostHtml }));
    await page.goto('http://host.test/');
  });

  afterAll(async () => {
    await browser?.close();
    await client?.close();
    await server?.stop();
  });

  it('shows every component of the demo (its drift and its degraded model), both demo models with their stages, and their performance', async () => {
    const app = await show('health_check');
    expect(await app.locator('[data-component]').count()).toBe(9);
    expect(await app.locator('[data-component][data-status="healthy"]').count()).toBe(7);
    expect(await app.locator('[data-component="drift_monitoring"]').getAttribute('data-status')).toBe('degraded');
    expect(await app.locator('[data-component="model_performance"]').getAttribute('data-status')).toBe('degraded');
    expect(await app.locator('[data-overall]').getAttribute('data-overall')).toBe('degraded');
    const stage = (model: string, version: string) => app.locator(`[data-model="${model}"] [data-version="${version}"]`).getAttribute('data-stage');
    expect(await stage('nba_points', 'v1')).toBe('production');
    expect(await stage('nba_points', 'v2')).toBe('staging');
    expect(await stage('nba_win_predictor', 'v1.5')).toBe('production');
    expect(await stage('nba_win_predictor', 'v2.0')).toBe('staging');
    // Transitions from get_model_history: the demo's promotions with actor and reason.
    expect(await app.locator('[data-model="nba_points"] .timeline li').count()).toBeGreaterThan(0);
    expect(await app.locator('[data-model="nba_points"] .timeline').innerText()).toContain('mlops-mcp --demo');
    // Each version's metric over time, and the demo's A/B comparison with its interval and verdict.
    expect(await app.locator('[data-performance="nba_points"] polyline[data-series="v1"]').count()).toBe(1);
    expect(await app.locator('[data-performance="nba_win_predictor"] polyline').count()).toBe(2);
    expect(await app.locator('[data-ab="nba_win_predictor"] [data-ab-variant]').count()).toBe(2);
    const verdict = app.locator('[data-ab="nba_win_predictor"] [data-challenger="v2.0"]');
    expect(['better', 'worse', 'not yet']).toContain(await verdict.getAttribute('data-verdict'));
    expect(await verdict.innerText()).toMatch(/v2\.0 − v1\.5: -?[\d.]+ \[-?[\d.]+, -?[\d.]+\], p = [\d.e-]+/);
    expect(await verdict.locator('svg.ci-bar').count()).toBe(1);
    // The app read everything through the host, with our tools only.
    expect(new Set(bridgeCalls.map((c) => c.name))).toEqual(
      new Set(['health_check', 'list_models', 'get_traffic_config', 'get_model_history', 'get_drift_report', 'get_drift_curves', 'get_model_performance']),
    );
  });

  it('shows an 80/20 split after configure_ab_test, refreshed by the tool-result notification', async () => {
    const app = await show('get_traffic_config', { name: 'nba_win_predictor' });
    const { result } = await ok('configure_ab_test', { name: 'nba_win_predictor', weights: { 'v2.0': 0.2, 'v1.5': 0.8 }, reason: 'canary from the UI test' });
    const rows = fs
      .readFileSync(fixture('nba_win_current.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1, 301)
      .map((l) => l.split(',').slice(0, 8).map(Number));
    await ok('batch_predict', { name: 'nba_win_predictor', rows });
    await sendToolResult(result);
    const variant = (v: string) => `[data-traffic="nba_win_predictor"] [data-variant="${v}"]`;
    await until(app, 'the 80/20 split', `document.querySelector('${variant('v2.0')}')?.dataset.weight === '0.2'`);
    expect(await app.locator(variant('v1.5')).getAttribute('data-weight')).toBe('0.8');
    expect(await app.locator('[data-traffic="nba_win_predictor"] .split').innerText()).toMatch(/v2\.0 20%[\s\S]*v1\.5 80%|v1\.5 80%[\s\S]*v2\.0 20%/);
    // The weights come with the notification; the counts with the traffic report the view asks for
    // then (after a flush of the prediction log), a moment later.
    const callsOf = (v: string) => `Number(document.querySelector('${variant(v)} td:nth-child(3)')?.textContent)`;
    await until(app, 'the 300 calls counted', `${callsOf('v2.0')} + ${callsOf('v1.5')} === 300`);
    const calls =
      Number(await app.locator(`${variant('v2.0')} td:nth-child(3)`).innerText()) + Number(await app.locator(`${variant('v1.5')} td:nth-child(3)`).innerText());
    expect(calls).toBe(300);
  });

  it('charts the reference and current ECDFs of a feature with the KS distance after detect_drift', async () => {
    await ok('set_drift_reference', { name: 'nba_win_predictor', csv_path: fixture('nba_win_reference.csv'), reason: 'training data' });
    const app = await show('detect_drift', { name: 'nba_win_predictor', csv_path: fixture('nba_win_current.csv') });
    await until(app, 'the ECDF chart', `!!document.querySelector('figure[data-chart="ecdf"] canvas')`);
    const run = (await client.callTool({ name: 'get_drift_report', arguments: { name: 'nba_win_predictor' } })).structuredContent as {
      run_id: string;
      features: Array<{ feature: string; statistic: number; drift_detected: boolean }>;
    };
    expect(await app.locator('#drift').getAttribute('data-run')).toBe(run.run_id);
    expect(await app.locator('[data-feature][data-drifted]').count()).toBe(8);
    const drifted = await app.evaluate<string[]>(`[...document.querySelectorAll('[data-drifted="true"]')].map((e) => e.dataset.feature)`);
    expect(drifted.sort()).toEqual(['away_rest_days', 'home_off_rating', 'home_win_pct']);
    // A column per statistic in the list (src/monitoring/statistics), each cell the run's value as the statistic formats it.
    const first = run.features[0] as unknown as Record<string, number>;
    for (const s of STATISTICS) {
      expect(await app.locator(`#drift th[data-statistic="${s.name}"]`).count(), s.name).toBe(1);
      expect(await app.locator(`[data-feature="${run.features[0].feature}"] td[data-statistic="${s.name}"]`).textContent(), s.name).toBe(
        s.display.format(first[s.display.field]),
      );
    }
    // The most drifted feature is charted first, its KS distance equal to the run's statistic.
    const top = [...run.features].sort((a, b) => b.statistic - a.statistic)[0];
    expect(await app.locator('figure[data-chart]').getAttribute('data-feature')).toBe(top.feature);
    expect(Number(await app.locator('[data-ks]').getAttribute('data-ks'))).toBeCloseTo(top.statistic, 10);
    // Another feature on click: its curves through get_drift_curves.
    await app.locator('[data-feature="away_rest_days"] button').click();
    await until(
      app,
      'the away_rest_days chart',
      `document.querySelector('figure[data-chart]')?.dataset.feature === 'away_rest_days' && !!document.querySelector('figure[data-chart] canvas')`,
    );
    const asked = bridgeCalls.filter((c) => c.name === 'get_drift_curves').map((c) => c.arguments?.feature);
    expect(asked).toContain('away_rest_days');
    const d = run.features.find((f) => f.feature === 'away_rest_days')!.statistic;
    expect(Number(await app.locator('[data-ks]').getAttribute('data-ks'))).toBeCloseTo(d, 10);
  });

  it('promotes from the view: a dry run shown as a preview, then the real call on confirm', async () => {
    const app = await show('list_models');
    const before = bridgeCalls.length;
    await app.locator('[data-model="nba_points"] [data-version="v2"] [data-action="promote-production"]').click();
    await until(app, 'the preview', `document.querySelector('[data-pending="promote"]')?.dataset.step === 'preview'`);
    const preview = await app.locator('[data-pending="promote"] [data-preview]').innerText();
    expect(preview).toContain('v2 staging → production');
    expect(preview).toContain('production: v1 → v2');
    // Nothing changed yet.
    expect(await app.locator('[data-model="nba_points"] [data-version="v2"]').getAttribute('data-stage')).toBe('staging');
    await app.locator('[data-pending] [data-reason]').fill('better RMSE, promoted from the dashboard');
    await app.locator('[data-pending] [data-action="confirm"]').click();
    await until(app, 'v2 in production', `document.querySelector('[data-model="nba_points"] [data-version="v2"]')?.dataset.stage === 'production'`);
    const promotions = bridgeCalls
      .slice(before)
      .filter((c) => c.name === 'promote_model')
      .map(({ name, arguments: args }) => ({ name, arguments: args }));
    expect(promotions).toEqual([
      { name: 'promote_model', arguments: { name: 'nba_points', version: 'v2', target_stage: 'production', dry_run: true } },
      {
        name: 'promote_model',
        arguments: { name: 'nba_points', version: 'v2', target_stage: 'production', reason: 'better RMSE, promoted from the dashboard', dry_run: false },
      },
    ]);
    expect(await app.locator('[data-model="nba_points"] [data-version="v1"]').getAttribute('data-stage')).toBe('archived');
    expect(await app.locator('[data-model="nba_points"] .timeline').innerText()).toContain('better RMSE, promoted from the dashboard');
    expect(await app.locator('.notice.ok').innerText()).toMatch(/v2/);
  });

  it('fits a 1 280 px window and a 400 px chat column (screenshots in docs/images)', async () => {
    const app = await show('detect_drift', { name: 'nba_win_predictor', csv_path: fixture('nba_win_current.csv') });
    await until(app, 'the ECDF chart', `!!document.querySelector('figure[data-chart="ecdf"] canvas')`);
    for (const width of [1280, 400]) {
      await page.setViewportSize({ width, height: 900 });
      await until(
        app,
        `the chart at ${width} px`,
        `Math.abs(document.querySelector('.chart canvas').getBoundingClientRect().width - document.querySelector('.chart').getBoundingClientRect().width) < 2`,
      );
      await page.waitForTimeout(300);
      const overflow = await app.evaluate(
        `[...document.querySelectorAll('#root *')].filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5).map((e) => e.tagName + '.' + e.className)`,
      );
      expect(overflow, `wider than ${width} px`).toEqual([]);
      await screenshot(page, `dashboard-${width}.png`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('logged no console error in the host or the app', () => {
    expect(errors).toEqual([]);
  });
});

describe.skipIf(!haveBrowser)('the dashboard on a read-only server', () => {
  it('shows the refusal of a promotion: the same rules as for an agent', async () => {
    const server = await spawnHttp(['--demo', '--read-only'], { MLOPS_MCP_HOME: path.join(tempDir(), 'home') });
    const client = new Client({ name: 'ui-test-host', version: '1.0.0' });
    const browser = await launchBrowser();
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
      const page = await browser.newPage();
      const errors = consoleErrors(page);
      await page.exposeFunction('mcpRequest', async (method: string, params: Record<string, unknown>) =>
        method === 'tools/list'
          ? client.listTools()
          : method === 'tools/call'
            ? client.callTool(params as unknown as ToolCall)
            : client.readResource(params as { uri: string }),
      );
      await page.exposeFunction('appToolCall', (params: ToolCall) => client.callTool(params));
      const hostHtml = await buildTestHost();
      await page.route('http://host.test/', (route) => route.fulfill({ contentType: 'text/html', body: hostHtml }));
      await page.goto('http://host.test/');
      await page.evaluate(() => (globalThis as unknown as HostWindow).host.show('list_models', {}));
      const app = await (await page.waitForSelector('iframe')).contentFrame();
      await until(app!, 'the first refresh', `document.querySelector('[data-updated]')?.dataset.updated !== ''`);
      await app!.locator('[data-model="nba_points"] [data-version="v2"] [data-action="promote-production"]').click();
      await until(app!, 'the refusal', `document.querySelector('[data-pending]')?.dataset.step === 'failed'`);
      expect(await app!.locator('[data-pending] [data-error]').innerText()).toMatch(/^read_only: promote_model is not available/);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await client.close();
      await server.stop();
    }
  });
});
