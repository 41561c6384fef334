import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

export type ApprovalDecision =
  | { outcome: 'approved'; approvedBy: string; reason: string | undefined }
  | { outcome: 'refused'; code: 'approval_declined' | 'approval_required'; message: string }
  /** The call was cancelled while the person was asked: the request is withdrawn from the client. */
  | { outcome: 'withdrawn'; message: string };

/** An approver's reason is kept up to this long, as the agent's is (reason: at most 1000 characters). */
const MAX_APPROVER_REASON = 1000;

const clientName = (server: McpServer) => server.server.getClientVersion()?.name ?? 'the client';

/** The refusal a change to production meets when the client cannot ask its person (no form elicitation); null when it can. */
export function cannotApprove(server: McpServer, tool: string): (ApprovalDecision & { outcome: 'refused' }) | null {
  if (server.server.getClientCapabilities()?.elicitation?.form) return null;
  return {
    outcome: 'refused',
    code: 'approval_required',
    message: `approval_required: this ${tool} call changes production, and this server asks a person to approve such changes (MLOPS_MCP_APPROVAL=elicit), but ${clientName(server)} does not support MCP elicitation. Use a client with elicitation, or ask an operator to make the change on a server running with approval off. Nothing was changed.`,
  };
}

/** What a dry run of a change to production adds when the real call will ask the client's person. */
export const approvalNote = (server: McpServer) => `The real call will ask the person at ${clientName(server)} to approve it (MLOPS_MCP_APPROVAL=elicit).`;

/** How much of the agent's reason the person is shown (the audit keeps all of it). */
const SHOWN_REASON = 300;

/**
 * Words the agent chose (its reason, its client's name), as the person reads them in the request:
 * on one line (control, format and line-separator characters become spaces), cut to `max`
 * characters, and in double quotes with its own quotes escaped, so it cannot pass for the
 * server's text that comes before or after it (a reason ending "[SYSTEM NOTE: approving is safe]").
 */
export function quoted(text: string, max: number): string {
  const line = text
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...line];
  return JSON.stringify(chars.length > max ? `${chars.slice(0, max).join('')}…` : line);
}

/**
 * Asks the person at the client to approve a change that reaches production, through MCP
 * elicitation: the change in one paragraph, a yes/no and a reason. Declining, cancelling,
 * answering no, or not answering in time all refuse the change; a client without elicitation
 * cannot approve, and is told how to proceed. When the call itself is cancelled (`signal`), the
 * request is withdrawn (the client is sent notifications/cancelled for it).
 */
export async function requestApproval(
  server: McpServer,
  request: {
    tool: string;
    actor: string;
    /**
     * Who answers, when the session is bound to a signed-in person (an OAuth subject): only they
     * can send the answer on it. Else the approver is "the person at" the client.
     */
    approver: string | undefined;
    reason: string | undefined;
    preview: string;
    timeoutMs: number;
    callId: string | number;
    signal: AbortSignal;
  },
): Promise<ApprovalDecision> {
  const client = clientName(server);
  const unable = cannotApprove(server, request.tool);
  if (unable) return unable;
  // The server's words on lines of their own; the agent's only quoted, on one line, and labelled.
  const message = [
    `${quoted(request.actor, 100)} asks to run ${request.tool}.`,
    `What it would do (as mlops-mcp found it): ${request.preview}`,
    `The agent's reason, in its own words (not checked by mlops-mcp): ${request.reason?.trim() ? quoted(request.reason, SHOWN_REASON) : '(none given)'}`,
    'Approve this change?',
  ].join('\n');
  try {
    const answer = await server.server.elicitInput(
      {
        mode: 'form',
        message,
        requestedSchema: {
          type: 'object',
          properties: {
            approve: { type: 'boolean', title: 'Approve', description: 'Yes to make this change to production now' },
            reason: { type: 'string', title: 'Reason', description: 'Recorded in the audit trail with your approval' },
          },
          required: ['approve'],
        },
      },
      // Related to the tool call, so Streamable HTTP sends it on that call's own response stream:
      // without it the question went to the session's GET stream, which a client need not open,
      // and was dropped there (the call waited out the whole timeout).
      { timeout: request.timeoutMs, relatedRequestId: request.callId, signal: request.signal },
    );
    const content = answer.content as { approve?: unknown; reason?: unknown } | undefined;
    const reason = typeof content?.reason === 'string' && content.reason.trim() ? content.reason.trim().slice(0, MAX_APPROVER_REASON) : undefined;
    if (answer.action === 'accept' && content?.approve === true) {
      return {
        outcome: 'approved',
        approvedBy: request.approver ? `${request.approver} at ${client} (elicitation)` : `person at ${client} (elicitation)`,
        reason,
      };
    }
    const how = answer.action === 'accept' ? 'answered no' : answer.action === 'decline' ? 'declined' : 'cancelled';
    return { outcome: 'refused', code: 'approval_declined', message: `approval_declined: the person at ${client} ${how}; nothing was changed.` };
  } catch (e) {
    if (request.signal.aborted)
      return {
        outcome: 'withdrawn',
        message: 'cancelled: the call was cancelled while a person was asked to approve it; the request was withdrawn and nothing was changed.',
      };
    const timedOut = e instanceof Error && /timed? ?out/i.test(e.message);
    return {
      outcome: 'refused',
      code: 'approval_declined',
      message: timedOut
        ? `approval_declined: nobody answered the approval request within ${Math.round(request.timeoutMs / 1000)} s, which counts as declined; nothing was changed.`
        : `approval_declined: the approval request failed (${e instanceof Error ? e.message.slice(0, 200) : String(e)}); nothing was changed.`,
    };
  }
}
