import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { isDomainError } from '../errors.js';
import { VERSION } from '../version.js';
import { boundText } from './format.js';
import { registerPrompts } from './prompts.js';
import { registerResources } from './resources.js';
import type { ToolContext, ToolDefinition } from './tool.js';
import { allTools } from './tools/index.js';

export interface McpServerOptions {
  /** Serve only tools whose effect is `read`. */
  readOnly: boolean;
  /** How the caller reached us, recorded with its name in the audit trail. */
  transport: 'stdio' | 'http' | 'memory';
}

/** The annotations a client sees, derived from the tool's effect so they cannot disagree with it. */
export function annotationsFor(tool: ToolDefinition): ToolAnnotations {
  return {
    title: tool.title,
    readOnlyHint: tool.effect === 'read',
    destructiveHint: tool.effect === 'destructive',
    idempotentHint: tool.idempotent,
    openWorldHint: false,
  };
}

export function toolsFor(options: Pick<McpServerOptions, 'readOnly'>): ToolDefinition[] {
  return allTools.filter((t) => !options.readOnly || t.effect === 'read');
}

const INSTRUCTIONS = `mlops-mcp operates ML models: health_check for system health; list_models, get_model and get_model_history for the registry; promote_model, rollback_model and archive_model change stages (try dry_run: true first and give a reason); get_alerts for recent events. Errors start with a code (not_found, invalid_argument, failed_precondition, …) and say what to do next.`;

/** One MCP server (one per session or stdio connection) over the shared AppContext. */
export function createMcpServer(app: AppContext, options: McpServerOptions): McpServer {
  const server = new McpServer({ name: 'mlops-mcp', title: 'mlops-mcp', version: VERSION }, { instructions: INSTRUCTIONS });
  const actor = () => {
    const client = server.server.getClientVersion();
    return `${client?.name ?? 'unknown-client'} (${options.transport})`;
  };

  for (const tool of toolsFor(options)) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        // Strict: a misspelt argument (dryrun for dry_run) is an error, never silently ignored.
        inputSchema: z.object(tool.input).strict(),
        outputSchema: tool.output,
        annotations: annotationsFor(tool),
      },
      async (args: Record<string, unknown>, extra): Promise<CallToolResult> => {
        try {
          const answer = await tool.handler(args, { app, actor: actor(), signal: extra.signal, progress: progressReporter(extra) });
          const images = (answer.images ?? []).map((i) => ({ type: 'image' as const, data: i.data.toString('base64'), mimeType: i.mimeType }));
          return { content: [{ type: 'text', text: boundText(answer.summary) }, ...images], structuredContent: answer.data };
        } catch (e) {
          return toolError(app, tool.name, e);
        }
      },
    );
  }
  registerResources(server, app);
  registerPrompts(server, app);
  return server;
}


/** Sends notifications/progress when the client asked for them with a progressToken. */
function progressReporter(extra: RequestHandlerExtra<ServerRequest, ServerNotification>): ToolContext['progress'] {
  const token = extra._meta?.progressToken;
  if (token === undefined) return () => undefined;
  return (progress, total, message) => {
    void extra
      .sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, ...(total === undefined ? {} : { total }), ...(message ? { message } : {}) } })
      .catch(() => undefined);
  };
}

/**
 * A failed call: a domain error becomes its code and message; anything else is logged with its
 * stack and answered with an id to find it in the logs, never with the stack itself.
 */
function toolError(app: AppContext, tool: string, e: unknown): CallToolResult {
  if (isDomainError(e)) {
    return { isError: true, content: [{ type: 'text', text: `${e.code}: ${e.message}` }], _meta: { 'mlops-mcp/error': { code: e.code } } };
  }
  const id = randomUUID();
  app.logger.error({ err: e, tool, errorId: id }, 'tool failed');
  return {
    isError: true,
    content: [{ type: 'text', text: `internal: ${tool} failed unexpectedly (error id ${id} in the server log). Nothing was changed; try again, and report it if it persists.` }],
    _meta: { 'mlops-mcp/error': { code: 'internal', error_id: id } },
  };
}
