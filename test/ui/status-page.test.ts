import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnHttp, type SpawnedHttp } from '../e2e/spawn.js';
import { fixture, tempDir } from '../helpers.js';
import { consoleErrors, haveBrowser, launchBrowser, screenshotPath } from './browser.js';
import { requireBuiltUi, until } from './uibuild.js';

/** The status page at GET / in a real browser: an MCP client of /mcp on its own origin. */

const ADMIN_TOKEN = 'status-page-admin-token-0123456789';
const VIEWER_TOKEN = 'status-page-viewer-token-0123456789';

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

async function connect(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'ui-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}),
  );
  return client;
}

async function ok(client: Client, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}`);
  return r.structuredContent as Record<string, unknown>;
}

const loaded = (page: Page) => until(page, 'the dashboard', `document.querySelector('[data-updated]')?.dataset.updated > ''`);
const writeActions = (page: Page) => page.locator('[data-action^="promote-"], [data-action="rollback"], [data-action="edit-split"]').count();

describe('GET / without a browser', () => {
  let server: SpawnedHttp;
  beforeAll(async () => {
    requireBuiltUi();
    server = await spawnHttp([], { MLOPS_MCP_HOME: path.join(tempDir(), 'home') });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('serves the page with a CSP that allows only its own script and its own origin', async () => {
    const r = await get(`${server.url}/`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.body).toContain('data-mlops-dashboard="status"');
    const csp = String(r.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
  });

  it('keeps the Host check: a foreign Host header gets 403', async () => {
    expect((await get(`${server.url}/`, { host: 'attacker.example:80' })).status).toBe(403);
  });
});

describe.skipIf(!haveBrowser)('the status page in Chromium', () => {
  let browser: BrowserContext;
  beforeAll(async () => {
    requireBuiltUi();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows the demo in use, refreshes itself, charts drift and performance, and promotes with a dry run first', { timeout: 90_000 }, async () => {
    const server = await spawnHttp(['--demo'], { MLOPS_MCP_HOME: path.join(tempDir(), 'home') });
    const client = await connect(server.url);
    const page = await browser.newPage();
    const errors = consoleErrors(page);
    try {
      await page.goto(`${server.url}/`);
      await loaded(page);
      // Every panel has data on first look: the demo's drift and degraded model show in health.
      expect(await page.locator('[data-component][data-status="healthy"]').count()).toBe(7);
      expect(await page.locator('[data-model="nba_win_predictor"] [data-version="v2.0"]').getAttribute('data-stage')).toBe('staging');
      expect(await page.locator('[data-traffic="nba_win_predictor"] [data-variant="v2.0"]').getAttribute('data-weight')).toBe('0.5');
      expect(await page.locator('[data-performance="nba_points"] polyline[data-series="v1"]').count()).toBe(1);
      expect(['better', 'worse', 'not yet']).toContain(
        await page.locator('[data-ab="nba_win_predictor"] [data-challenger="v2.0"]').getAttribute('data-verdict'),
      );
      expect(await page.locator('#drift table.features tbody tr').count()).toBe(10);
      expect(await writeActions(page)).toBeGreaterThan(0);

      // Changes made by another client appear without a reload (the page refreshes every 10 s).
      await ok(client, 'configure_ab_test', { name: 'nba_win_predictor', weights: { 'v2.0': 0.2, 'v1.5': 0.8 }, reason: 'canary' });
      const rows = fs
        .readFileSync(fixture('nba_win_current.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1, 201)
        .map((l) => l.split(',').slice(0, 8).map(Number));
      await ok(client, 'batch_predict', { name: 'nba_win_predictor', rows });
      await ok(client, 'set_drift_reference', { name: 'nba_win_predictor', csv_path: fixture('nba_win_reference.csv') });
      await ok(client, 'detect_drift', { name: 'nba_win_predictor', csv_path: fixture('nba_win_current.csv') });
      await until(
        page,
        'the split and the drift chart after a refresh',
        `document.querySelector('[data-traffic="nba_win_predictor"] [data-variant="v2.0"]')?.dataset.weight === '0.2' && !!document.querySelector('figure[data-chart="ecdf"] canvas')`,
        25_000,
      );

      await page.locator('[data-model="nba_points"] [data-version="v2"] [data-action="promote-production"]').click();
      await until(page, 'the preview', `document.querySelector('[data-pending]')?.dataset.step === 'preview'`);
      expect(await page.locator('[data-pending] [data-preview]').innerText()).toContain('production: v1 → v2');
      await page.locator('[data-pending] [data-reason]').fill('from the status page');
      await page.locator('[data-pending] [data-action="confirm"]').click();
      await until(page, 'v2 in production', `document.querySelector('[data-model="nba_points"] [data-version="v2"]')?.dataset.stage === 'production'`);
      const history = (await ok(client, 'get_model_history', { name: 'nba_points', limit: 1 })) as { entries: Array<{ actor: string; reason: string }> };
      expect(history.entries[0]).toMatchObject({ actor: 'mlops-mcp status page (http)', reason: 'from the status page' });

      await page.locator('[data-pending], .notice.ok').first().waitFor();
      await page.setViewportSize({ width: 1280, height: await page.evaluate<number>('document.documentElement.scrollHeight') });
      await page.screenshot({ path: screenshotPath('status-page-1280.png'), fullPage: true });
      await page.setViewportSize({ width: 400, height: 900 });
      await page.waitForTimeout(300);
      expect(
        await page.evaluate(
          `[...document.querySelectorAll('#root *')].filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5).length`,
        ),
      ).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await client.close();
      await server.stop();
    }
  });

  it('asks for the token when /mcp answers 401, keeps it in sessionStorage only, and hides writes from a read token', async () => {
    const dir = tempDir();
    const tokensFile = path.join(dir, 'tokens.json');
    fs.writeFileSync(tokensFile, JSON.stringify({ tokens: [{ name: 'viewer', role: 'read', token: VIEWER_TOKEN }] }));
    const server = await spawnHttp(['--demo'], { MLOPS_MCP_HOME: path.join(dir, 'home'), MLOPS_MCP_TOKEN: ADMIN_TOKEN, MLOPS_MCP_TOKENS_FILE: tokensFile });
    const page = await browser.newPage();
    const errors = consoleErrors(page);
    const urls: string[] = [];
    const authorized: string[] = [];
    page.on('request', (r) => {
      urls.push(r.url());
      if (r.url().endsWith('/mcp') && r.headers().authorization) authorized.push(r.headers().authorization);
    });
    try {
      await page.goto(`${server.url}/`);
      await page.locator('[data-token-form]').waitFor();
      await page.locator('[data-token-input]').fill('not-the-token-at-all');
      await page.locator('[data-token-form] button[type="submit"]').click();
      await page.getByText('The server refused that token.').waitFor();

      await page.locator('[data-token-input]').fill(VIEWER_TOKEN);
      await page.locator('[data-token-form] button[type="submit"]').click();
      await loaded(page);
      expect(await page.locator('[data-component]').count()).toBe(9);
      expect(await writeActions(page)).toBe(0);
      expect(await page.locator('.pill.read-only').count()).toBe(1);
      expect(await page.evaluate(`sessionStorage.getItem('mlops-mcp-token')`)).toBe(VIEWER_TOKEN);

      // A reload keeps the token of this tab; forgetting it asks again.
      await page.reload();
      await loaded(page);
      await page.locator('[data-action="forget-token"]').click();
      await page.locator('[data-token-form]').waitFor();
      await page.locator('[data-token-input]').fill(ADMIN_TOKEN);
      await page.locator('[data-token-form] button[type="submit"]').click();
      await loaded(page);
      expect(await writeActions(page)).toBeGreaterThan(0);

      for (const u of urls) expect(u).not.toMatch(/token/i);
      expect(authorized).toContain(`Bearer ${VIEWER_TOKEN}`);
      expect(authorized).toContain(`Bearer ${ADMIN_TOKEN}`);
      // The 401s of the refused attempts are network errors Chromium logs; nothing else.
      expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    } finally {
      await page.close();
      await server.stop();
    }
  });

  it('asks the person to approve a change to production (MLOPS_MCP_APPROVAL=elicit) and audits the approval', async () => {
    const server = await spawnHttp(['--demo'], { MLOPS_MCP_HOME: path.join(tempDir(), 'home'), MLOPS_MCP_APPROVAL: 'elicit' });
    const client = await connect(server.url);
    const page = await browser.newPage();
    const errors = consoleErrors(page);
    try {
      await page.goto(`${server.url}/`);
      await loaded(page);
      await page.locator('[data-model="nba_win_predictor"] [data-version="v2.0"] [data-action="promote-production"]').click();
      await until(page, 'the preview', `document.querySelector('[data-pending]')?.dataset.step === 'preview'`);
      await page.locator('[data-pending] [data-action="confirm"]').click();
      await page.locator('[data-elicitation]').waitFor();
      expect(await page.locator('[data-elicitation]').innerText()).toContain('promote_model');
      await page.locator('[data-elicitation] input[name="approve"]').check();
      await page.locator('[data-elicitation] input[name="reason"]').fill('approved in the status page');
      await page.locator('[data-elicitation] [data-action="approve"]').click();
      await until(
        page,
        'v2.0 in production',
        `document.querySelector('[data-model="nba_win_predictor"] [data-version="v2.0"]')?.dataset.stage === 'production'`,
      );
      const history = (await ok(client, 'get_model_history', { name: 'nba_win_predictor', limit: 1 })) as {
        entries: Array<{ approved_by: string; approver_reason: string }>;
      };
      expect(history.entries[0].approved_by).toContain('mlops-mcp status page');
      expect(history.entries[0].approver_reason).toBe('approved in the status page');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await client.close();
      await server.stop();
    }
  });
});
