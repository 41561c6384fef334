import { z } from 'zod';
import { DomainError, notFound } from '../../errors.js';
import { MAX_CURVE_FEATURES, MAX_CURVE_POINTS, type Curve } from '../../monitoring/curves.js';
import type { DriftRun } from '../../monitoring/drift-types.js';
import { modelName } from '../schemas.js';
import { driftCurvesOutput } from '../output-schemas/drift.js';
import { statisticsText } from '../statistics.js';
import { defineTool } from '../tool.js';
import { informationalAnswer, ksAnswer } from '../../wire/drift.js';

/**
 * What the dashboard needs beyond the other tools' answers: the empirical CDFs behind a drift
 * run, downsampled and stored with the run by detect_drift.
 */

export const getDriftCurves = defineTool({
  name: 'get_drift_curves',
  title: 'Drift curves of a feature',
  description: `The reference and current empirical CDFs of one feature in a drift run (the latest of the model by default), each at most ${MAX_CURVE_POINTS} points, and where the KS distance between them lies: what the dashboard charts. Kept with each run for its ${MAX_CURVE_FEATURES} most drifted features.`,
  input: {
    name: modelName,
    run_id: z.string().max(100).optional().describe('A detect_drift run of this model; default: its latest run'),
    feature: z.string().min(1).max(256).describe('A feature compared in that run'),
  },
  output: driftCurvesOutput,
  effect: 'read',
  idempotent: true,
  // For the dashboard: hosts keep it out of the model's tool list, where it would only add noise.
  visibility: ['app'],
  errors: [
    ['not_found', 'unknown model, no drift run yet, or no such run'],
    ['invalid_argument', 'the run belongs to another model, or the feature was not compared in it'],
  ],
  example: { name: 'nba_win_predictor', feature: 'home_off_rating' },
  async handler(args, ctx) {
    if (!(await ctx.app.store.registry.modelState(args.name)))
      throw notFound(`No model named "${args.name}" is registered. Call list_models to see the registered models.`);
    const run: DriftRun = await ctx.app.drift.report(args.run_id, args.name);
    if (run.name !== args.name) throw new DomainError('invalid_argument', `run ${run.id} checked ${run.name}, not ${args.name}.`);
    const stats = run.features.find((f) => f.feature === args.feature);
    if (!stats) {
      throw new DomainError(
        'invalid_argument',
        `feature "${args.feature}" was not compared in run ${run.id}; it compared ${run.features.map((f) => f.feature).join(', ')}.`,
      );
    }
    const kept = run.curves && Object.hasOwn(run.curves, args.feature) ? run.curves[args.feature] : undefined;
    const reference: Curve | null = kept?.reference ?? null;
    const note = kept
      ? null
      : `Run ${run.id} kept no curves for ${args.feature} (runs keep them for their ${MAX_CURVE_FEATURES} most drifted features). Run detect_drift again to chart it.`;
    const ks = kept ? ksAnswer(kept.ks) : null;
    const data = {
      name: run.name,
      run_id: run.id,
      created_at: run.createdAt,
      feature: args.feature,
      statistic: stats.statistic,
      p_value_adjusted: stats.pValueAdjusted,
      drift_detected: stats.driftDetected,
      ...informationalAnswer(stats),
      reference,
      current: kept?.current ?? null,
      ks,
      note,
    };
    const fmt = (c: Curve | null) => (c ? `${c.n} values (${c.x.length} points)` : 'not available');
    const where = ks
      ? ` KS distance ${ks.distance.toFixed(4)} at ${args.feature} = ${ks.x.toPrecision(4)} (reference ${ks.reference_cdf.toFixed(3)}, current ${ks.current_cdf.toFixed(3)}).`
      : '';
    return {
      data,
      summary: `${run.name} ${args.feature} in run ${run.id}: ${statisticsText(stats)}${stats.driftDetected ? ', drifted' : ''}. Reference ECDF: ${fmt(reference)}; current ECDF: ${fmt(data.current)}.${where}${note ? ` ${note}` : ''}`,
    };
  },
});

export const uiTools = [getDriftCurves];
