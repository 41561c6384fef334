import { z } from 'zod';
import { counted } from '../../counted.js';
import { auditLink, versionLink } from '../answer.js';
import { boundedRecord, dryRun, modelName, reason, stage, versionLabel } from '../schemas.js';
import type { TrafficChange } from '../../serving/serving-types.js';
import { configureAbTestOutput, latency, trafficConfigOutput } from '../output-schemas/serving.js';
import { defineTool, requireAssessed } from '../tool.js';
import { productionVersion } from '../../registry/rules.js';
import type { ModelState } from '../../registry/types.js';
import { round3 } from '../format.js';
import { predictTools } from './predict.js';

/** Deployment, traffic splits and serving statistics; the predicting tools are in predict.ts. */

const MAX_SPLIT_VERSIONS = 100;

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

export const servingTools = [...predictTools, deployModel, undeployModel, configureAbTest, getTrafficConfig, getSystemStats];
