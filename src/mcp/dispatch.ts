import { randomUUID } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { diskFailure, isDomainError, withNextSteps } from '../errors.js';
import type { Logger } from '../logger.js';
import { protoKeyPath, protoKeyProblem } from '../proto-key.js';
import { issuesText } from '../zod-issues.js';
import { toolStep } from './next-steps.js';

const MAX_ERROR_TEXT = 2000;

/** A registered tool as the dispatcher calls it: the schemas McpServer was given, and its callback. */
export interface DirectTool {
  input: z.ZodType<Record<string, unknown>>;
  output: z.ZodType;
  /** See ToolDefinition.acceptAsIs. */
  acceptAsIs?: (args: Record<string, unknown>) => boolean;
  /** The callback registered with McpServer, with the same `extra` the SDK would pass. */
  call(args: Record<string, unknown>, extra: unknown): Promise<CallToolResult>;
}

type Handler = (request: unknown, extra: unknown) => Promise<unknown>;

export function errorResult(code: string, text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }], _meta: { 'mlops-mcp/error': { code } } };
}

/**
 * A failed call: a domain error becomes its code and message; anything else is logged with its
 * stack and answered with an id to find it in the logs, never with the stack itself.
 */
export function toolError(logger: Logger, tool: string, e: unknown): CallToolResult {
  if (isDomainError(e)) return errorResult(e.code, `${e.code}: ${withNextSteps(e, toolStep)}`);
  const disk = diskFailure(e);
  if (disk) {
    logger.error({ err: e, tool }, 'the disk under the home failed a request');
    return errorResult(
      'unavailable',
      `unavailable: the disk under MLOPS_MCP_HOME failed this request (${disk}). Check it (health_check's storage component). Nothing was changed; retry once it works again.`,
    );
  }
  const id = randomUUID();
  logger.error({ err: e, tool, errorId: id }, 'tool failed');
  const result = errorResult(
    'internal',
    `internal: ${tool} failed unexpectedly (error id ${id} in the server log). Nothing was changed; try again, and report it if it persists.`,
  );
  return { ...result, _meta: { 'mlops-mcp/error': { code: 'internal', error_id: id } } };
}

/**
 * Takes over tools/call from the handler McpServer installed (its handler map is private; the
 * SDK has no hook for any of this):
 * - a tool left out for read-only mode or the caller's role is not listed, and a call to it
 *   anyway gets an error naming why rather than "tool not found" (`onHidden` sees it first);
 * - arguments holding a `__proto__` key are refused by name (zod's records drop it silently);
 * - an ordinary call (name, arguments, at most a progress token) whose arguments pass the input
 *   schema goes straight to the tool, and its answer is checked against the output schema here.
 *   The SDK's path checks the same two schemas, but also parses the request twice more and the
 *   result once more with the protocol's own schemas, all asynchronously: ~15–25 µs of a
 *   predict's CPU. Arguments that fail, and an unknown tool, are answered here as
 *   `<code>: <what to do>`. Anything else (a task, related-task metadata) takes the SDK's path;
 *   an error the SDK answers there is reworded the same way.
 * The handler goes into the map as it is: through `setRequestHandler` the SDK would wrap it
 * again and validate every call's request and result once more.
 */
