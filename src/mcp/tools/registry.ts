import { z } from 'zod';
import { counted } from '../../counted.js';
import { auditLink, MAX_LINKS, versionLink } from '../answer.js';
import {
  auditLine,
  auditOut,
  outputsText,
  servingText,
  stageChangeOut,
  stageChangeText,
  stageMovesText,
  versionDetailOut,
  versionSummaryOut,
} from '../format.js';
import { auditEntry, boundedRecord, cursor, dryRun, limit, modelName, reason, stage, stageChangeOutput, versionDetail, versionLabel } from '../schemas.js';
import type { StageChangeOutcome } from '../../registry/registry.js';
import type { StagePlan } from '../../registry/types.js';
import { listModelsOutput, modelHistoryOutput } from '../output-schemas/registry.js';
import { defineTool, requireAssessed, type Assessment, type ToolContext } from '../tool.js';

/**
 * A dry run of a stage change, as the assessment of the real call: does it change what
 * production serves? A version moving into or out of production does, and so does a change
 * that clears the model's traffic split (archiving with force a version that takes weight).
 */
async function assessStageChange(run: () => Promise<StageChangeOutcome>, verb: string): Promise<Assessment> {
  const dry = await run();
  const preview = dry.clearTraffic
    ? `${stageMovesText(dry, verb)} The traffic split ${dry.dryRun ? 'would be' : 'is'} cleared: all traffic to production.`
    : stageMovesText(dry, verb);
  return { reachesProduction: stagePlanReachesProduction(dry), preview, name: dry.name, version: dry.changes[0]?.version ?? null, plan: stagePlanKey(dry) };
}

const stagePlanReachesProduction = (plan: StagePlan) =>
  plan.changes.some((c) => c.from === 'production' || c.to === 'production') || plan.clearTraffic === true;

/** A stage change's moves (and whether it clears the split), as one string to compare. */
const stagePlanKey = (plan: StagePlan) => JSON.stringify([plan.changes.map((c) => [c.version, c.from, c.to]), plan.clearTraffic === true]);

/** The versions a stage change moved (or would move), and the audit trail it was written to (a dry run writes none). */
const stageChangeLinks = (o: StageChangeOutcome) => [
  ...o.changes.map((c) => versionLink(o.name, c.version, o.dryRun ? undefined : c.to)),
  ...(o.dryRun ? [] : [auditLink(o.name)]),
];

/** The real call's options: the plan it makes inside its transaction must keep the assessment's judgement. */
const stageChangeOptions = (dryRun: boolean, ctx: ToolContext) => ({
  dryRun,
  check: (plan: StagePlan) => requireAssessed(ctx, stagePlanKey(plan), stagePlanReachesProduction(plan)),
});

