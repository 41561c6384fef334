import { z } from 'zod';
import { performanceAnswer, recordAnswer, type PerformanceAnswer } from '../../wire/performance.js';
import { MAX_OUTCOMES, UNMATCHED_LISTED } from '../../performance/record.js';
import { dryRun, modelName, reason, versionLabel } from '../schemas.js';
import { modelPerformanceOutput } from '../output-schemas/performance.js';
import { defineTool } from '../tool.js';

/** One outcome as MCP and REST take it. */
export const outcomeSchema = z
  .object({
    prediction_id: z.string().min(1).max(200).describe('prediction_id from predict, or <batch_id>:<row> for a batch_predict row'),
    actual: z.union([z.number(), z.string().max(256)]).describe('What happened: a number for a regressor, a class label for a classifier'),
  })
  .strict();

export const recordOutcomes = defineTool({
  name: 'record_outcomes',
  title: 'Record outcomes',
  description:
    "Records what actually happened for logged predictions (ground truth, often hours or days later), joined to each prediction: its version, routing and output. Inline (up to 10 000) or a CSV under MLOPS_MCP_ALLOWED_DIRS with columns prediction_id,actual (up to 100 000). Answers how many matched, how many ids are unknown or past the prediction log's retention (listed, bounded), and how many replaced an earlier outcome of the same prediction (the last one holds). Unmatched ids never fail the call; a value that does not fit the model (a label for a regressor, NaN, an unknown class) fails it with nothing recorded. Feeds get_model_performance and the performance alerts.",
  input: {
    name: modelName,
    outcomes: z.array(outcomeSchema).min(1).max(MAX_OUTCOMES).optional().describe('Up to 10 000 {prediction_id, actual}; or use csv_path'),
    csv_path: z.string().min(1).max(4096).optional().describe('A CSV with a header row naming prediction_id and actual (under MLOPS_MCP_ALLOWED_DIRS)'),
    reason,
    dry_run: dryRun,
  },
  output: {
    name: z.string(),
    dry_run: z.boolean(),
    source: z.string().describe('inline, or csv <file name>'),
    received: z.number().int().describe('Outcomes given'),
    matched: z.number().int().describe('Outcomes joined to their prediction and recorded (or, for a dry run, that would be)'),
    replaced: z.number().int().describe('Of those, how many replaced an earlier outcome of the same prediction (including repeats within this call)'),
    unknown: z.number().int().describe("Ids the prediction log does not hold for this model (never issued here, another model's, or malformed)"),
    expired: z.number().int().describe('Ids of predictions older than the prediction log keeps (PREDICTION_LOG_MAX_AGE_DAYS, PREDICTION_LOG_MAX_ROWS)'),
    failed: z.number().int().describe('Ids of predictions that failed (nothing to compare)'),
    unmatched: z
      .array(z.object({ prediction_id: z.string(), reason: z.enum(['unknown', 'expired', 'other_model', 'failed_prediction']) }))
      .describe(`The first ${UNMATCHED_LISTED} unmatched outcomes and why`),
    unmatched_not_listed: z.number().int().describe('Unmatched outcomes beyond those listed'),
    by_version: z.record(z.string(), z.number().int()).describe('Matched outcomes per version'),
  },
  effect: 'write',
  idempotent: true,
  errors: [
    ['not_found', 'unknown model'],
    [
      'invalid_argument',
      'neither or both of outcomes and csv_path; an actual that is not a finite number for a regressor or not a class for a classifier (rows named, nothing recorded); a CSV without prediction_id and actual columns',
    ],
    ['failed_precondition', 'a multi-target regressor (outcomes are single values)'],
    ['path_not_allowed', 'csv_path outside MLOPS_MCP_ALLOWED_DIRS'],
    ['file_not_found', 'csv_path does not exist'],
  ],
  example: {
    name: 'nba_points',
    outcomes: [
      { prediction_id: '019a6b2e-4f10-7c3d-8e21-5a9b0c1d2e3f', actual: 27 },
      { prediction_id: '019a6b2e-5a00-7d11-9f02-112233445566:3', actual: 18 },
    ],
    reason: 'box scores of 2026-11-23',
  },
  examples: [{ title: 'a nightly CSV of results', args: { name: 'nba_win_predictor', csv_path: 'imports/results-2026-11-23.csv', dry_run: true } }],
  async handler(args, ctx) {
    const r = await ctx.app.performance.record(
      args.name,
      { outcomes: args.outcomes?.map((o) => ({ predictionId: o.prediction_id, actual: o.actual })), csvPath: args.csv_path },
      ctx.who(args.reason),
      args.dry_run,
    );
    const versions = Object.entries(r.byVersion)
      .map(([v, n]) => `${v} ${n}`)
      .join(', ');
    const lines = r.unmatched.slice(0, 10).map((u) => `- ${u.predictionId}: ${u.reason}`);
    const head = `${r.dryRun ? 'Dry run, nothing recorded: would record' : 'Recorded'} ${r.matched} of ${r.received} outcomes of ${r.name}${versions ? ` (${versions})` : ''}; ${r.replaced} replaced an earlier outcome; ${r.unknown} unknown, ${r.expired} past retention, ${r.failed} of failed predictions.`;
    return {
      data: recordAnswer(r),
      summary: [head, ...lines, ...(r.unmatched.length + r.unmatchedNotListed > lines.length ? ['(all unmatched: structuredContent.unmatched)'] : [])].join(
        '\n',
      ),
    };
  },
});

