import { AppBridge, getToolUiResourceUri, PostMessageTransport, RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/app-bridge';
import type { CallToolResult, ReadResourceResult, Tool } from '@modelcontextprotocol/sdk/types.js';

// A minimal MCP Apps host for the UI tests, as a chat client would be: it calls a tool, finds
// the ui:// resource the tool links to, reads it, renders it in a sandboxed iframe under the
// spec's default CSP (no network), and bridges the app's requests to the MCP server. The MCP
// client itself runs in the test (Node), reached through functions Playwright exposes.

declare global {
  interface Window {
    /** The test's SDK Client: tools/list, tools/call, resources/read on the real server. */
    mcpRequest(method: string, params: unknown): Promise<unknown>;
    /** Records and forwards a tools/call the app made through the bridge. */
    appToolCall(params: unknown): Promise<unknown>;
    host: { show(tool: string, args: Record<string, unknown>): Promise<void>; sendToolResult(result: CallToolResult): Promise<void>; ready: boolean };
  }
}

const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:; media-src data:; connect-src 'none'";

let bridge: AppBridge | null = null;

async function show(toolName: string, args: Record<string, unknown>): Promise<void> {
  const { tools } = (await window.mcpRequest('tools/list', {})) as { tools: Tool[] };
  const tool = tools.find((t) => t.name === toolName);
  if (!tool) throw new Error(`no tool ${toolName}`);
  const uri = getToolUiResourceUri(tool);
  if (!uri) throw new Error(`${toolName} links no ui:// resource`);
  const resource = (await window.mcpRequest('resources/read', { uri })) as ReadResourceResult;
  const content = resource.contents[0] as { mimeType?: string; text?: string };
  if (content.mimeType !== RESOURCE_MIME_TYPE || !content.text) throw new Error(`${uri} is ${content.mimeType}`);
  const result = (await window.mcpRequest('tools/call', { name: toolName, arguments: args })) as CallToolResult;

  await bridge?.close();
  const chat = document.getElementById('chat')!;
  chat.replaceChildren();
  const iframe = document.createElement('iframe');
  iframe.setAttribute('sandbox', 'allow-scripts');
  iframe.title = 'mlops-mcp dashboard';
  iframe.srcdoc = content.text.replace(/<head>/i, `<head><meta http-equiv="Content-Security-Policy" content="${CSP}">`);
  chat.append(iframe);

  const b = new AppBridge(
    null,
    { name: 'mlops-mcp test host', version: '1.0.0' },
    { serverTools: {}, serverResources: {}, logging: {} },
    {
      hostContext: { theme: 'light', displayMode: 'inline', platform: 'web', containerDimensions: { width: chat.clientWidth, maxHeight: 6000 } },
    },
  );
  b.oncalltool = async (params) => (await window.appToolCall(params)) as CallToolResult;
  b.onreadresource = async (params) => (await window.mcpRequest('resources/read', params)) as ReadResourceResult;
  b.onsizechange = ({ height }) => {
    if (height !== undefined) iframe.style.height = `${Math.ceil(height)}px`;
  };
  b.oninitialized = () => {
    void b.sendToolInput({ arguments: args });
    void b.sendToolResult(result);
    window.host.ready = true;
  };
  bridge = b;
  window.host.ready = false;
  await b.connect(new PostMessageTransport(iframe.contentWindow!, iframe.contentWindow!));
}

window.host = {
  show,
  async sendToolResult(result) {
    await bridge!.sendToolResult(result);
  },
  ready: false,
};
