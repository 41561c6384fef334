import { types } from 'node:util';
import { z } from 'zod';
import { counted } from '../../counted.js';
import { auditLink, versionLink } from '../answer.js';
import { boundedRecord, dryRun, modelName, reason, ROW_FORMS, rowProblem, stage, versionLabel } from '../schemas.js';
import { DomainError } from '../../errors.js';
import type { FeatureRow } from '../../serving/features.js';
import { batchAnswer, predictionAnswer } from '../../wire/serving.js';
import type { PredictionValue } from '../../serving/outputs.js';
import { ROUTED_BY, type TrafficChange } from '../../serving/serving-types.js';
import { configureAbTestOutput, latency, trafficConfigOutput } from '../output-schemas/serving.js';
import { defineTool, requireAssessed } from '../tool.js';
import { productionVersion } from '../../registry/rules.js';
import type { ModelState } from '../../registry/types.js';

const MAX_FEATURES = 10_000;
const MAX_BATCH_ROWS = 10_000;
const MAX_SPLIT_VERSIONS = 100;
/** 10 000 names of up to 256 characters and their values, as JSON. */
const MAX_FEATURES_TEXT = 4_000_000;

const namedFeatures = boundedRecord(z.string().max(256), z.number(), MAX_FEATURES, 'features').describe(
  'Named features, e.g. {"is_home": 1, "days_rest": 2, …}',
);
const orderedFeatures = z.array(z.number()).max(MAX_FEATURES).describe("Values in the order of the model's feature_names");
// Arrays first: a batch's rows are usually arrays, and a union tries its options in order (a row
// that fails the first option costs an issue object: ~1.4 ms per 10 000 array rows before).
const featureRow = z
  .union([orderedFeatures, namedFeatures], { error: rowProblem(ROW_FORMS) })
  .describe('One row of features: an array in signature order, or an object keyed by feature name');

/**
 * predict's features may also come as JSON text: clients that send every argument as a string
 * (MCP Inspector's --tool-arg for a property without one JSON type; some LLM tool calls) would
 * otherwise have no way to call it.
 */
const featuresText = z
  .string()
  .max(MAX_FEATURES_TEXT)
  .describe('The same row as JSON text, e.g. "{\\"is_home\\": 1, …}", for clients that send arguments as strings');

function featuresFromText(text: string): FeatureRow {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DomainError(
      'invalid_argument',
      'features is a string that is not JSON: send an object keyed by feature name ({"is_home": 1, …}) or an array in signature order, as JSON or as text.',
    );
  }
  const schema = Array.isArray(value) ? orderedFeatures : typeof value === 'object' && value !== null ? namedFeatures : null;
  const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  const row = schema?.safeParse(value);
  if (!row?.success) {
    const issue = row?.error.issues[0];
    const why = issue ? ` that is not a row of numbers (${issue.message}${issue.path.length ? ` at ${issue.path.join('.')}` : ''})` : '';
    throw new DomainError('invalid_argument', `features is JSON text of ${what}${why}: send an object keyed by feature name or an array in signature order.`);
  }
  return row.data;
}

const routingKey = z
  .string()
  .min(1)
  .max(256)
  .optional()
  .describe('Sticky A/B routing: the same key (a user or session id) always reaches the same version while the split stands');

const probabilities = z.record(z.string(), z.number()).nullable().describe("A classifier's probability per class label; null for a regressor");

const predictionValue = z.union([z.number(), z.string(), z.array(z.number())]);

const targetNames = z
  .array(z.string())
  .nullable()
  .describe("A multi-target regressor's target names, in the order of each prediction's values, when the model names them; else null");

