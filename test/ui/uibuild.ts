import fs from 'node:fs';
import path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { packageRoot } from '../../src/config.js';

export const DASHBOARD_HTML = path.join(packageRoot, 'dist', 'ui', 'dashboard.html');
export const STATUS_HTML = path.join(packageRoot, 'dist', 'ui', 'status.html');
/** The budget of the MCP App resource (one self-contained HTML file). */
export const MAX_APP_BYTES = 300 * 1024;

/** The test host page (test/ui/host), bundled into one HTML file with ext-apps' app-bridge. */
export async function buildTestHost(): Promise<string> {
  const { build } = await import('vite');
  const { viteSingleFile } = await import('vite-plugin-singlefile');
  const root = path.join(packageRoot, 'test', 'ui', 'host');
  const out = (await build({
    configFile: false,
    root,
    logLevel: 'warn',
    plugins: [viteSingleFile()],
    build: { write: false, target: 'es2022', reportCompressedSize: false, rollupOptions: { input: path.join(root, 'host.html') } },
  })) as
    | { output: Array<{ fileName: string; type: string; source?: string | Uint8Array }> }
    | Array<{ output: Array<{ fileName: string; source?: string | Uint8Array }> }>;
  const output = Array.isArray(out) ? out[0].output : out.output;
  const html = output.find((o) => o.fileName === 'host.html');
  if (!html?.source) throw new Error('the test host did not build');
  return String(html.source);
}

export function requireBuiltUi(): void {
  for (const f of [DASHBOARD_HTML, STATUS_HTML]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: run npm run build`);
}

/**
 * Resolves when the expression `check` is true in the frame; fails naming `what` after `ms`.
 * Polled from here with frame.evaluate: the app's CSP forbids the eval that waitForFunction uses.
 */
export async function until(frame: Frame | Page, what: string, check: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if ((await frame.evaluate(check)) === true) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${ms} ms waiting for ${what} (${check})${last ? `: ${(last instanceof Error ? last.message : JSON.stringify(last)).split('\n')[0]}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
