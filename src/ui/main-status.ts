import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JsonSchemaValidator, jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import { ElicitRequestSchema, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { Dashboard } from './dashboard.js';
import { h } from './dom.js';
import { PageSignIn, signInSettings } from './sign-in.js';
import type { Connection, ToolResult } from './types.js';
import './style.css';

// The status page at GET /: the same dashboard for people outside a chat, as a standard MCP
// client (the SDK's Client over Streamable HTTP) of /mcp on the page's own origin, so the
// server's token, roles, read-only mode, approval and Host/Origin checks all apply. When the
// server is an OAuth resource server, the person signs in at its issuer (sign-in.ts); a bearer
// token works beside it, as on the server.

const TOKEN_KEY = 'mlops-mcp-token';
const REFRESH_MS = 10_000;
/** A change may wait for a person's approval (MLOPS_MCP_APPROVAL=elicit). */
const WRITE_TIMEOUT_MS = 15 * 60_000;

// No eval under the page's CSP: zod's JIT off; tool outputs are checked by the server itself
// against their output schemas, so the client's (Ajv, eval-based) validator is replaced.
z.config({ jitless: true });
const trustServer: jsonSchemaValidator = {
  getValidator<T>(): JsonSchemaValidator<T> {
    return (input) => ({ valid: true, data: input as T, errorMessage: undefined });
  },
};

const root = document.getElementById('root')!;
const footer = document.getElementById('footer')!;
const dialog = document.getElementById('dialog') as HTMLDialogElement;
const endpoint = new URL('mcp', location.href);

let client: Client | null = null;
let transport: StreamableHTTPClientTransport | null = null;
let tools: Set<string> | null = null;
let token: string | null = sessionStorage.getItem(TOKEN_KEY);
const settings = signInSettings();
const oauth = settings ? new PageSignIn(settings) : null;

const status = (e: unknown) => (e instanceof StreamableHTTPError ? e.code : undefined);

async function open(): Promise<void> {
  const t = new StreamableHTTPClientTransport(
    endpoint,
    token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : oauth ? { authProvider: oauth } : {},
  );
  const c = new Client({ name: 'mlops-mcp status page', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } }, jsonSchemaValidator: trustServer });
  c.setRequestHandler(ElicitRequestSchema, (request) => askPerson(request.params));
  await c.connect(t);
  const listed = await c.listTools();
  client = c;
  transport = t;
  tools = new Set(listed.tools.map((x) => x.name));
}

async function reconnect(): Promise<void> {
  const old = client;
  client = null;
  await old?.close().catch(() => undefined);
  await open();
}

const connection: Connection = {
  async call(name, args) {
    const once = () =>
      client!.callTool({ name, arguments: args }, undefined, args.dry_run === false ? { timeout: WRITE_TIMEOUT_MS } : undefined) as Promise<ToolResult>;
    if (!client) await open();
    try {
      return await once();
    } catch (e) {
      // The sign-in ended (the access token expired): sign in again from the start.
      if (e instanceof UnauthorizedError && oauth && !token) {
        oauth.signOut();
        location.reload();
      }
      // The session expired (idle) or the server restarted: one new session, one retry.
      if (status(e) !== 404) throw e;
      await reconnect();
      return once();
    }
  },
  tools: () => tools,
  label: () => `${location.host}${token ? ' · with token' : oauth?.signedIn() ? ` · signed in${oauth.who() ? ` as ${oauth.who()}` : ''}` : ''}`,
};

/** An approval request (MCP elicitation) as a form: a yes/no, a reason, accept or decline. */
function askPerson(params: ElicitRequest['params']): Promise<ElicitResult> {
  return new Promise((resolve) => {
    const schema = 'requestedSchema' in params ? params.requestedSchema : { properties: {} };
    const fields = Object.entries(schema.properties ?? {}) as Array<[string, { type?: string; title?: string; description?: string; enum?: string[] }]>;
    const inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
    const field = ([key, p]: (typeof fields)[number]) => {
      const input =
        p.type === 'boolean'
          ? h('input', { type: 'checkbox', name: key })
          : p.enum
            ? h(
                'select',
                { name: key },
                p.enum.map((v) => h('option', { value: v }, v)),
              )
            : h('input', { type: p.type === 'number' || p.type === 'integer' ? 'number' : 'text', name: key });
      inputs.set(key, input);
      return h(
        'label',
        { class: p.type === 'boolean' ? 'check' : 'reason' },
        input,
        ` ${p.title ?? key}`,
        p.description ? h('small', { class: 'muted' }, ` — ${p.description}`) : '',
      );
    };
    const finish = (result: ElicitResult) => {
      dialog.close();
      resolve(result);
    };
    const accept = () => {
      const content: Record<string, string | number | boolean> = {};
      for (const [key, input] of inputs) {
        const type = fields.find(([k]) => k === key)?.[1].type;
        if (input instanceof HTMLInputElement && input.type === 'checkbox') content[key] = input.checked;
        else if (input.value !== '') content[key] = type === 'number' || type === 'integer' ? Number(input.value) : input.value;
      }
      finish({ action: 'accept', content });
    };
    dialog.replaceChildren(
      h(
        'form',
        { method: 'dialog', class: 'pending', 'data-elicitation': '', onsubmit: (e: Event) => (e.preventDefault(), accept()) },
        h('h4', {}, 'The server asks for your approval'),
        h('p', {}, params.message),
        fields.map(field),
        h(
          'div',
          { class: 'buttons' },
          h('button', { type: 'submit', class: 'btn primary', 'data-action': 'approve' }, 'Send'),
          h('button', { type: 'button', class: 'btn', onclick: () => finish({ action: 'decline' }) }, 'Decline'),
          h('button', { type: 'button', class: 'btn', onclick: () => finish({ action: 'cancel' }) }, 'Cancel'),
        ),
      ),
    );
    dialog.onclose = () => resolve({ action: 'cancel' });
    dialog.showModal();
  });
}