export const registerModel = defineTool({
  name: 'register_model',
  title: 'Register a model version',
  description:
    'Registers an ONNX file (artifact_path), or an ONNX model version imported from MLflow (mlflow_model_uri), as a new version of a model (creating the model if new). The file is copied into the registry by sha256, loaded and run once on a row of zeros in onnxruntime, in a process of its own held to MODEL_LOAD_TIMEOUT_MS, MODEL_RUN_TIMEOUT_MS and MODEL_MEMORY_MB, to prove it runs, and its signature recorded. Models are taken as their libraries export them: weights stored as external data beside the file are put inside it; a classifier ending in a ZipMap is served through the same graph answering its probability tensor; a batch dimension fixed to 1 is served one row per run. The answer says how the outputs are read (classifier or regressor) and what was derived. The new version starts in stage "none"; promote it with promote_model.',
  input: {
    name: modelName,
    artifact_path: z.string().min(1).max(4096).optional().describe('Path of the .onnx file; must be under MLOPS_MCP_ALLOWED_DIRS (or give mlflow_model_uri)'),
    mlflow_model_uri: z
      .string()
      .max(600)
      .optional()
      .describe('Import from MLflow instead: models:/<name>/<version> or models:/<name>@<alias> (needs MLFLOW_TRACKING_URI)'),
    version: versionLabel.optional().describe('Version label (unique per model); default: v1, v2, … in registration order'),
    description: z.string().max(4000).optional().describe('What this version is'),
    metrics: boundedRecord(z.string().max(128), z.number(), 100, 'metrics').optional().describe('Evaluation metrics, e.g. {"rmse": 4.1}'),
    tags: boundedRecord(z.string().max(128), z.string().max(1000), 100, 'tags').optional().describe('Free-form tags, e.g. {"framework": "scikit-learn"}'),
    feature_names: z
      .array(z.string().min(1).max(256))
      .max(10_000)
      .optional()
      .describe('Feature names in input order; default: the ONNX metadata property feature_names (a JSON list)'),
    task: z
      .enum(['regression', 'classification'])
      .optional()
      .describe(
        'What the model predicts, when its graph does not say: a graph with a classifier node (class labels) is a classifier; anything else is read as a regressor (a float [N, k] output: k values per row) unless this says classification',
      ),
    output: z
      .enum(['probabilities', 'logits'])
      .optional()
      .describe(
        'For a classifier without class labels in its graph (a neural network): whether its output holds probabilities or logits (answered through softmax)',
      ),
    reason,
    dry_run: dryRun,
  },
  output: { dry_run: z.boolean(), model: versionDetail },
  effect: 'write',
  idempotent: false,
  errors: [
    [
      'invalid_argument',
      'a bad name or version label, feature_names that do not match the model inputs, task "regression" for a graph with class labels, or a classifier without class labels whose output is not said',
    ],
    ['path_not_allowed', 'artifact_path is outside MLOPS_MCP_ALLOWED_DIRS (symlinks resolved)'],
    ['file_not_found', 'artifact_path does not exist'],
    [
      'invalid_model',
      'the file is not an ONNX model onnxruntime can load, or loading it or running it on a row of zeros goes past MODEL_LOAD_TIMEOUT_MS, MODEL_RUN_TIMEOUT_MS or MODEL_MEMORY_MB (the limit is named; dry runs too); external data not beside the model, or over MLOPS_MCP_MAX_MODEL_MB inlined; a ZipMap that cannot be left out; a batch dimension fixed to more than 1',
    ],
    ['failed_precondition', 'mlflow_model_uri without MLFLOW_TRACKING_URI, or MLflow unreachable'],
    ['already_exists', 'the model already has this version label'],
  ],
  example: { name: 'nba_points', artifact_path: 'fixtures/nba_points_v2.onnx', version: 'v2', metrics: { rmse: 4.59 }, reason: 'retrained on 2026 data' },
  examples: [
    {
      title: 'a PyTorch network whose last layer gives logits, exported with torch.onnx.export (its weights in torch_logits.onnx.data beside it)',
      args: {
        name: 'segment_net',
        artifact_path: 'fixtures/exports/torch_logits.onnx',
        task: 'classification',
        output: 'logits',
        reason: 'first PyTorch model',
      },
    },
  ],
  async handler(args, ctx) {
    const { version, dryRun: dry } = await ctx.app.registry.register(
      {
        name: args.name,
        artifactPath: args.artifact_path,
        mlflowModelUri: args.mlflow_model_uri,
        version: args.version,
        description: args.description,
        metrics: args.metrics,
        tags: args.tags,
        featureNames: args.feature_names,
        task: args.task,
        output: args.output,
      },
      ctx.who(args.reason),
      { dryRun: args.dry_run },
    );
    const inputs = version.signature.inputs.map((i) => `${i.name}:${i.type}${JSON.stringify(i.shape)}`).join(', ');
    const features = version.featureNames ? counted(version.featureNames.length, 'feature') : 'no feature names';
    const served = servingText(version);
    const head = dry ? `Dry run, nothing registered: ${version.name} ${version.version} would be created` : `Registered ${version.name} ${version.version}`;
    return {
      data: { dry_run: dry, model: versionDetailOut(version) },
      summary: [
        `${head} (stage none, sha256 ${version.artifactSha256.slice(0, 12)}, ${version.artifactBytes} bytes; inputs ${inputs}; ${features}).`,
        `Read as a ${outputsText(version)}.`,
        ...(served ? [`Served: ${served}.`] : []),
      ].join('\n'),
      links: dry ? [] : [versionLink(version.name, version.version, version.stage), auditLink(version.name)],
    };
  },
});

export const listModels = defineTool({
  name: 'list_models',
  title: 'List model versions',
  description: 'Lists registered model versions with their stages, newest registrations last within each model. Filter by model name, stage, or age.',
  input: {
    name: modelName.optional().describe('Only this model'),
    stage: stage.optional().describe('Only versions in this stage'),
    older_than_days: z.number().min(0).max(36_500).optional().describe('Only versions registered more than this many days ago'),
    limit,
    cursor,
  },
  output: listModelsOutput,
  effect: 'read',
  idempotent: true,
  errors: [['invalid_argument', 'a cursor this server did not give out']],
  example: { stage: 'production' },
  async handler(args, ctx) {
    const { versions, nextCursor } = await ctx.app.registry.list({
      name: args.name,
      stage: args.stage,
      olderThanDays: args.older_than_days,
      limit: args.limit,
      cursor: args.cursor,
    });
    const byModel = new Map<string, string[]>();
    for (const v of versions) byModel.set(v.name, [...(byModel.get(v.name) ?? []), `${v.version} (${v.stage})`]);
    const lines = [...byModel].map(([name, vs]) => `- ${name}: ${vs.join(', ')}`);
    const summary = versions.length
      ? `${counted(versions.length, 'version')}${nextCursor ? ' (more: pass next_cursor)' : ''}:\n${lines.join('\n')}`
      : 'No model versions match. Register one with register_model.';
    return {
      data: { versions: versions.map(versionSummaryOut), count: versions.length, next_cursor: nextCursor },
      summary,
      links: versions.slice(0, MAX_LINKS).map((v) => versionLink(v.name, v.version, v.stage)),
    };
  },
});