export function takeOverToolCalls(
  server: McpServer,
  tools: ReadonlyMap<string, DirectTool>,
  hidden: ReadonlyMap<string, string>,
  logger: Logger,
  /** Sees a call to a hidden tool before it is answered (to audit it); its failure is logged, the answer stays the refusal. */
  onHidden?: (tool: string, code: string, args: unknown) => Promise<void>,
): void {
  const handlers = (server.server as unknown as { _requestHandlers: Map<string, Handler> })._requestHandlers;
  const sdkPath = handlers.get('tools/call');
  handlers.set('tools/call', async (request, extra) => {
    const params = ordinaryCall(request);
    const name = params?.name ?? (request as { params?: { name?: unknown } } | null)?.params?.name;
    const message = typeof name === 'string' ? hidden.get(name) : undefined;
    if (message !== undefined) {
      const code = message.slice(0, message.indexOf(':'));
      await onHidden?.(name as string, code, (request as { params?: { arguments?: unknown } }).params?.arguments).catch((e: unknown) =>
        logger.warn({ err: e, tool: name }, 'could not audit a refused call'),
      );
      return errorResult(code, message);
    }
    if (params && !tools.has(params.name)) {
      return errorResult('not_found', `not_found: no tool named "${params.name.slice(0, 100)}"; tools/list shows the tools this server offers to this caller.`);
    }
    const tool = params ? tools.get(params.name) : undefined;
    if (params && tool) {
      const raw = (params.arguments ?? {}) as Record<string, unknown>;
      const asIs = tool.acceptAsIs?.(raw) === true;
      const protoKey = asIs ? null : protoKeyPath(raw);
      if (protoKey !== null) return errorResult('invalid_argument', `invalid_argument: ${protoKeyProblem(protoKey)}`);
      const args = asIs ? { success: true as const, data: raw } : tool.input.safeParse(raw);
      if (args.success) {
        let result: CallToolResult;
        try {
          result = await tool.call(args.data, extra);
        } catch (e) {
          // Tools answer their own failures; one that throws is answered as they would answer it.
          return toolError(logger, params.name, e);
        }
        if (result.isError) return result;
        const checked = tool.output.safeParse(result.structuredContent);
        if (checked.success) return result;
        logger.error({ tool: params.name, issues: checked.error.issues.slice(0, 5) }, 'a tool answered outside its output schema');
        return errorResult(
          'internal',
          `internal: ${params.name} produced an answer outside its output schema (a bug; the server log has the details). Report it.`,
        );
      }
      return errorResult('invalid_argument', invalidArguments(params.name, args.error.issues, raw));
    } else if (typeof name === 'string' && tools.has(name)) {
      const protoKey = protoKeyPath((request as { params?: { arguments?: unknown } }).params?.arguments);
      if (protoKey !== null) return errorResult('invalid_argument', `invalid_argument: ${protoKeyProblem(protoKey)}`);
    }
    if (!sdkPath) return errorResult('internal', `internal: no tool handler for ${String(name)}`);
    return withErrorCode((await sdkPath(request, extra)) as CallToolResult);
  });
}

/** The params of a tools/call with nothing but a name, plain arguments and at most a progress token; else null. */
function ordinaryCall(request: unknown): { name: string; arguments?: unknown } | null {
  const params = (request as { params?: unknown } | null)?.params;
  if (!isPlainObject(params) || typeof params.name !== 'string') return null;
  for (const key in params) {
    if (key === 'name') continue;
    if (key === 'arguments' && (params.arguments === undefined || isPlainObject(params.arguments))) continue;
    if (key === '_meta' && (params._meta === undefined || isProgressOnly(params._meta))) continue;
    return null;
  }
  return params as { name: string; arguments?: unknown };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function isProgressOnly(meta: unknown): boolean {
  if (!isPlainObject(meta)) return false;
  for (const key in meta) {
    if (key !== 'progressToken') return false;
    const token = meta.progressToken;
    if (token !== undefined && typeof token !== 'string' && !Number.isInteger(token)) return false;
  }
  return true;
}

/** An error the SDK answered itself, as `<code>: <what to do>` like ours, bounded. */
function withErrorCode(result: CallToolResult): CallToolResult {
  if (!result.isError || result._meta?.['mlops-mcp/error'] !== undefined) return result;
  const message = result.content[0]?.type === 'text' ? result.content[0].text : '';
  const code = /not found/i.test(message) ? 'not_found' : 'invalid_argument';
  // "MCP error -32602: Input validation error: Invalid arguments for tool x: …": the protocol's wording, not a problem the caller can act on.
  const problem = message.replace(/^MCP error -?\d+: /, '').replace(/^(Input|Output) validation error: (Invalid arguments for tool \S+: )?/, '');
  const what = code === 'not_found' ? 'tools/list shows the tools this server offers to this caller' : 'correct the call and send it again';
  return { ...result, content: [{ type: 'text', text: bounded(`${code}: ${problem}; ${what}.`) }], _meta: { ...result._meta, 'mlops-mcp/error': { code } } };
}

/** An error text kept bounded: 10 000 bad rows make a 600 kB list of problems. The first ones are kept. */
function bounded(text: string): string {
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}\n… (${text.length - MAX_ERROR_TEXT} more characters of validation problems)` : text;
}

/** Arguments that fail a tool's input schema, as `invalid_argument: <tool> arguments: <where>: <problem>; …` and what to do. */
export function invalidArguments(tool: string, issues: readonly z.core.$ZodIssue[], args: Record<string, unknown>): string {
  return bounded(`invalid_argument: ${tool} arguments: ${issuesText(issues, args)}. Correct them and call again (tools/list shows ${tool}'s input schema).`);
}