export const predict = defineTool({
  name: 'predict',
  title: 'Predict',
  description:
    "Scores one row with a model. The version is chosen by the model's traffic split (production by default; sticky with routing_key) unless version is given. Features are checked against the signature before ONNX runs. Every prediction is logged.",
  input: {
    name: modelName,
    features: z
      .union([namedFeatures, orderedFeatures, featuresText], { error: rowProblem(`${ROW_FORMS}, or either as JSON text`) })
      .describe('One row of features: an object keyed by feature name, an array in signature order, or either as JSON text'),
    version: versionLabel.optional().describe('Serve this version instead of routing (not an archived one)'),
    routing_key: routingKey,
  },
  output: {
    prediction_id: z.string().describe('Id of the logged prediction'),
    name: z.string(),
    version: z.string().describe('Version that served the request'),
    stage,
    prediction: predictionValue.describe('The regression value (one per target for a multi-target regressor), or the class label'),
    probabilities,
    target_names: targetNames,
    latency_ms: z.number().describe('Validation, routing and ONNX time in the server'),
    routed_by: z
      .enum(ROUTED_BY)
      .describe(
        "How the version was chosen: explicit (version given), production (no A/B split: the production version, whatever the routing_key), sticky (the routing_key's place in the split), random (a weighted draw in the split)",
      ),
  },
  effect: 'read',
  idempotent: true,
  errors: [
    ['not_found', 'unknown model or version'],
    ['invalid_argument', 'a missing, unknown or non-finite feature (named, with the expected list)'],
    ['failed_precondition', 'no production version and no traffic split, or an archived version asked for'],
    [
      'invalid_model',
      'the model fails on this input, runs longer than MODEL_RUN_TIMEOUT_MS (and is stopped) or needs more than MODEL_MEMORY_MB; the limit is named',
    ],
  ],
  example: {
    name: 'nba_points',
    features: {
      is_home: 1,
      days_rest: 2,
      season_avg_points: 24.1,
      season_avg_rebounds: 6.2,
      season_avg_assists: 5.0,
      last5_avg_points: 27.4,
      last5_avg_rebounds: 5.8,
      last5_avg_assists: 6.1,
      minutes_avg: 34.5,
      opponent_def_rating: 112.3,
    },
  },
  acceptAsIs: plainRowCall,
  async handler(args, ctx) {
    const features = typeof args.features === 'string' ? featuresFromText(args.features) : args.features;
    const p = await ctx.app.serving.predict(args.name, features, { version: args.version, routingKey: args.routing_key });
    const value = valueText(p.prediction, p.targetNames);
    const probs = p.probabilities
      ? ` (${Object.entries(p.probabilities)
          .map(([k, v]) => `${k}: ${v.toFixed(4)}`)
          .join(', ')})`
      : '';
    return {
      data: predictionAnswer(p),
      summary: `${p.name} ${p.version} (${p.stage}, ${p.routedBy}): ${value}${probs} in ${round3(p.latencyMs)} ms [${p.predictionId}]`,
      links: [versionLink(p.name, p.version, p.stage)],
    };
  },
});

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** A prediction for the text answer: rounded, and a multi-target regressor's values named when the model names them. */
function valueText(v: PredictionValue, names: string[] | null): string {
  if (typeof v === 'number') return String(round4(v));
  if (typeof v === 'string') return v;
  return `(${v.map((x, i) => (names ? `${names[i]} ${round4(x)}` : String(round4(x)))).join(', ')})`;
}

/**
 * Whether predict's or batch_predict's arguments other than the rows (`rowsKey`) are what their
 * input schemas accept unchanged: no unknown key, and name, version and routing_key valid.
 */
function routingArgumentsAsIs(args: Record<string, unknown>, rowsKey: string): boolean {
  for (const key in args) if (key !== 'name' && key !== rowsKey && key !== 'version' && key !== 'routing_key') return false;
  if (!modelName.safeParse(args.name).success) return false;
  if (args.version !== undefined && !versionLabel.safeParse(args.version).success) return false;
  return args.routing_key === undefined || routingKey.safeParse(args.routing_key).success;
}

/**
 * An array of at most MAX_FEATURES finite numbers, read by index as zod reads it (for…of would
 * go through an own iterator; a hole reads as undefined and is refused, as zod refuses it).
 */