/**
 * /mcp answered 401: offer the issuer's sign-in when there is one, and ask for a token; the token
 * is kept in this tab's sessionStorage, never in the URL.
 */
function askToken(refused: string | null): Promise<void> {
  return new Promise((resolve) => {
    const input = h('input', { type: 'password', autocomplete: 'off', required: true, 'aria-label': 'token', 'data-token-input': '' });
    root.replaceChildren(
      h('header', { class: 'top' }, h('h1', {}, 'mlops-mcp'), h('span', { class: 'muted' }, location.host)),
      h(
        'form',
        {
          class: 'card token',
          'data-token-form': '',
          onsubmit: (e: Event) => {
            e.preventDefault();
            token = input.value.trim();
            sessionStorage.setItem(TOKEN_KEY, token);
            resolve();
          },
        },
        h('h2', {}, oauth ? 'Sign-in required' : 'Token required'),
        refused ? h('p', { class: 'error', role: 'alert' }, refused) : '',
        oauth?.authorizationUrl
          ? h(
              'p',
              {},
              h(
                'a',
                { class: 'btn primary', href: oauth.authorizationUrl.href, 'data-action': 'sign-in' },
                `Sign in with ${new URL(oauth.settings.issuer).host}`,
              ),
              h('span', { class: 'muted' }, ' — or use a bearer token:'),
            )
          : '',
        h(
          'p',
          {},
          'This server asks for a bearer token on /mcp (MLOPS_MCP_TOKEN or a named token). It is kept in this browser tab only (sessionStorage) and sent in the Authorization header.',
        ),
        h('label', { class: 'reason' }, 'Token ', input),
        h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'btn primary' }, 'Connect')),
      ),
    );
    input.focus();
  });
}

function renderFooter(): void {
  footer.replaceChildren(
    `Status page of mlops-mcp: reads and acts through the MCP tools at ${endpoint.pathname}; refreshes every ${REFRESH_MS / 1000} s. `,
    token
      ? h(
          'button',
          { type: 'button', class: 'link', 'data-action': 'forget-token', onclick: () => (sessionStorage.removeItem(TOKEN_KEY), location.reload()) },
          'Forget the token',
        )
      : oauth?.signedIn()
        ? h('button', { type: 'button', class: 'link', 'data-action': 'sign-out', onclick: () => (oauth.signOut(), location.reload()) }, 'Sign out')
        : '',
  );
}

/** When this load is the issuer sending the person back: the code exchanged for a token; else what failed. */
async function finishSignIn(): Promise<string | null> {
  if (!oauth) return null;
  try {
    const code = oauth.takeCallback();
    if (code) await new StreamableHTTPClientTransport(endpoint, { authProvider: oauth }).finishAuth(code);
    return null;
  } catch (e) {
    return `Sign-in failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

async function start(): Promise<void> {
  let refused = await finishSignIn();
  for (;;) {
    const signedIn = oauth?.signedIn() ?? false;
    try {
      await open();
      break;
    } catch (e) {
      if (e instanceof UnauthorizedError && oauth && !token) {
        // The SDK prepared a new authorization request (the link); a token it had was not taken.
        if (signedIn) {
          oauth.signOut();
          refused =
            'The server did not accept your sign-in: it expired, or the issuer granted none of the scopes this server needs. Sign in again, or ask for access.';
        }
        await askToken(refused);
        continue;
      }
      if (status(e) !== 401) {
        root.replaceChildren(
          h('p', { class: 'notice error', role: 'alert' }, `Cannot reach ${endpoint.pathname}: ${e instanceof Error ? e.message : String(e)}. Retrying…`),
        );
        await new Promise((r) => setTimeout(r, REFRESH_MS));
        continue;
      }
      if (token) {
        refused = 'The server refused that token.';
        sessionStorage.removeItem(TOKEN_KEY);
        token = null;
      }
      await askToken(refused);
    }
  }
  renderFooter();
  const dashboard = new Dashboard(root, connection);
  await dashboard.refresh();
  setInterval(() => {
    if (!document.hidden && !dashboard.busy() && !dialog.open) void dashboard.refresh();
  }, REFRESH_MS);
  addEventListener('pagehide', () => void transport?.terminateSession().catch(() => undefined));
}

void start();
