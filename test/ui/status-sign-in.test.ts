import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ok } from '../helpers.js';
import { startOAuthServer, STATIC_TOKEN, STATUS_PAGE_CLIENT, type OAuthSetup } from '../oauth/setup.js';
import { consoleErrors, haveBrowser, launchBrowser } from './browser.js';
import { requireBuiltUi, until } from './uibuild.js';

/**
 * The status page of a server that takes its issuer's access tokens: the person signs in at the
 * issuer (oidc-provider on loopback) with authorization code + PKCE in the browser, and the page
 * is an MCP client of /mcp as them.
 */

const loaded = (page: Page) => until(page, 'the dashboard', `document.querySelector('[data-updated]')?.dataset.updated > ''`, 30_000);
const writeActions = (page: Page) => page.locator('[data-action^="promote-"], [data-action="rollback"], [data-action="edit-split"]').count();

async function staticClient(s: OAuthSetup): Promise<Client> {
  const client = new Client({ name: 'ui-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(s.mcp), { requestInit: { headers: { authorization: `Bearer ${STATIC_TOKEN}` } } }));
  return client;
}

/** Opens the page, follows its "Sign in" link through the issuer and back; the dashboard loads or not. */
async function signInOnPage(page: Page, s: OAuthSetup): Promise<void> {
  await page.goto(`${s.server.url}/`);
  await page.locator('[data-action="sign-in"]').click();
  await page.waitForURL(`${s.server.url}/`);
}

describe.skipIf(!haveBrowser)('the status page signs in through the issuer', () => {
  let browser: BrowserContext;
  beforeAll(async () => {
    requireBuiltUi();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('registers itself, signs the person in with code + PKCE, acts as them, and the audit names them', { timeout: 120_000 }, async () => {
    const s = await startOAuthServer({ registrationFromBrowsers: true });
    const client = await staticClient(s);
    const page = await browser.newPage();
    const errors = consoleErrors(page);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    try {
      const served = await fetch(`${s.server.url}/`);
      expect(served.headers.get('content-security-policy')).toContain(`connect-src 'self' ${s.issuer.url}`);
      expect(await served.text()).toContain(`<meta name="mlops-mcp-oauth" content="{&#34;issuer&#34;:&#34;${s.issuer.url}&#34;,&#34;clientId&#34;:null}" />`);

      s.issuer.signInAs = 'alice';
      await page.goto(`${s.server.url}/`);
      await page.locator('[data-token-form]').waitFor();
      expect(await page.locator('[data-action="sign-in"]').innerText()).toBe(`Sign in with ${new URL(s.issuer.url).host}`);
      const authorize = new URL((await page.locator('[data-action="sign-in"]').getAttribute('href'))!);
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorize.searchParams.get('resource')).toBe(s.mcp);
      expect(authorize.searchParams.get('redirect_uri')).toBe(`${s.server.url}/`);
      expect(authorize.searchParams.get('state')).toMatch(/^[0-9a-f]{32}$/);
      await page.locator('[data-action="sign-in"]').click();
      await page.waitForURL(`${s.server.url}/`);
      await loaded(page);
      expect(await page.locator('header.top').innerText()).toContain('signed in as Alice Admin');
      expect(await writeActions(page)).toBeGreaterThan(0);
      // The code left the address bar; the token is in this tab's sessionStorage, never in a URL.
      expect(page.url()).toBe(`${s.server.url}/`);
      const stored = JSON.parse(await page.evaluate<string>(`sessionStorage.getItem('mlops-mcp-oauth-tokens')`)) as { access_token: string };
      for (const u of requests) expect(u).not.toContain(stored.access_token);

      await page.locator('[data-model="nba_points"] [data-version="v2"] [data-action="promote-production"]').click();
      await until(page, 'the preview', `document.querySelector('[data-pending]')?.dataset.step === 'preview'`);
      await page.locator('[data-pending] [data-reason]').fill('signed in on the status page');
      await page.locator('[data-pending] [data-action="confirm"]').click();
      await until(page, 'v2 in production', `document.querySelector('[data-model="nba_points"] [data-version="v2"]')?.dataset.stage === 'production'`);
      const history = await ok<{ entries: Array<Record<string, unknown>> }>(client, 'get_model_history', { name: 'nba_points', limit: 1 });
      expect(history.entries[0]).toMatchObject({ action: 'promote', actor: 'alice', actor_name: 'Alice Admin', reason: 'signed in on the status page' });
      await until(
        page,
        'the transition by her',
        `[...document.querySelectorAll('.timeline .who')].some((e) => e.textContent.startsWith('by alice (Alice Admin) — “signed in on the status page”'))`,
      );

      // Signing out forgets the token; the issuer's own session is the issuer's business.
      await page.locator('[data-action="sign-out"]').click();
      await page.locator('[data-action="sign-in"]').waitFor();
      expect(await page.evaluate(`sessionStorage.getItem('mlops-mcp-oauth-tokens')`)).toBeNull();
      // The 401 that starts the sign-in is a network error Chromium logs; nothing else.
      expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    } finally {
      await page.close();
      await client.close();
      await s.close();
    }
  });

  it('uses the client registered for it, hides writes from a read scope, and says so when the issuer grants no scope', { timeout: 120_000 }, async () => {
    const s = await startOAuthServer({ env: { MLOPS_MCP_OAUTH_STATUS_PAGE_CLIENT_ID: STATUS_PAGE_CLIENT } });
    const page = await browser.newPage();
    const errors = consoleErrors(page);
    try {
      await browser.clearCookies();
      s.issuer.signInAs = 'carol';
      await page.goto(`${s.server.url}/`);
      expect(new URL((await page.locator('[data-action="sign-in"]').getAttribute('href'))!).searchParams.get('client_id')).toBe(STATUS_PAGE_CLIENT);
      await signInOnPage(page, s);
      await loaded(page);
      expect(await page.locator('header.top').innerText()).toContain('signed in as carol');
      expect(await page.locator('[data-component]').count()).toBe(9);
      expect(await writeActions(page)).toBe(0);

      await page.locator('[data-action="sign-out"]').click();
      await page.locator('[data-action="sign-in"]').waitFor();
      await browser.clearCookies();
      s.issuer.signInAs = 'dave';
      await page.locator('[data-action="sign-in"]').click();
      await page.waitForURL(`${s.server.url}/`);
      await page.getByText('The server did not accept your sign-in').waitFor();
      expect(await page.locator('[data-action="sign-in"]').count()).toBe(1);
      expect(errors.filter((e) => !/status of 40[13]/.test(e))).toEqual([]);
    } finally {
      await page.close();
      await s.close();
    }
  });

  it('refuses an answer that does not match the sign-in this tab started (state)', { timeout: 60_000 }, async () => {
    const s = await startOAuthServer({ env: { MLOPS_MCP_OAUTH_STATUS_PAGE_CLIENT_ID: STATUS_PAGE_CLIENT } });
    const page = await browser.newPage();
    try {
      await page.goto(`${s.server.url}/?code=forged-code&state=not-mine`);
      await page.getByText('Sign-in failed: the answer from the issuer does not match a sign-in started in this tab').waitFor();
      expect(page.url()).toBe(`${s.server.url}/`);
      expect(await page.evaluate(`sessionStorage.getItem('mlops-mcp-oauth-tokens')`)).toBeNull();
    } finally {
      await page.close();
      await s.close();
    }
  });
});