export const windowInput = z
  .object({
    last_n: z.number().int().min(1).max(1_000_000).optional().describe('The newest N outcomes by prediction time (default 10 000)'),
    since_hours: z
      .number()
      .positive()
      .max(24 * 3650)
      .optional()
      .describe('Outcomes of predictions made in the last H hours'),
    since: z.iso.datetime({ offset: true }).optional().describe('Outcomes of predictions made at or after this time (ISO 8601)'),
    until: z.iso.datetime({ offset: true }).optional().describe('… and before this time'),
  })
  .strict();

export const getModelPerformance = defineTool({
  name: 'get_model_performance',
  title: 'Model performance from outcomes',
  description:
    'What recorded outcomes say of each version, over a window (the newest N outcomes, or predictions made in a time range): regressors R², MAE, RMSE and bias (mean prediction − actual); classifiers accuracy, per-class precision/recall/F1, log loss, Brier score and ROC AUC (binary), each with n and a 95% confidence interval (as scikit-learn computes the metric), beside the baseline registered with the version (metrics, e.g. r2) and the change from it, and the primary metric over time. With an A/B split: the comparison over the period every variant was served — each variant\'s MAE (Welch\'s t test) or accuracy (two-proportion z test), the challenger − control difference with its interval and p-value, a verdict (better / worse only when significant at alpha; else "not yet") and the outcomes still needed to detect min_effect with 80% power.',
  input: {
    name: modelName,
    version: versionLabel.optional().describe('Only this version (no A/B comparison)'),
    window: windowInput.optional().describe('Which outcomes; default the newest 10 000'),
    alpha: z.number().gt(0).lt(0.5).default(0.05).describe('Significance level of the A/B verdict (default 0.05)'),
    min_effect: z
      .number()
      .positive()
      .max(1e12)
      .optional()
      .describe(
        "The smallest A/B difference worth detecting, in the metric's units (accuracy as a fraction, MAE in the target's units); default 2% of the control's value",
      ),
  },
  output: modelPerformanceOutput,
  effect: 'read',
  idempotent: true,
  errors: [
    ['not_found', 'unknown model or version'],
    ['invalid_argument', 'a window whose since is not before its until'],
  ],
  example: { name: 'nba_win_predictor', window: { since_hours: 168 } },
  examples: [{ title: 'one version over its newest 1 000 outcomes', args: { name: 'nba_points', version: 'v2', window: { last_n: 1000 } } }],
  async handler(args, ctx) {
    const w = args.window ?? {};
    const report = await ctx.app.performance.report(args.name, {
      version: args.version,
      lastN: w.last_n,
      sinceHours: w.since_hours,
      since: w.since,
      until: w.until,
      alpha: args.alpha,
      minEffect: args.min_effect,
    });
    const data = performanceAnswer(report);
    return { data, summary: performanceText(data) };
  },
});

const f = (x: number | null | undefined, digits = 4) => (x === null || x === undefined ? '–' : Number(x.toPrecision(digits)).toString());
const ciText = (c: { low: number; high: number } | null) => (c ? ` [${f(c.low)}, ${f(c.high)}]` : '');

function performanceText(p: PerformanceAnswer): string {
  if (!p.versions.length) return `${p.name}: no outcomes in the window. Record some with record_outcomes (prediction_id from predict, actual value).`;
  const lines = [`${p.name}: ${p.outcomes} outcomes in the window.`];
  for (const v of p.versions) {
    const m = Object.entries(v.metrics)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => `${k} ${f(x?.value)}${ciText(x?.ci95 ?? null)}`);
    const base = v.baseline.map(
      (b) => `${b.metric} ${f(b.value)} vs ${f(b.baseline)} registered (${b.change === null ? '–' : `${b.change >= 0 ? '+' : ''}${f(b.change, 3)}`})`,
    );
    lines.push(`- ${v.version} (${v.stage}), ${v.outcomes} outcomes: ${m.join(', ')}${base.length ? `; baseline: ${base.join(', ')}` : ''}`);
  }
  const c = p.comparison;
  if (c) {
    lines.push(
      `A/B${c.since ? ` since ${c.since}` : ''} (${c.metric}, control ${c.control}): ${c.variants.map((v) => `${v.version} ${f(v.value)}${ciText(v.ci95)} n=${v.outcomes}`).join(' vs ')}`,
    );
    for (const ch of c.challengers) {
      const need =
        ch.outcomes_needed === null
          ? ''
          : ch.outcomes_needed > 0
            ? `; ${ch.outcomes_needed} more outcomes to detect ${f(ch.min_effect, 3)} with 80% power`
            : '; enough outcomes for 80% power';
      lines.push(`  ${ch.version} vs ${c.control}: difference ${f(ch.difference)}${ciText(ch.ci)}, p=${f(ch.p_value, 3)} → ${ch.verdict.toUpperCase()}${need}`);
    }
  }
  return lines.join('\n');
}

export const performanceTools = [recordOutcomes, getModelPerformance];
