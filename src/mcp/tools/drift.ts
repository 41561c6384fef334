import { z } from 'zod';
import { isMonitored, type DriftRun } from '../../monitoring/drift-types.js';
import { driftRunAnswer } from '../../wire/drift.js';
import { boundedRecord, dryRun, modelName, reason, versionLabel } from '../schemas.js';
import { auditLink, versionLink } from '../answer.js';
import { driftRunOutput, featureSummary } from '../output-schemas/drift.js';
import { statisticsDescription, statisticsText } from '../statistics.js';
import { defineTool } from '../tool.js';

const MAX_INLINE_ROWS = 100_000;
const MAX_FEATURES = 10_000;

const dataRow = z
  .union([boundedRecord(z.string().max(256), z.number(), MAX_FEATURES, 'features'), z.array(z.number()).max(MAX_FEATURES)])
  .describe('A row: an object keyed by feature name (other keys are ignored), or an array in feature order');

const csvPath = z
  .string()
  .min(1)
  .max(4096)
  .optional()
  .describe('A CSV file with a header row (under MLOPS_MCP_ALLOWED_DIRS); columns that are not features are ignored');

function runText(run: DriftRun): string {
  const drifted = run.features.filter((f) => f.driftDetected);
  const head = `${run.name}: ${drifted.length} of ${run.features.length} features drifted (${(run.driftedShare * 100).toFixed(0)}%) — ${run.datasetDrift ? 'DATASET DRIFT' : 'no dataset drift'}. Source: ${run.source}; threshold ${run.threshold}, correction ${run.correction}. Run ${run.id}.`;
  const lines = [...run.features]
    .sort((a, b) => a.pValueAdjusted - b.pValueAdjusted)
    .map((f) => `${f.driftDetected ? '✗' : '✓'} ${f.feature}: ${statisticsText(f)} (n ${f.nRef}/${f.nCur}, ${f.method})`);
  const unmonitored = isMonitored(run)
    ? []
    : [
        "Not the model's latest check: a read-only caller's run is kept (get_drift_report with this run_id) but does not change what health_check and the dashboard show, and raises no alert.",
      ];
  return [head, ...unmonitored, ...lines].join('\n');
}

export const setDriftReference = defineTool({
  name: 'set_drift_reference',
  title: 'Set the drift reference',
  description:
    'Stores the reference data that detect_drift compares against (typically the training data), for a model or one version: from inline rows or a CSV. Replaces the previous reference in one transaction. Answers per-feature n, mean, std, min, max and quantiles.',
  input: {
    name: modelName,
    version: versionLabel.optional().describe('Keep the reference for this version only; default: model-wide'),
    rows: z.array(dataRow).max(MAX_INLINE_ROWS).optional().describe('Reference rows inline (up to 100 000); or use csv_path'),
    csv_path: csvPath,
    reason,
    dry_run: dryRun,
  },
  output: {
    name: z.string(),
    version: z.string().nullable(),
    dry_run: z.boolean(),
    replaced: z.boolean().describe('A previous reference was (or would be) replaced'),
    source: z.string(),
    rows: z.number().int(),
    features: z.array(featureSummary),
    ignored_columns: z
      .number()
      .int()
      .describe("How many columns (CSV) or keys (rows) are not model features and were ignored: counted, not named (a CSV's header is the text of a file)"),
  },
  effect: 'write',
  idempotent: true,
  errors: [
    ['not_found', 'unknown model or version'],
    ['invalid_argument', 'no data or both sources, a missing feature column, a non-numeric or empty cell (line and column named), fewer than 2 rows'],
    ['path_not_allowed', 'csv_path outside MLOPS_MCP_ALLOWED_DIRS'],
    ['file_not_found', 'csv_path does not exist'],
  ],
  example: { name: 'nba_points', csv_path: 'fixtures/nba_points_reference.csv', reason: 'training data of v1' },
  async handler(args, ctx) {
    const r = await ctx.app.drift.setReference(args.name, { version: args.version, rows: args.rows, csvPath: args.csv_path }, ctx.who(args.reason), {
      dryRun: args.dry_run,
      onProgress: ctx.progress,
    });
    const lines = r.features.map(
      (f) => `- ${f.feature}: n ${f.n}, mean ${f.mean.toPrecision(5)}, std ${f.std.toPrecision(4)}, range ${f.min.toPrecision(4)}…${f.max.toPrecision(4)}`,
    );
    const head = `${r.dryRun ? 'Dry run, nothing stored: would set' : 'Set'} the ${r.version ? `${r.version} ` : 'model-wide '}drift reference of ${args.name} from ${r.source} (${r.rows} rows${r.replaced ? ', replacing the previous one' : ''}).${r.ignored ? ` ${r.ignored} column${r.ignored === 1 ? ' is' : 's are'} not a feature and ${r.ignored === 1 ? 'was' : 'were'} ignored.` : ''}`;
    return {
      data: {
        name: args.name,
        version: r.version,
        dry_run: r.dryRun,
        replaced: r.replaced,
        source: r.source,
        rows: r.rows,
        features: r.features,
        ignored_columns: r.ignored,
      },
      summary: [head, ...lines].join('\n'),
      links: [...(r.version ? [versionLink(args.name, r.version)] : []), ...(r.dryRun ? [] : [auditLink(args.name)])],
    };
  },
});

