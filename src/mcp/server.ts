import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { type CallToolResult, type ServerNotification, type ServerRequest, type ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import type { Actor } from '../registry/types.js';
import { VERSION } from '../version.js';
import { registerDashboard, toolMeta } from './app.js';
import { answerContent } from './answer.js';
import { errorResult, takeOverToolCalls, toolError, type DirectTool } from './dispatch.js';
import { approvalNote, cannotApprove, requestApproval } from './approval.js';
import { registerPrompts } from './prompts.js';
import { auditUnavailableCall } from './refusals.js';
import { registerResources } from './resources.js';
import { StaleAssessmentError, type Assessment, type Role, type ToolContext, type ToolDefinition } from './tool.js';
import { allTools } from './tools/index.js';

/** Who is on the other end of this server, as the transport established it. */
export interface Caller {
  /** The audit actor: a configured token's name, or an OAuth access token's subject; undefined: the MCP client's name. */
  name?: string | undefined;
  /** The display name an OAuth access token carries, recorded beside its subject. */
  displayName?: string | undefined;
  role: Role;
  /** How the caller proved who it is: a configured token, or an access token from the OAuth issuer. */
  via?: 'token' | 'oauth' | undefined;
  /** The role scopes an OAuth access token granted. */
  scopes?: string[] | undefined;
}

/** The caller as messages name it: `token "ci-bot"`, `user "alice" (Alice Admin)`, or `this caller`. */
export function callerLabel(caller: Caller): string {
  if (caller.name === undefined) return 'this caller';
  if (caller.via === 'oauth') return `user ${JSON.stringify(caller.name)}${caller.displayName ? ` (${caller.displayName})` : ''}`;
  return `token ${JSON.stringify(caller.name)}`;
}

export interface McpServerOptions {
  /** Serve only tools whose effect is `read`. */
  readOnly: boolean;
  /** How the caller reached us, recorded with its name in the audit trail. */
  transport: 'stdio' | 'http' | 'memory';
  /** Default: full rights (stdio, or HTTP without tokens). */
  caller?: Caller | undefined;
}

/** Roles in order of rights: a caller may do what a role of lower or equal rank may. */
export const RANK: Record<Role, number> = { read: 0, operate: 1, admin: 2 };

/** The least role that may call a tool at all (its definition's, else by its effect); a call that reaches production needs admin on top. */
export function minimumRole(tool: ToolDefinition): Role {
  return tool.minimumRole ?? (tool.effect === 'read' ? 'read' : 'operate');
}

/** The annotations a client sees, derived from the tool's effect so they cannot disagree with it. */
export function annotationsFor(tool: ToolDefinition): ToolAnnotations {
  return {
    title: tool.title,
    readOnlyHint: tool.effect === 'read',
    destructiveHint: tool.effect === 'destructive',
    idempotentHint: tool.idempotent,
    openWorldHint: tool.openWorld ?? false,
  };
}

const INSTRUCTIONS = `mlops-mcp operates ML models: health_check for system health; list_models, get_model and get_model_history for the registry; predict and batch_predict to score; configure_ab_test and get_traffic_config for A/B splits; set_drift_reference and detect_drift for drift; record_outcomes and get_model_performance for what predictions were worth (A/B verdicts); promote_model, rollback_model and archive_model change stages (try dry_run: true first and give a reason); get_alerts for recent events. Errors start with a code (not_found, invalid_argument, failed_precondition, forbidden, …) and say what to do next.`;

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** One MCP server (one per session or stdio connection) over the shared AppContext. */
export function createMcpServer(app: AppContext, options: McpServerOptions): McpServer {
  const server = new McpServer({ name: 'mlops-mcp', title: 'mlops-mcp', version: VERSION }, { instructions: INSTRUCTIONS });
  const caller: Caller = options.caller ?? { role: 'admin' };
  const role: Role = options.readOnly ? 'read' : caller.role;
  const actor = () => caller.name ?? `${server.server.getClientVersion()?.name ?? 'unknown-client'} (${options.transport})`;
  const who = (): Actor => ({ actor: actor(), actorName: caller.displayName });
  const moreRights = (needs: Role) => {
    const scope = caller.via === 'oauth' ? app.config.oauth?.scopes[needs] : undefined;
    return scope ? `Sign in again with the ${scope} scope (the issuer must grant it to you).` : 'Use a token with more rights.';
  };

  const hidden = new Map<string, string>();
  const direct = new Map<string, DirectTool>();
  for (const tool of allTools) {
    const needs = minimumRole(tool);
    if (RANK[role] < RANK[needs]) {
      hidden.set(
        tool.name,
        options.readOnly
          ? `read_only: ${tool.name} is not available because this server runs in read-only mode (--read-only or MLOPS_MCP_READ_ONLY=1); ask an operator for a server that allows changes.`
          : `forbidden: ${tool.name} needs the ${needs} role; ${callerLabel(caller)} has ${role}. ${moreRights(needs)}`,
      );
      continue;
    }
    // Strict: a misspelt argument (dryrun for dry_run) is an error, never silently ignored.
    const input = z.object(tool.input).strict();
    const output = z.object(tool.output);
    const call = async (args: Record<string, unknown>, extra: Extra): Promise<CallToolResult> => {
      let approval: { by: string; reason: string | undefined } | null = null;
      const ctx: ToolContext = {
        app,
        actor: actor(),
        role,
        signal: extra.signal,
        progress: progressReporter(extra),
        assessed: null,
        who: (reason) => ({ ...who(), reason, approvedBy: approval?.by, approverReason: approval?.reason }),
      };
      /** A refusal in the audit trail: what was asked, by whom (with the approver, if any), and why it did not happen. */
      const auditRefusal = (judged: Assessment, outcome: string) =>
        app.store.registry.recordRefusal(judged.name, judged.version, ctx.who(args.reason as string | undefined), {
          tool: tool.name,
          outcome,
          asked: judged.preview,
        });
      const needsAdmin = () => `this ${tool.name} call changes what production serves, which needs the admin role; ${callerLabel(caller)} has ${role}`;
      try {
        // A dry run answers the refusal the real call would meet, not only what it would change.
        let note = '';
        if (tool.assess && args.dry_run === true && (role !== 'admin' || app.config.approval === 'elicit')) {
          const judged = await tool.assess(args, ctx);
          if (judged.reachesProduction) {
            const refusal =
              role !== 'admin' ? { code: 'forbidden', message: `forbidden: ${needsAdmin()}. Ask an admin to make it.` } : cannotApprove(server, tool.name);
            if (refusal) {
              const why = refusal.message.slice(refusal.code.length + 2);
              return errorResult(
                refusal.code,
                `${refusal.code}: dry run, nothing changed: the real call would be refused: ${why} What it would do: ${judged.preview}`,
              );
            }
            note = ` ${approvalNote(server)}`;
          }
        }
        if (tool.assess && args.dry_run !== true) {
          const judged: NonNullable<ToolContext['assessed']> = (ctx.assessed = {
            ...(await tool.assess(args, ctx)),
            approved: false,
            unchecked: role === 'admin' && app.config.approval !== 'elicit',
          });
          if (judged.reachesProduction) {
            const refuse = async (code: string, message: string) => {
              await auditRefusal(judged, code);
              return errorResult(code, message);
            };
            if (role !== 'admin') {
              return await refuse('forbidden', `forbidden: ${needsAdmin()}. Try dry_run: true to see it, or ask an admin.`);
            }
            if (app.config.approval === 'elicit') {
              const decision = await requestApproval(server, {
                tool: tool.name,
                actor: actor(),
                approver: caller.via === 'oauth' ? callerLabel(caller) : undefined,
                reason: args.reason as string | undefined,
                preview: judged.preview,
                timeoutMs: app.config.approvalTimeoutMs,
                callId: extra.requestId,
                signal: extra.signal,
              });
              // The caller gave up on the call: the request is withdrawn, and nothing is written (no refusal either).
              if (decision.outcome === 'withdrawn') return errorResult('cancelled', decision.message);
              if (decision.outcome !== 'approved') return await refuse(decision.code, decision.message);
              approval = { by: decision.approvedBy, reason: decision.reason };
              judged.approved = true;
            }
          }
        }
        if (extra.signal.aborted) return errorResult('cancelled', 'cancelled: the call was cancelled before it changed anything; nothing was changed.');
        const answer = await tool.handler(args, ctx);
        if (tool.effect !== 'read' && args.dry_run !== true) void app.registryWatch.check();
        return { content: answerContent(answer, note), structuredContent: answer.data };
      } catch (e) {
        const judged = ctx.assessed;
        if (e instanceof StaleAssessmentError && judged) {
          // Audited like the other refusals; the call's answer is the refusal even if the audit fails.
          await auditRefusal(judged, 'changed_meanwhile').catch((err: unknown) => app.logger.warn({ err }, 'could not audit a refusal'));
        }
        return toolError(app.logger, tool.name, e);
      }
    };
    const meta = toolMeta(tool);
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: input,
        outputSchema: output,
        annotations: annotationsFor(tool),
        ...(meta && { _meta: meta }),
      },
      call,
    );
    direct.set(tool.name, { input, output, acceptAsIs: tool.acceptAsIs, call: (args, extra) => call(args, extra as Extra) });
  }
  takeOverToolCalls(server, direct, hidden, app.logger, (tool, code, args) => auditUnavailableCall(app, who(), tool, code, args));
  registerResources(server, app);
  registerPrompts(server, app);
  registerDashboard(server);
  // Every client hears of registry changes, whoever made them (another session, another server),
  // from its initialization (a session that never initializes holds nothing) until it closes.
  let unwatch: (() => void) | null = null;
  server.server.oninitialized = () => {
    unwatch ??= app.registryWatch.subscribe(() => {
      if (server.isConnected()) server.server.sendResourceListChanged().catch(() => undefined);
    });
  };
  server.server.onclose = () => unwatch?.();
  return server;
}

/** Sends notifications/progress when the client asked for them with a progressToken. */
function progressReporter(extra: Extra): ToolContext['progress'] {
  const token = extra._meta?.progressToken;
  if (token === undefined) return () => undefined;
  return (progress, total, message) => {
    void extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, ...(total === undefined ? {} : { total }), ...(message ? { message } : {}) },
      })
      .catch(() => undefined);
  };
}
