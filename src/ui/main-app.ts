import { App, applyDocumentTheme, applyHostFonts, applyHostStyleVariables, type McpUiHostContext } from '@modelcontextprotocol/ext-apps';
import { Dashboard } from './dashboard.js';
import type { Connection } from './types.js';
import './style.css';

// The dashboard inside an MCP Apps host (SEP-1865): every read and every change is a call of our
// tools through the host (app.callServerTool), which proxies it to the server that linked us.

const app = new App({ name: 'mlops-mcp dashboard', version: '1.0.0' }, {}, { autoResize: true });

/** A change may wait for a person's approval (MLOPS_MCP_APPROVAL=elicit), longer than the default 60 s. */
const WRITE_TIMEOUT_MS = 15 * 60_000;

const connection: Connection = {
  call: (name, args) => app.callServerTool({ name, arguments: args }, args.dry_run === false ? { timeout: WRITE_TIMEOUT_MS } : undefined),
  // The host does not tell an app which tools it may call; a refused call says why.
  tools: () => null,
  label: () => (app.getHostVersion() ? `via ${app.getHostVersion()!.name}` : 'connecting…'),
};

function applyHostContext(ctx: McpUiHostContext | undefined): void {
  if (!ctx) return;
  if (ctx.theme) applyDocumentTheme(ctx.theme);
  if (ctx.styles?.variables) applyHostStyleVariables(ctx.styles.variables);
  if (ctx.styles?.css?.fonts) applyHostFonts(ctx.styles.css.fonts);
}

const dashboard = new Dashboard(document.getElementById('root')!, connection);

// Before connect: the host may send the tool's input and result right after the handshake.
app.ontoolinput = (params) => dashboard.focus(params.arguments?.name);
app.ontoolresult = (result) => dashboard.showResult(result);
app.onhostcontextchanged = (ctx) => {
  applyHostContext(ctx);
  dashboard.render();
};
app.onteardown = async () => ({});

try {
  await app.connect();
  applyHostContext(app.getHostContext());
  await dashboard.refresh();
} catch (e) {
  document.getElementById('root')!.textContent = `Could not connect to the host: ${e instanceof Error ? e.message : String(e)}`;
}