function isNumberArray(row: unknown): boolean {
  if (!Array.isArray(row) || row.length > MAX_FEATURES) return false;
  for (let i = 0; i < row.length; i++) {
    const v: unknown = row[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  }
  return true;
}

/**
 * A plain object of at most MAX_FEATURES finite numbers under names of at most 256 characters,
 * as namedFeatures accepts it unchanged. zod drops an own "__proto__" key, refuses a symbol key
 * and skips a non-enumerable one: all are left to zod (as many own keys as enumerable ones).
 */
function isNumberRecord(row: unknown): boolean {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return false;
  const proto = Object.getPrototypeOf(row) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  const named = row as Record<string, unknown>;
  let n = 0;
  for (const key in named) {
    const v = named[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || key.length > 256 || key === '__proto__' || ++n > MAX_FEATURES) return false;
  }
  return Reflect.ownKeys(named).length === n;
}

/**
 * predict's arguments when the row is an object or array of finite numbers: zod's union of
 * record, array and text costs ~12 µs a call in process, and copies the row. JSON text, a bad
 * value or an unknown key go through zod, for its messages; so does a Proxy (an in-process
 * caller's), which could answer zod's reads and these differently.
 */
function plainRowCall(args: Record<string, unknown>): boolean {
  const row = args.features;
  return routingArgumentsAsIs(args, 'features') && !types.isProxy(row) && (isNumberRecord(row) || isNumberArray(row));
}

/**
 * batch_predict's arguments when every row is an array of finite numbers: what its input schema
 * accepts unchanged, checked without zod's copy of each row (a 10 000-row call spent ~7 ms in
 * it). Named rows, a bad value or an unknown key go through zod, for its messages.
 */
function arrayRowsCall(args: Record<string, unknown>): boolean {
  if (!routingArgumentsAsIs(args, 'rows')) return false;
  const rows = args.rows;
  if (!Array.isArray(rows) || rows.length < 1 || rows.length > MAX_BATCH_ROWS) return false;
  // A row that is a Proxy or a getter could answer a second read differently: toMatrix checks every value it reads again.
  for (let i = 0; i < rows.length; i++) if (!isNumberArray(rows[i])) return false;
  return true;
}

export const batchPredict = defineTool({
  name: 'batch_predict',
  title: 'Predict a batch',
  description:
    'Scores up to 10 000 rows in one call: one ONNX run per served version. Rows are routed like predict (one routing_key routes them all alike). The answer is columnar: predictions[i] belongs to rows[i].',
  input: {
    name: modelName,
    rows: z.array(featureRow).min(1).max(MAX_BATCH_ROWS).describe('Rows of features (objects or arrays), at most 10 000'),
    version: versionLabel.optional().describe('Serve every row with this version'),
    routing_key: routingKey,
  },
  output: {
    batch_id: z.string().describe('Row i was logged as prediction <batch_id>:<i>'),
    name: z.string(),
    rows: z.number().int(),
    served: z.array(z.object({ version: z.string(), stage, rows: z.number().int() })).describe('Versions that served rows, and how many'),
    version_per_row: z.array(z.string()).nullable().describe('The version of each row; null when one version served all'),
    predictions: z.array(predictionValue).describe('One per row: a value (a list of values for a multi-target regressor) or a class label'),
    probabilities: z.record(z.string(), z.array(z.number())).nullable().describe('Per class label, one probability per row; null for a regressor'),
    target_names: targetNames,
    latency_ms: z.number(),
  },
  effect: 'read',
  idempotent: true,
  errors: [
    ['not_found', 'unknown model or version'],
    ['invalid_argument', 'a row with a missing, unknown or non-finite feature (row index and feature named)'],
    ['failed_precondition', 'no production version and no traffic split'],
    [
      'invalid_model',
      'the model fails on these rows, runs longer than MODEL_RUN_TIMEOUT_MS (and is stopped), needs more than MODEL_MEMORY_MB or answers more than MODEL_MAX_OUTPUT_MB; the limit is named',
    ],
  ],
  example: {
    name: 'nba_win_predictor',
    rows: [
      [0.62, 0.48, 114.2, 110.9, 108.5, 112.0, 2, 1],
      [0.41, 0.55, 109.8, 113.1, 112.4, 109.9, 1, 3],
    ],
  },
  acceptAsIs: arrayRowsCall,
  async handler(args, ctx) {
    const b = await ctx.app.serving.predictBatch(args.name, args.rows, { version: args.version, routingKey: args.routing_key });
    const served = b.served.map((s) => `${s.version} (${s.stage}) ${counted(s.rows, 'row')}`).join(', ');
    const head = b.predictions.slice(0, 5).map((p) => valueText(p, b.targetNames));
    return {
      data: batchAnswer(b),
      summary: `${b.name}: ${counted(b.rows, 'row')} scored in ${round3(b.latencyMs)} ms by ${served}; first predictions ${head.join(', ')}${b.rows > 5 ? ', …' : ''} (all in structuredContent.predictions).`,
      links: b.served.map((x) => versionLink(b.name, x.version, x.stage)),
    };
  },
});

export const deployModel = defineTool({
  name: 'deploy_model',
  title: 'Load a version for serving',
  description:
    "Loads a version's ONNX session into the serving cache now, so its first prediction does not pay the load. Serving loads versions on first use anyway.",
  input: { name: modelName, version: versionLabel, reason, dry_run: dryRun },
  output: {
    name: z.string(),
    version: z.string(),
    stage,
    dry_run: z.boolean(),
    loaded: z.boolean().describe('The session is loaded now'),
    already_loaded: z.boolean(),
    load_ms: z.number(),
  },
  effect: 'write',
  idempotent: true,
  errors: [
    ['not_found', 'unknown model or version'],
    ['internal', 'the artifact fails to load in onnxruntime'],
    ['invalid_model', 'loading it takes longer than MODEL_LOAD_TIMEOUT_MS or more memory than MODEL_MEMORY_MB; the limit is named'],
  ],
  example: { name: 'nba_points', version: 'v2' },
  async handler(args, ctx) {
    const d = await ctx.app.serving.deploy(args.name, args.version, args.dry_run);
    const what = args.dry_run
      ? `Dry run: ${args.name} ${args.version} would be loaded${d.alreadyLoaded ? ' (it already is)' : ''}.`
      : `${args.name} ${args.version} loaded${d.alreadyLoaded ? ' (already was)' : ''} in ${round3(d.loadMs)} ms.`;
    return {
      data: {
        name: args.name,
        version: args.version,
        stage: d.version.stage,
        dry_run: args.dry_run,
        loaded: d.loaded,
        already_loaded: d.alreadyLoaded,
        load_ms: round3(d.loadMs),
      },
      summary: what,
      links: [versionLink(args.name, args.version, d.version.stage)],
    };
  },
});

export const undeployModel = defineTool({
  name: 'undeploy_model',
  title: 'Unload a version',
  description:
    "Unloads a version's ONNX session from the serving cache. Refused while the version still takes traffic (production by default, or a weight in an A/B split).",
  input: { name: modelName, version: versionLabel, reason, dry_run: dryRun },
  output: { name: z.string(), version: z.string(), stage, dry_run: z.boolean(), was_loaded: z.boolean(), unloaded: z.boolean() },
  effect: 'write',
  idempotent: true,
  errors: [
    ['not_found', 'unknown model or version'],
    ['failed_precondition', 'the version still takes traffic'],
  ],
  example: { name: 'nba_points', version: 'v1' },
  async handler(args, ctx) {
    const u = await ctx.app.serving.undeploy(args.name, args.version, args.dry_run);
    const what = args.dry_run
      ? `Dry run: ${args.name} ${args.version} would be unloaded${u.wasLoaded ? '' : ' (it is not loaded)'}.`
      : u.unloaded
        ? `${args.name} ${args.version} unloaded.`
        : `${args.name} ${args.version} was not loaded; nothing to do.`;
    return {
      data: { name: args.name, version: args.version, stage: u.version.stage, dry_run: args.dry_run, was_loaded: u.wasLoaded, unloaded: u.unloaded },
      summary: what,
      links: [versionLink(args.name, args.version, u.version.stage)],
    };
  },
});

export const configureAbTest = defineTool({
  name: 'configure_ab_test',
  title: 'Split traffic between versions',
  description:
    "Sets a model's traffic split: a weight per version (each ≥ 0, summing to 1, versions existing and not archived). sticky routing sends one routing_key to one version while the split stands; random draws per request. A promotion to production or a rollback ends the split. Try dry_run: true first.",
  input: {
    name: modelName,
    weights: boundedRecord(versionLabel, z.number().min(0).max(1), MAX_SPLIT_VERSIONS, 'versions').describe(
      'Weight per version label, summing to 1, e.g. {"v2.0": 0.2, "v1.5": 0.8}',
    ),
    routing: z.enum(['sticky', 'random']).default('sticky').describe('sticky: hash routing_key to a version (random without one); random: ignore routing_key'),
    reason,
    dry_run: dryRun,
  },
  output: configureAbTestOutput,
  effect: 'write',
  idempotent: true,
  errors: [
    ['not_found', 'unknown model or version'],
    ['invalid_argument', 'weights negative, empty, or not summing to 1 (within 1e-9)'],
    ['failed_precondition', 'a version is archived'],
  ],
  example: { name: 'nba_win_predictor', weights: { 'v2.0': 0.2, 'v1.5': 0.8 }, routing: 'sticky', reason: 'canary v2.0', dry_run: true },
  async assess(args, ctx) {
    const dry = await ctx.app.serving.configureTraffic(args.name, args.weights, args.routing, ctx.who(args.reason), true);
    const state = await ctx.app.registry.modelState(args.name);
    return { reachesProduction: splitReachesProduction(state), preview: trafficMovesText(dry), name: args.name, version: null, plan: trafficPlanKey(state) };
  },
  async handler(args, ctx) {
    const check = (state: ModelState) => requireAssessed(ctx, trafficPlanKey(state), splitReachesProduction(state));
    const t = await ctx.app.serving.configureTraffic(args.name, args.weights, args.routing, ctx.who(args.reason), args.dry_run, check);
    return {
      data: {
        name: t.name,
        dry_run: t.dryRun,
        before: t.before,
        after: t.after,
        routing: t.routing,
        alerts: t.alerts.map((a) => ({ type: a.type, severity: a.severity, message: a.message })),
      },
      summary: trafficText(t),
      links: [...Object.keys(t.after).map((v) => versionLink(t.name, v)), ...(t.dryRun ? [] : [auditLink(t.name)])],
    };
  },
});

/** Weights on a model with a production version change what its users get. */
const splitReachesProduction = (state: ModelState) => productionVersion(state) !== undefined;

/** What a split's assessment rests on: the production version and the split in force, as one string to compare. */
const trafficPlanKey = (state: ModelState) =>
  JSON.stringify([productionVersion(state)?.version ?? null, state.traffic?.weights ?? null, state.traffic?.routing ?? null]);

export const getTrafficConfig = defineTool({
  name: 'get_traffic_config',
  title: 'Traffic split and per-variant statistics',
  description:
    'The traffic split in force (an explicit A/B split, or all to production) and, per variant since the split was set (without a split: since the last one ended, else since the server started): calls, errors, error rate and mean output, from the prediction log, and latency p50/p95/p99 over its latest 10 000 predictions.',
  input: { name: modelName },
  output: trafficConfigOutput,
  effect: 'read',
  idempotent: true,
  errors: [['not_found', 'unknown model']],
  example: { name: 'nba_win_predictor' },
  async handler(args, ctx) {
    const r = await ctx.app.serving.trafficReport(args.name, ctx.app.startedAt);
    const lines = r.variants.map(
      (v) =>
        `- ${v.version} (${v.stage ?? 'gone'}): weight ${Math.round(v.weight * 1000) / 10}%, ${counted(v.count, 'call')}, ${(v.errorRate * 100).toFixed(1)}% errors, p50 ${v.latencyMs?.p50 ?? '–'} ms, p95 ${v.latencyMs?.p95 ?? '–'} ms, mean output ${v.meanOutput === null ? '–' : v.meanOutput.toFixed(4)}`,
    );
    const since = {
      split_set: `since it was set at ${r.since}`,
      split_ended: `since the last A/B split ended at ${r.since}`,
      server_started: `since this server started at ${r.since}`,
    }[r.sinceEvent];
    const head = r.config
      ? `${args.name}: ${r.explicit ? `A/B split (${r.config.routing})` : 'all traffic to production'}; counts ${since}`
      : `${args.name}: no production version and no split; nothing is routed (counts ${since})`;
    return {
      data: {
        name: args.name,
        explicit: r.explicit,
        routing: r.config?.routing ?? null,
        weights: r.config?.weights ?? {},
        since: r.since,
        since_event: r.sinceEvent,
        variants: r.variants.map((v) => ({
          version: v.version,
          stage: v.stage,
          weight: v.weight,
          count: v.count,
          errors: v.errors,
          error_rate: v.errorRate,
          latency_ms: v.latencyMs,
          mean_output: v.meanOutput,
        })),
      },
      summary: [head, ...lines].join('\n'),
      links: r.variants.filter((v) => v.stage !== null).map((v) => versionLink(args.name, v.version, v.stage ?? undefined)),
    };
  },
});

export const getSystemStats = defineTool({
  name: 'get_system_stats',
  title: 'Serving statistics',
  description:
    'Since the server started: ONNX session cache (hit rate, size), predictions and error rate, latency p50/p95/p99 per model and version, prediction log, uptime.',
  input: {},
  output: {
    uptime_s: z.number(),
    model_cache: z.object({
      hit_rate: z.number(),
      hits: z.number().int(),
      misses: z.number().int(),
      size: z.number().int(),
      max_size: z.number().int(),
      loads: z.number().int(),
      load_failures: z.number().int(),
      evictions: z.number().int(),
      mean_load_ms: z.number().nullable(),
    }),
    predictions: z.object({ total: z.number().int(), errors: z.number().int(), error_rate: z.number() }),
    latency: z.array(
      z.object({ name: z.string(), version: z.string(), count: z.number().int(), errors: z.number().int(), error_rate: z.number(), latency_ms: latency }),
    ),
    prediction_log: z.object({
      written: z.number().int(),
      pending: z.number().int(),
      failed_flushes: z.number().int(),
      dropped: z.number().int(),
      stored_rows: z.number().int(),
    }),
  },
  effect: 'read',
  idempotent: true,
  errors: [],
  example: {},
  async handler(_args, ctx) {
    const { sessions, stats, predictionLog, store, startedAt } = ctx.app;
    const c = sessions.snapshot();
    const lookups = c.hits + c.misses;
    const totals = stats.totals();
    const variants = stats.variantStats();
    const log = predictionLog.status();
    const data = {
      uptime_s: Math.round((Date.now() - startedAt.getTime()) / 1000),
      model_cache: {
        hit_rate: lookups ? c.hits / lookups : 0,
        hits: c.hits,
        misses: c.misses,
        size: c.size,
        max_size: c.maxSize,
        loads: c.loads,
        load_failures: c.loadFailures,
        evictions: c.evictions,
        mean_load_ms: c.loads ? round3(c.loadMsTotal / c.loads) : null,
      },
      predictions: { total: totals.predictions, errors: totals.errors, error_rate: totals.errorRate },
      latency: variants.map((v) => ({
        name: v.name,
        version: v.version,
        count: v.count,
        errors: v.errors,
        error_rate: v.errorRate,
        latency_ms: v.latencyMs,
      })),
      prediction_log: {
        written: log.written,
        pending: log.pending,
        failed_flushes: log.failedFlushes,
        dropped: log.dropped,
        stored_rows: await store.predictions.count(),
      },
    };
    const lines = variants.map(
      (v) =>
        `- ${v.name} ${v.version}: ${counted(v.count, 'prediction')}, ${(v.errorRate * 100).toFixed(1)}% errors, p50 ${v.latencyMs?.p50 ?? '–'} ms, p95 ${v.latencyMs?.p95 ?? '–'} ms, p99 ${v.latencyMs?.p99 ?? '–'} ms`,
    );
    return {
      data,
      summary: [
        `Up ${data.uptime_s} s. ${counted(totals.predictions, 'prediction')}, ${(totals.errorRate * 100).toFixed(2)}% errors. Model cache: ${c.size}/${c.maxSize} loaded, hit rate ${(data.model_cache.hit_rate * 100).toFixed(1)}%.`,
        ...lines,
      ].join('\n'),
    };
  },
});

const round3 = (x: number) => Math.round(x * 1000) / 1000;

const split = (w: Record<string, number>) =>
  Object.entries(w)
    .map(([v, x]) => `${v} ${Math.round(x * 1000) / 10}%`)
    .join(' / ') || 'none';

/** The split a change sets (or would set): also the text of an approval request. */
function trafficMovesText(t: TrafficChange): string {
  return `${t.name} traffic ${t.dryRun ? 'would go' : 'goes'} ${split(t.after)} (${t.routing} routing); was ${split(t.before)}.`;
}

function trafficText(t: TrafficChange): string {
  return t.dryRun ? `Dry run, nothing changed: ${trafficMovesText(t)}` : trafficMovesText(t);
}

export const servingTools = [predict, batchPredict, deployModel, undeployModel, configureAbTest, getTrafficConfig, getSystemStats];
