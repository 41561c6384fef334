import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { packageRoot } from '../../src/config.js';
import { tempDir } from '../helpers.js';

/**
 * The UI tests run in the system's Chromium through playwright-core (no browser download).
 * Without /usr/bin/chromium they are skipped with a printed reason, unless
 * MLOPS_MCP_REQUIRE_BROWSER=1 (CI), which makes a missing browser a failure.
 */
export const CHROMIUM = process.env.MLOPS_MCP_CHROMIUM ?? '/usr/bin/chromium';
export const IMAGES = path.join(packageRoot, 'docs', 'images');

export const haveBrowser = fs.existsSync(CHROMIUM);
if (!haveBrowser) {
  const why = `${CHROMIUM} not found (apt-get install -y chromium)`;
  if (process.env.MLOPS_MCP_REQUIRE_BROWSER === '1') throw new Error(`MLOPS_MCP_REQUIRE_BROWSER=1 but ${why}`);
  console.warn(`UI tests SKIPPED: ${why}; set MLOPS_MCP_REQUIRE_BROWSER=1 to make this a failure.`);
}

/** A fresh headless Chromium profile (its own --user-data-dir). */
export async function launchBrowser(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(tempDir('mlops-mcp-chromium-'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
}

/** Every console error and uncaught exception of a page and its frames, to assert there are none. */
export function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  return errors;
}

/**
 * Where a test writes a screenshot: docs/images with UPDATE_SCREENSHOTS=1 (to refresh the ones the
 * README shows), else a temp dir, so a test run leaves the working tree clean.
 */
export function screenshotPath(name: string): string {
  const dir = process.env.UPDATE_SCREENSHOTS === '1' ? IMAGES : path.join(os.tmpdir(), 'mlops-mcp-screenshots');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