export const getModel = defineTool({
  name: 'get_model',
  title: 'Get a model version',
  description:
    'One model version with its signature, feature names, metrics and recent transitions. Choose it by version or by stage; with neither, the production version (else the newest).',
  input: {
    name: modelName,
    version: versionLabel.optional(),
    stage: stage.optional().describe('Pick the newest version in this stage instead of naming a version'),
  },
  output: {
    model: versionDetail,
    versions: z.array(z.object({ version: z.string(), stage })).describe("All of the model's versions and their stages"),
    recent_transitions: z.array(auditEntry).describe("The model's 10 most recent audit entries, newest first"),
  },
  effect: 'read',
  idempotent: true,
  errors: [
    ['not_found', 'the model or version does not exist'],
    ['invalid_argument', 'both version and stage given'],
  ],
  example: { name: 'nba_points', stage: 'production' },
  async handler(args, ctx) {
    const v = await ctx.app.registry.get(args.name, { version: args.version, stage: args.stage });
    const state = await ctx.app.registry.modelState(args.name);
    const { entries } = await ctx.app.registry.history(args.name, { limit: 10 });
    const inputs = v.signature.inputs.map((i) => `${i.name}:${i.type}${JSON.stringify(i.shape)}`).join(', ');
    const outputs = v.signature.outputs.map((o) => `${o.name}:${o.type}`).join(', ');
    const metrics =
      Object.entries(v.metrics)
        .map(([k, m]) => `${k}=${m}`)
        .join(', ') || 'none';
    return {
      data: {
        model: versionDetailOut(v),
        versions: state.versions.map((x) => ({ version: x.version, stage: x.stage })),
        recent_transitions: entries.map(auditOut),
      },
      summary: [
        `${v.name} ${v.version} — ${v.stage}${v.description ? `: ${v.description}` : ''}`,
        `inputs ${inputs}; outputs ${outputs}`,
        `read as a ${outputsText(v)}`,
        ...(servingText(v) ? [`served: ${servingText(v)}`] : []),
        `features: ${v.featureNames?.join(', ') ?? 'none recorded'}`,
        `metrics: ${metrics}`,
        `versions: ${state.versions.map((x) => `${x.version} (${x.stage})`).join(', ')}`,
      ].join('\n'),
      links: [versionLink(v.name, v.version, v.stage), auditLink(v.name)],
    };
  },
});

export const getModelHistory = defineTool({
  name: 'get_model_history',
  title: 'Model audit trail',
  description:
    "The model's audit trail, newest first: every registration, stage change, traffic split and drift reference with its actor, approver and reason, and every write the safety rules refused or a person declined. Also as the resource audit://{name}.",
  input: {
    name: modelName,
    actor: z
      .string()
      .max(255)
      .optional()
      .describe('Only entries by this actor (a token name, a signed-in person\'s subject, or a client name such as "claude-code (stdio)")'),
    since: z.string().max(40).optional().describe('Only entries at or after this time (ISO 8601)'),
    limit,
    cursor,
  },
  output: modelHistoryOutput,
  effect: 'read',
  idempotent: true,
  errors: [
    ['not_found', 'the model or version does not exist'],
    ['invalid_argument', 'a cursor this server did not give out, or since is not a date'],
  ],
  example: { name: 'nba_points', since: '2026-11-01T00:00:00Z', limit: 20 },
  async handler(args, ctx) {
    const { entries, nextCursor } = await ctx.app.registry.history(args.name, { limit: args.limit, cursor: args.cursor, actor: args.actor, since: args.since });
    const more = nextCursor ? '\n(more: pass next_cursor)' : '';
    return {
      data: { name: args.name, entries: entries.map(auditOut), next_cursor: nextCursor },
      summary: `${args.name}: ${entries.length} audit entries, newest first\n${entries.map(auditLine).join('\n')}${more}`,
      links: [auditLink(args.name)],
    };
  },
});

