import { types } from 'node:util';
import { z } from 'zod';
import { counted } from '../../counted.js';
import { versionLink } from '../answer.js';
import { boundedRecord, modelName, ROW_FORMS, rowProblem, stage, versionLabel } from '../schemas.js';
import { DomainError } from '../../errors.js';
import type { FeatureRow } from '../../serving/features.js';
import { batchAnswer, predictionAnswer } from '../../wire/serving.js';
import type { PredictionValue } from '../../serving/outputs.js';
import { ROUTED_BY } from '../../serving/serving-types.js';
import { round3 } from '../format.js';
import { defineTool } from '../tool.js';

const MAX_FEATURES = 10_000;
const MAX_BATCH_ROWS = 10_000;
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

/** The predicting tools: one row, or a batch. */
export const predictTools = [predict, batchPredict];
