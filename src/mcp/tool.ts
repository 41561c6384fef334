import type { z } from 'zod';
import type { AppContext } from '../context.js';
import { DomainError, type ErrorCode } from '../errors.js';
import type { Actor } from '../registry/types.js';

/**
 * What a tool may change. `read` changes nothing an operator manages (predict is a read: its
 * log entry is not state); `write` changes registry state; `destructive` can take a model
 * version out of service or replace what production serves.
 */
export type Effect = 'read' | 'write' | 'destructive';

export type Role = 'read' | 'operate' | 'admin';

export interface ToolContext {
  app: AppContext;
  /** Who is calling, for the audit trail: the token's name or the OAuth subject over HTTP, else the MCP client's name. */
  actor: string;
  /** The caller's role (read in read-only mode): what a tool's own policy may depend on. */
  role: Role;
  /** The actor and reason to audit a change with, including the approver when a person approved it. */
  who(reason: string | undefined): Actor;
  signal: AbortSignal;
  /** Reports progress to a client that sent a progressToken; a no-op otherwise. */
  progress: (done: number, total?: number, message?: string) => void;
  /**
   * What this call's assessment judged, and whether a person approved it; null when none was made
   * (a dry run, a tool without assess). See requireAssessed.
   */
  assessed:
    | (Assessment & {
        /** A person approved `plan`. */
        approved: boolean;
        /** The caller may change production without more checks (admin role, approval off). */
        unchecked: boolean;
      })
    | null;
}

/** A resource an answer names (MCP resource_link content): a model card or an audit trail. */
export interface ResourceLinkSpec {
  uri: string;
  name: string;
  description: string;
  mimeType: string;
}

/** A tool's answer: exact data for programs, a short summary for people. */
export interface ToolAnswer<O> {
  data: O;
  summary: string;
  /** Pictures shown beside the text (MCP image content), e.g. a drift chart. */
  images?: Array<{ data: Buffer; mimeType: 'image/png' }>;
  /** The model versions and audit trails the answer names (versionLink, auditLink). */
  links?: ResourceLinkSpec[];
}

type Shape = z.ZodRawShape;
type Infer<S extends Shape> = z.infer<z.ZodObject<S>>;

/** What a write would do, judged before it is made. */
export interface Assessment {
  reachesProduction: boolean;
  /** The change in one paragraph, for a person to approve. */
  preview: string;
  /** The model (and version) it concerns, for the audit row of a refusal. */
  name: string;
  version: string | null;
  /**
   * What the judgement rests on, as one string (the stage moves; the production version and
   * split). The real call compares it with what it finds inside its transaction (requireAssessed):
   * another client's change in between (while a person reads the approval request, say) must not
   * slip through unjudged.
   */
  plan: string;
}

/** A write refused by requireAssessed (the dispatcher audits it as a refusal). */
export class StaleAssessmentError extends DomainError {
  constructor(message: string) {
    super('failed_precondition', message);
  }
}

/**
 * Called by a write with its plan as found inside its transaction, before anything is written:
 * refuses it if the judgement made before would not hold (another client changed the model in
 * between, while a person read the approval request, say). A plan a person approved must be the
 * same; a call judged not to reach production must still not, unless its caller may change
 * production unchecked (an admin with approval off: the role allows either plan).
 */
export function requireAssessed(ctx: ToolContext, plan: string, reachesProduction: boolean): void {
  const judged = ctx.assessed;
  if (!judged) return;
  if (judged.approved && plan !== judged.plan) {
    throw new StaleAssessmentError(
      'the model changed while a person was asked to approve this call (another client changed it meanwhile): what the call would do now is not what was approved. Nothing was changed; call again to have the change as it now stands approved (dry_run: true shows it).',
    );
  }
  if (!judged.reachesProduction && reachesProduction && !judged.unchecked) {
    throw new StaleAssessmentError(
      'the model changed between the check of this call and the change itself (another client changed it meanwhile): the call would now change what production serves, which it was not checked for. Nothing was changed; call again (dry_run: true shows what it would do now).',
    );
  }
}

/** A tool as data: the server registers every definition in one loop. */
export interface ToolDefinition<I extends Shape = Shape, O extends Shape = Shape> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  effect: Effect;
  /**
   * The least role that may call it at all: by default `read` for a read and `operate` for any
   * change. A call whose change reaches production needs `admin` on top, whatever this says.
   */
  minimumRole?: Role;
  /** Calling twice with the same arguments leaves the same state as calling once. */
  idempotent: boolean;
  /** Talks to a system outside this server (MLflow): openWorldHint. */
  openWorld?: boolean;
  /**
   * Who a host shows the tool to (MCP Apps `_meta.ui.visibility`): `['app']` for a tool that
   * exists for the dashboard, which hosts keep out of the model's tool list. Default: both.
   */
  visibility?: ReadonlyArray<'model' | 'app'>;
  /** The domain errors it can answer, as (code, when) pairs: for docs/tools.md. */
  errors: ReadonlyArray<readonly [ErrorCode, string]>;
  /** Arguments of a typical call: for docs/tools.md, and checked against `input` by a test. */
  example: Record<string, unknown>;
  /** Other calls worth showing (an option the typical call leaves out), titled: for docs/tools.md, checked likewise. */
  examples?: ReadonlyArray<{ title: string; args: Record<string, unknown> }>;
  /**
   * For write tools whose change can reach production: a dry run of the call saying whether it
   * does and describing it in one paragraph (for the approval request). A dry run that fails
   * answers the call with its error: the real call is not tried unchecked (another process could
   * make it succeed in between, past the role and approval checks).
   */
  assess?(args: Infer<I>, ctx: ToolContext): Promise<Assessment>;
  /**
   * True when arguments certainly pass `input` as they are (no defaults or transforms apply):
   * the dispatcher then hands them to the handler without zod's parse, which copies every value
   * (for a 10 000-row batch, ~half the server's work). It must never accept what `input` refuses
   * (a property test holds each one to that); anything it does not accept goes through zod.
   */
  acceptAsIs?: (args: Record<string, unknown>) => boolean;
  /** Method syntax on purpose: definitions with specific argument types are stored in one list. */
  handler(args: Infer<I>, ctx: ToolContext): Promise<ToolAnswer<Infer<O>>>;
}

export function defineTool<I extends Shape, O extends Shape>(definition: ToolDefinition<I, O>): ToolDefinition {
  return definition;
}
