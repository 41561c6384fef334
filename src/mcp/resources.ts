import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AppContext } from '../context.js';
import { DomainError, isDomainError, withNextSteps } from '../errors.js';
import type { ModelVersion } from '../registry/types.js';
import { summarizeModels } from '../registry/summary.js';
import { LISTED_VERSIONS } from '../registry/watch.js';
import { actorText, auditLine, auditWhat, detailText, outputsText, servingText } from './format.js';
import { toolStep } from './next-steps.js';

const AUDIT_ROWS = 500;

/** A resource read whose domain error says what to do next, as a tool's answer would. */
const worded =
  <A extends unknown[], R>(read: (...args: A) => Promise<R>) =>
  async (...args: A): Promise<R> => {
    try {
      return await read(...args);
    } catch (e) {
      throw isDomainError(e) ? new DomainError(e.code, withNextSteps(e, toolStep)) : e;
    }
  };

/** models://registry (every model as JSON) and models://{name}/{version} (a Markdown model card). */
export function registerResources(server: McpServer, app: AppContext): void {
  registerAuditResource(server, app);
  server.registerResource(
    'registry',
    'models://registry',
    { title: 'Model registry', description: 'Every registered model with its versions and stages (JSON)', mimeType: 'application/json' },
    async (uri) => {
      const { versions } = await app.registry.list({ limit: 10_000 });
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ models: summarizeModels(versions) }, null, 2) }] };
    },
  );

  server.registerResource(
    'model-card',
    new ResourceTemplate('models://{name}/{version}', {
      list: async () => {
        const { versions } = await app.registry.list({ limit: LISTED_VERSIONS });
        return {
          resources: versions.map((v) => ({
            uri: `models://${v.name}/${v.version}`,
            name: `${v.name} ${v.version}`,
            description: `${v.stage}`,
            mimeType: 'text/markdown',
          })),
        };
      },
      complete: {
        name: async (value) => (await app.registry.modelNames()).filter((n) => n.startsWith(value)),
        version: async (value, context) => {
          const name = context?.arguments?.name;
          if (!name) return [];
          const { versions } = await app.registry.list({ name, limit: LISTED_VERSIONS });
          return versions.map((v) => v.version).filter((v) => v.startsWith(value));
        },
      },
    }),
    { title: 'Model card', description: 'A model version as Markdown: stage, signature, features, metrics, history', mimeType: 'text/markdown' },
    worded(async (uri, variables) => {
      const name = single(variables.name);
      const version = single(variables.version);
      const v = await app.registry.get(name, { version });
      const { entries } = await app.registry.history(name, { limit: 20 });
      return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text: modelCard(v, entries.filter((e) => e.version === v.version).map(auditLine)) }] };
    }),
  );
}

export function registerAuditResource(server: McpServer, app: AppContext): void {
  server.registerResource(
    'audit',
    new ResourceTemplate('audit://{name}', {
      list: async () => ({
        resources: (await app.registry.modelNames()).map((n) => ({ uri: `audit://${n}`, name: `${n} audit trail`, mimeType: 'text/markdown' })),
      }),
      complete: { name: async (value) => (await app.registry.modelNames()).filter((n) => n.startsWith(value)) },
    }),
    { title: 'Audit trail', description: "A model's audit trail as a Markdown table, newest first (the latest 500 entries)", mimeType: 'text/markdown' },
    worded(async (uri, variables) => {
      const name = single(variables.name);
      const { entries, nextCursor } = await app.registry.history(name, { limit: AUDIT_ROWS });
      const row = (cells: Array<string | number | null | undefined>) =>
        `| ${cells
          .map((c) =>
            String(c ?? '')
              .replaceAll('|', '\\|')
              .replaceAll('\n', ' '),
          )
          .join(' | ')} |`;
      const lines = [
        `# Audit trail of ${name}`,
        '',
        row(['time', 'action', 'what', 'actor', 'reason', 'approved by', "approver's reason"]),
        row(['---', '---', '---', '---', '---', '---', '---']),
        ...entries.map((e) =>
          row([e.createdAt, e.action, auditWhat(e), actorText(e), e.reason ?? '', detailText(e.details?.approved_by), detailText(e.details?.approver_reason)]),
        ),
        '',
        nextCursor ? `_Older entries: get_model_history with name "${name}" and cursor "${nextCursor}"._` : '',
      ];
      return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text: lines.join('\n') }] };
    }),
  );
}

/** How the graph served relates to the registered artifact. */
function servedCard(v: ModelVersion): string {
  const derived = servingText(v);
  if (!derived) return 'The registered artifact is served as it is.';
  const given = v.signature.serving?.derivation.find((d) => d.kind === 'external_data_inlined');
  const registered = given
    ? `The artifact \`${v.artifactSha256}\` is the .onnx file given (sha256 \`${given.sourceSha256}\`) with its external data inside.`
    : `The artifact \`${v.artifactSha256}\` is the file given, byte for byte.`;
  const served =
    v.signature.serving && v.signature.serving.sha256 !== v.artifactSha256
      ? ` onnxruntime serves a graph derived from it, \`${v.signature.serving.sha256}\` (${v.signature.serving.bytes} bytes), stored beside it.`
      : '';
  return `${registered}${served} Derived for serving: ${derived}.`;
}

function single(value: string | string[] | undefined): string {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) throw new DomainError('invalid_argument', 'The resource URI must be models://<name>/<version>.');
  return decodeURIComponent(v);
}

export function modelCard(v: ModelVersion, history: string[]): string {
  const row = (cells: unknown[]) => `| ${cells.map((c) => String(c).replaceAll('|', '\\|')).join(' | ')} |`;
  const lines = [
    `# ${v.name} ${v.version}`,
    '',
    v.description || '_No description._',
    '',
    row(['stage', 'registered', 'artifact sha256', 'size']),
    row(['---', '---', '---', '---']),
    row([v.stage, v.createdAt, `\`${v.artifactSha256}\``, `${v.artifactBytes} bytes`]),
    '',
    '## Signature',
    '',
    row(['', 'name', 'type', 'shape']),
    row(['---', '---', '---', '---']),
    ...v.signature.inputs.map((i) => row(['input', i.name, i.type, JSON.stringify(i.shape)])),
    ...v.signature.outputs.map((o) => row(['output', o.name, o.type, JSON.stringify(o.shape)])),
    '',
    `Read as a ${outputsText(v)}.`,
    '',
    '## Serving',
    '',
    servedCard(v),
    '',
    '## Features',
    '',
    v.featureNames ? v.featureNames.map((f, i) => `${i + 1}. \`${f}\``).join('\n') : '_No feature names recorded._',
    '',
    '## Metrics',
    '',
    Object.keys(v.metrics).length
      ? Object.entries(v.metrics)
          .map(([k, m]) => `- ${k}: ${m}`)
          .join('\n')
      : '_None recorded._',
    '',
    '## Tags',
    '',
    Object.keys(v.tags).length
      ? Object.entries(v.tags)
          .map(([k, t]) => `- ${k}: ${t}`)
          .join('\n')
      : '_None._',
    '',
    '## History',
    '',
    history.length ? history.map((h) => `- ${h}`).join('\n') : '_No transitions._',
    '',
  ];
  return lines.join('\n');
}
