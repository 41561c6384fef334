import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { registerAppResource, RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY } from '@modelcontextprotocol/ext-apps/server';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { packageRoot } from '../config.js';
import type { ToolDefinition } from './tool.js';

/**
 * The dashboard as an MCP App (SEP-1865, @modelcontextprotocol/ext-apps): one self-contained
 * HTML file built from src/ui by `npm run build`, served as a ui:// resource and linked from
 * the tools it illustrates. Hosts without MCP Apps ignore the link and keep the text and
 * structured answers.
 */

export const DASHBOARD_URI = 'ui://mlops-mcp/dashboard';

/** Built by `npm run build` (vite, src/ui): the app, and the status page served at GET /. */
export const DASHBOARD_HTML = path.join(packageRoot, 'dist', 'ui', 'dashboard.html');
export const STATUS_PAGE_HTML = path.join(packageRoot, 'dist', 'ui', 'status.html');

/** The tools whose results a host shows with the dashboard. */
export const DASHBOARD_TOOLS: readonly string[] = ['health_check', 'list_models', 'get_traffic_config', 'detect_drift', 'get_model_performance'];

/**
 * A tool's MCP Apps `_meta`, or undefined for a tool without any: the link to the dashboard (the
 * current `ui.resourceUri` and the legacy flat `ui/resourceUri` key, as ext-apps'
 * registerAppTool writes them for older hosts), and who a host shows the tool to
 * (`ui.visibility`: an app-only tool stays out of the model's tool list).
 */
export function toolMeta(tool: Pick<ToolDefinition, 'name' | 'visibility'>): Record<string, unknown> | undefined {
  const linked = DASHBOARD_TOOLS.includes(tool.name);
  if (!linked && !tool.visibility) return undefined;
  const ui: { resourceUri?: string; visibility?: Array<'model' | 'app'> } = {
    ...(linked && { resourceUri: DASHBOARD_URI }),
    ...(tool.visibility && { visibility: [...tool.visibility] }),
  };
  return { ui, ...(linked && { [RESOURCE_URI_META_KEY]: DASHBOARD_URI }) };
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>mlops-mcp</title><body style="font-family:sans-serif;padding:1em"><p>The mlops-mcp dashboard is not built: run <code>npm run build</code> in the server's checkout.</p></body>`;

/** The built HTML, read on each request (a rebuild needs no restart); a short notice when missing. */
export async function readBuiltHtml(file: string): Promise<{ html: string; built: boolean }> {
  try {
    return { html: await readFile(file, 'utf8'), built: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { html: NOT_BUILT, built: false };
    throw e;
  }
}

/** Registers ui://mlops-mcp/dashboard (text/html;profile=mcp-app). */
export function registerDashboard(server: McpServer): void {
  registerAppResource(
    server,
    'dashboard',
    DASHBOARD_URI,
    {
      title: 'mlops-mcp dashboard',
      description: 'Health, model stages and transitions, A/B traffic and drift charts, with promote, rollback and traffic actions through the tools (MCP App)',
      mimeType: RESOURCE_MIME_TYPE,
    },
    async () => ({
      contents: [
        {
          uri: DASHBOARD_URI,
          mimeType: RESOURCE_MIME_TYPE,
          text: (await readBuiltHtml(DASHBOARD_HTML)).html,
          // Everything is inlined: the app needs no network beyond the host's tool calls.
          _meta: { ui: { prefersBorder: true, csp: { connectDomains: [], resourceDomains: [] } } },
        },
      ],
    }),
  );
}