export const promoteModel = defineTool({
  name: 'promote_model',
  title: 'Promote a model version',
  description:
    'Moves a version to staging or production. Promoting to production archives the current production version (or, with archive_existing: false, moves it to staging). Audited with the reason. Try dry_run: true first.',
  input: {
    name: modelName,
    version: versionLabel,
    target_stage: z.enum(['staging', 'production']).describe('Stage to move the version to'),
    archive_existing: z
      .boolean()
      .default(true)
      .describe('When promoting to production: archive the current production version (true) or move it to staging (false)'),
    reason,
    dry_run: dryRun,
  },
  output: stageChangeOutput,
  effect: 'destructive',
  idempotent: true,
  errors: [
    ['not_found', 'the model or version does not exist'],
    ['failed_precondition', 'the version is in production and would move down (use rollback_model or archive_model)'],
  ],
  example: { name: 'nba_points', version: 'v2', target_stage: 'production', reason: 'lower RMSE on last week', dry_run: true },
  assess: (args, ctx) =>
    assessStageChange(
      () =>
        ctx.app.registry.promote(
          args.name,
          { version: args.version, targetStage: args.target_stage, archiveExisting: args.archive_existing },
          ctx.who(args.reason),
          {
            dryRun: true,
          },
        ),
      'Promotion',
    ),
  async handler(args, ctx) {
    const outcome = await ctx.app.registry.promote(
      args.name,
      { version: args.version, targetStage: args.target_stage, archiveExisting: args.archive_existing },
      ctx.who(args.reason),
      stageChangeOptions(args.dry_run, ctx),
    );
    return { data: stageChangeOut(outcome), summary: stageChangeText(outcome, 'Promotion'), links: stageChangeLinks(outcome) };
  },
});

export const rollbackModel = defineTool({
  name: 'rollback_model',
  title: 'Roll back production',
  description:
    'Restores the version that was in production before the current one (read from the audit trail), or to_version, and archives the current production version. Try dry_run: true first.',
  input: {
    name: modelName,
    to_version: versionLabel.optional().describe('Version to restore; default: the previous production version'),
    reason,
    dry_run: dryRun,
  },
  output: stageChangeOutput,
  effect: 'destructive',
  // Rolling back always changes what production serves.
  minimumRole: 'admin',
  idempotent: false,
  errors: [
    ['not_found', 'the model or version does not exist'],
    ['failed_precondition', 'no production version, no earlier production version in the audit trail, or to_version is already in production'],
  ],
  example: { name: 'nba_points', reason: 'error rate up after v2', dry_run: true },
  assess: (args, ctx) =>
    assessStageChange(() => ctx.app.registry.rollback(args.name, { toVersion: args.to_version }, ctx.who(args.reason), { dryRun: true }), 'Rollback'),
  async handler(args, ctx) {
    const outcome = await ctx.app.registry.rollback(args.name, { toVersion: args.to_version }, ctx.who(args.reason), stageChangeOptions(args.dry_run, ctx));
    return { data: stageChangeOut(outcome), summary: stageChangeText(outcome, 'Rollback'), links: stageChangeLinks(outcome) };
  },
});

export const archiveModel = defineTool({
  name: 'archive_model',
  title: 'Archive a model version',
  description: 'Archives a version. The production version is refused unless force is true (the model is then left without a production version).',
  input: {
    name: modelName,
    version: versionLabel,
    force: z.boolean().default(false).describe('Allow archiving the production version'),
    reason,
    dry_run: dryRun,
  },
  output: stageChangeOutput,
  effect: 'destructive',
  idempotent: true,
  errors: [
    ['not_found', 'the model or version does not exist'],
    ['failed_precondition', 'the version is in production and force is not true'],
  ],
  example: { name: 'nba_points', version: 'v1', reason: 'superseded by v2' },
  assess: (args, ctx) =>
    assessStageChange(
      () => ctx.app.registry.archive(args.name, { version: args.version, force: args.force }, ctx.who(args.reason), { dryRun: true }),
      'Archive',
    ),
  async handler(args, ctx) {
    const outcome = await ctx.app.registry.archive(
      args.name,
      { version: args.version, force: args.force },
      ctx.who(args.reason),
      stageChangeOptions(args.dry_run, ctx),
    );
    return { data: stageChangeOut(outcome), summary: stageChangeText(outcome, 'Archive'), links: stageChangeLinks(outcome) };
  },
});

export const registryTools = [registerModel, listModels, getModel, getModelHistory, promoteModel, rollbackModel, archiveModel];
