import type { Actor, AuditAction, Stage } from '../registry/types.js';

/** An audit row as a write adds it to its transaction (every engine stores the same columns). */
export interface AuditDraft {
  name: string;
  version: string | null;
  action: AuditAction;
  from: Stage | null;
  to: Stage | null;
  who: Actor;
  now: string;
  details?: Record<string, unknown> | undefined;
}

/**
 * The row's details, with the actor's display name when one is known (`actor_name`; the actor
 * column keeps the identifier), and the person who approved the change and their own reason when
 * one did (the reason column keeps the caller's): `approved_by`, `approver_reason`.
 */
export function auditDetails(e: AuditDraft): Record<string, unknown> | undefined {
  const { actorName, approvedBy, approverReason } = e.who;
  if (actorName === undefined && approvedBy === undefined && approverReason === undefined) return e.details;
  return {
    ...e.details,
    ...(actorName !== undefined && { actor_name: actorName }),
    ...(approvedBy !== undefined && { approved_by: approvedBy }),
    ...(approverReason !== undefined && { approver_reason: approverReason }),
  };
}

/** The audit row of a traffic change: a split set (`after` its weights) or ended (`after` null). */
export function trafficAudit(name: string, who: Actor, now: string, details: { before: unknown; after: unknown; routing?: unknown }): AuditDraft {
  return { name, version: null, action: 'configure_traffic', from: null, to: null, who, now, details };
}
