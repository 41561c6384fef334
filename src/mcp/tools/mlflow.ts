import { z } from 'zod';
import { DomainError } from '../../errors.js';
import { dryRun } from '../schemas.js';
import { defineTool } from '../tool.js';

export const syncMlflow = defineTool({
  name: 'sync_mlflow',
  title: 'Push pending changes to MLflow',
  description:
    'With MLFLOW_TRACKING_URI set, every registration, stage change, traffic split and drift run is queued in an outbox and pushed to MLflow in order every few seconds. This pushes what is pending now and reports what is left (with dry_run: true, only reports).',
  input: { dry_run: dryRun, reason: z.string().max(1000).optional().describe('Why (logged)') },
  output: {
    reachable: z.boolean().describe('MLflow answered /health'),
    pushed: z.number().int().describe('Changes pushed by this call'),
    pending: z.number().int().describe('Changes still waiting'),
    oldest_pending_age_s: z.number().nullable(),
    last_error: z.string().nullable().describe('Why the oldest waiting change failed, if it did'),
  },
  effect: 'write',
  idempotent: true,
  openWorld: true,
  errors: [['failed_precondition', 'MLFLOW_TRACKING_URI is not set']],
  example: { dry_run: true },
  async handler(args, ctx) {
    const mlflow = ctx.app.mlflow;
    if (!mlflow)
      throw new DomainError(
        'failed_precondition',
        'MLflow is not configured: start mlops-mcp with MLFLOW_TRACKING_URI set to mirror the registry into MLflow.',
      );
    const reachable = await mlflow.client.health();
    let pushed = 0;
    let error: string | null = null;
    if (!args.dry_run && reachable) {
      pushed = await mlflow.sync.syncNow().catch((e: unknown) => {
        error = e instanceof Error ? e.message : String(e);
        return 0;
      });
    }
    const s = await mlflow.sync.status();
    const lastError = error ?? s.lastError;
    return {
      data: { reachable, pushed, pending: s.pending, oldest_pending_age_s: s.oldestPendingAgeS, last_error: lastError },
      summary: `MLflow ${reachable ? 'reachable' : 'unreachable'}: ${args.dry_run ? 'dry run, nothing pushed' : s.leader ? `${pushed} changes pushed` : 'another server pushes the outbox, nothing pushed here'}; ${s.pending} waiting${s.pending ? ` (oldest ${s.oldestPendingAgeS} s)` : ''}${lastError ? `; last error: ${lastError}` : ''}.`,
    };
  },
});

export const mlflowTools = [syncMlflow];