export const detectDrift = defineTool({
  name: 'detect_drift',
  title: 'Detect feature drift',
  description: `Compares each feature's current data with the stored reference. ${statisticsDescription} Current data: current_rows, csv_path, or window over the prediction log. The run is stored (get_drift_report) and a drifted feature raises a feature_drift warning (not again within the hour for the same drifted features). A read-only caller's run is kept but never becomes the latest check and raises no alert (monitored: false). include_chart adds a PNG of the CDFs.`,
  input: {
    name: modelName,
    version: versionLabel.optional().describe('Check this version: its reference if it has one, and (with window) only its traffic'),
    current_rows: z.array(dataRow).max(MAX_INLINE_ROWS).optional().describe('Current rows inline (up to 100 000)'),
    csv_path: csvPath,
    window: z
      .object({
        last_n: z.number().int().min(2).max(1_000_000).optional().describe('The last N logged predictions'),
        since_hours: z
          .number()
          .positive()
          .max(24 * 365)
          .optional()
          .describe('Predictions logged in the last H hours'),
      })
      .optional()
      .describe('Take the current data from the prediction log'),
    threshold: z.number().gt(0).lt(1).default(0.05).describe('A feature drifted when its adjusted p-value is below this (default 0.05)'),
    correction: z
      .enum(['none', 'bonferroni', 'fdr'])
      .default('none')
      .describe('Multiple-testing correction across features: none, bonferroni, or fdr (Benjamini–Hochberg)'),
    features: z.array(z.string().max(256)).max(10_000).optional().describe('Only these features (default: all in the reference)'),
    dataset_drift_share: z.number().gt(0).max(1).default(0.5).describe('Share of drifted features at which the dataset counts as drifted (default 0.5)'),
    include_chart: z.boolean().default(false).describe('Also return a PNG of the reference and current CDFs of the most drifted features'),
  },
  output: driftRunOutput,
  effect: 'read',
  idempotent: false,
  errors: [
    ['not_found', 'unknown model or version, or no reference set'],
    ['invalid_argument', 'no or several current-data sources, unknown features, a bad cell, fewer than 2 rows on a side'],
    ['path_not_allowed', 'csv_path outside MLOPS_MCP_ALLOWED_DIRS'],
    ['file_not_found', 'csv_path does not exist'],
  ],
  example: { name: 'nba_points', csv_path: 'fixtures/nba_points_current.csv', correction: 'fdr', include_chart: true },
  async handler(args, ctx) {
    const { run, chart } = await ctx.app.drift.detect(
      args.name,
      {
        version: args.version,
        currentRows: args.current_rows,
        csvPath: args.csv_path,
        window: args.window && { lastN: args.window.last_n, sinceHours: args.window.since_hours },
        threshold: args.threshold,
        correction: args.correction,
        features: args.features,
        datasetDriftShare: args.dataset_drift_share,
        includeChart: args.include_chart,
        // The lowest role may check, but not change what others see as the current drift state.
        monitored: ctx.role !== 'read',
      },
      ctx.actor,
      ctx.progress,
    );
    return { data: driftRunAnswer(run), summary: runText(run), images: chart ? [{ data: chart, mimeType: 'image/png' }] : [] };
  },
});

export const getDriftReport = defineTool({
  name: 'get_drift_report',
  title: 'A stored drift run',
  description: "A stored detect_drift run by run_id, or the latest check (of a model, with name): a read-only caller's runs are found by run_id only.",
  input: {
    run_id: z.string().max(100).optional().describe('Run id from detect_drift; default: the latest run'),
    name: modelName.optional().describe('With no run_id: the latest run of this model'),
  },
  output: driftRunOutput,
  effect: 'read',
  idempotent: true,
  errors: [['not_found', 'no such run, or no run yet']],
  example: { name: 'nba_points' },
  async handler(args, ctx) {
    const run = await ctx.app.drift.report(args.run_id, args.name);
    return { data: driftRunAnswer(run), summary: runText(run) };
  },
});

export const driftTools = [setDriftReference, detectDrift, getDriftReport];
