import type { AppContext } from '../context.js';
import { NAME_PATTERN } from '../registry/rules.js';
import type { Actor } from '../registry/types.js';

/** At most this much of a refused call's arguments is kept in the audit row (`asked`). */
const ASKED_CHARS = 500;

/**
 * A call to a write tool this caller may not use (too low a role, or a read-only server), in the
 * audit trail of the model it names, like every other refused write: what was asked (the
 * scalar arguments), by whom, and why it did not happen. A dry run asks for no change and is not
 * recorded; nor is a call naming no registered model (there is no trail to put it in).
 */
export async function auditUnavailableCall(app: AppContext, who: Actor, tool: string, outcome: string, args: unknown): Promise<void> {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return;
  const a = args as Record<string, unknown>;
  if (a.dry_run === true || typeof a.name !== 'string' || !NAME_PATTERN.test(a.name)) return;
  if (!(await app.store.registry.versionLabels(a.name)).length) return;
  const version = typeof a.version === 'string' && NAME_PATTERN.test(a.version) ? a.version : null;
  const reason = typeof a.reason === 'string' ? a.reason.slice(0, 1000) : undefined;
  await app.store.registry.recordRefusal(a.name, version, { ...who, reason }, { tool, outcome, asked: askedText(tool, a) });
}

/** `promote_model name="m" version="v2" target_stage="production"`: the call's scalar arguments (rows and records left out), bounded. */
function askedText(tool: string, args: Record<string, unknown>): string {
  const shown = Object.entries(args)
    .filter(([k, v]) => k !== 'reason' && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'))
    .map(([k, v]) => `${k}=${JSON.stringify(typeof v === 'string' ? v.slice(0, 200) : v)}`);
  const text = [tool, ...shown].join(' ');
  return text.length > ASKED_CHARS ? `${text.slice(0, ASKED_CHARS)}…` : text;
}
