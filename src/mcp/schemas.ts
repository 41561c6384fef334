import { z } from 'zod';
import { ALERT_SEVERITIES, ALERT_TYPES } from '../monitoring/alert-types.js';
import { NAME_PATTERN } from '../registry/rules.js';
import { STAGES } from '../registry/types.js';

/** Zod schemas shared by the tool definitions: one spelling of each domain word. */

export const modelName = z
  .string()
  .regex(NAME_PATTERN, 'use 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit')
  .describe('Registered model name, e.g. "nba_points"');

export const versionLabel = z
  .string()
  .regex(NAME_PATTERN, 'use 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit')
  .describe('Version label, e.g. "v2" or "v2.0"');

export const stage = z.enum(STAGES);

/**
 * A record of at most `max` entries: checked at run time, and declared as maxProperties in the
 * JSON schema clients see (zod's record has no size bound of its own).
 */
export function boundedRecord<V extends z.ZodType>(key: z.ZodString, value: V, max: number, what: string) {
  return z
    .record(key, value)
    .refine((o) => {
      let n = 0;
      for (const _ in o) if (++n > max) return false;
      return true;
    }, `at most ${max} ${what}`)
    .meta({ maxProperties: max });
}

export const dryRun = z.boolean().default(false).describe('true: answer what would change (stages before and after, alerts) and change nothing');

export const reason = z.string().max(1000).optional().describe('Why: recorded in the audit trail');

export const limit = z.number().int().min(1).max(500).default(50).describe('Page size (1–500, default 50)');
export const cursor = z.string().max(512).optional().describe('next_cursor from the previous page; leave out for the first page');

const tensorSpec = z.object({
  name: z.string(),
  type: z.string().describe('Element type (float32, float64, int64, …) or non-tensor'),
  shape: z
    .array(z.union([z.number(), z.string()]))
    .nullable()
    .describe('Dimensions; strings are symbolic (batch)'),
});

const derivationStep = z.union([
  z.object({
    kind: z.literal('external_data_inlined'),
    source_sha256: z.string().describe('sha256 of the .onnx file as given'),
    source_bytes: z.number().int(),
    files: z.array(z.object({ location: z.string(), bytes: z.number().int() })).describe('The data files read from beside it'),
  }),
  z.object({
    kind: z.literal('zipmap_removed'),
    output: z.string().describe('The ZipMap output (a sequence of maps) of the given graph'),
    tensor: z.string().describe('The probability tensor that fed it, answered instead'),
  }),
]);

export const signature = z.object({
  inputs: z.array(tensorSpec),
  outputs: z.array(tensorSpec).describe('Outputs of the graph served'),
  class_labels: z.array(z.string()).nullable().describe("A classifier's class labels, in probability order; null for a regressor"),
  task: z.enum(['regression', 'classification']).describe('What the version predicts, as decided at registration'),
  scores: z
    .object({ output: z.string(), kind: z.enum(['probabilities', 'logits']).describe('logits are answered as probabilities through softmax') })
    .nullable()
    .describe("A classifier's score output and what it holds; null for a regressor"),
  target_names: z.array(z.string()).nullable().describe("A multi-target regressor's target names, when the model names them"),
  serving: z
    .object({ sha256: z.string(), bytes: z.number().int(), derivation: z.array(derivationStep) })
    .nullable()
    .describe('The graph served when registration derived it from the given file (its sha256, and what was done); null when the artifact is served as is'),
});

export const versionSummary = z.object({
  name: z.string(),
  version: z.string(),
  stage,
  created_at: z.string(),
  updated_at: z.string(),
  description: z.string(),
  metrics: z.record(z.string(), z.number()),
  tags: z.record(z.string(), z.string()),
});

export const versionDetail = versionSummary.extend({
  artifact_sha256: z.string(),
  artifact_bytes: z.number().int(),
  signature,
  feature_names: z.array(z.string()).nullable(),
});

export const auditEntry = z.object({
  id: z.number().int(),
  name: z.string(),
  version: z.string().nullable(),
  action: z.string(),
  from_stage: stage.nullable(),
  to_stage: stage.nullable(),
  actor: z.string().describe("Who asked: a token's name, a signed-in person's subject (OAuth), or an MCP client's name"),
  actor_name: z.string().nullable().describe("The signed-in person's display name, as their access token gave it, if any"),
  reason: z.string().nullable().describe("The caller's reason (an agent's own words), as it gave it"),
  approved_by: z.string().nullable().describe('The person who approved the change (MLOPS_MCP_APPROVAL=elicit), if any'),
  approver_reason: z.string().nullable().describe("The approver's reason, kept beside the caller's"),
  details: z.record(z.string(), z.unknown()).nullable().describe('What else was recorded: weights before and after, refusal outcome, …'),
  created_at: z.string(),
});

export const stageChange = z.object({ version: z.string(), from: stage, to: stage });

export const alertSeverity = z.enum(ALERT_SEVERITIES);

export const alertDraft = z.object({
  type: z.enum(ALERT_TYPES),
  severity: alertSeverity,
  name: z.string().nullable(),
  version: z.string().nullable(),
  message: z.string(),
});

export const alert = alertDraft.extend({ id: z.number().int(), created_at: z.string() });

/** What every stage-changing tool answers, for a dry run and a real change alike. */
export const stageChangeOutput = {
  name: z.string(),
  dry_run: z.boolean(),
  action: z.string(),
  changes: z.array(stageChange).describe('Every version whose stage changes (empty: nothing to do)'),
  production_before: z.string().nullable(),
  production_after: z.string().nullable(),
  stages_after: z.array(z.object({ version: z.string(), stage })),
  alerts: z.array(alertDraft).describe('Alerts raised (or, for a dry run, that would be raised)'),
};

/** What zod tells of one option of a union that failed. */
interface OptionIssue {
  code: string;
  path: PropertyKey[];
  message: string;
}

/**
 * The error of a row that fits none of its forms: zod's union says only "Invalid input". Names
 * the entry that is wrong in the form the row has (an object's feature, an array's value), and
 * the forms a row takes. The argument's path goes before it (the dispatcher, REST's body errors).
 */
export function rowProblem(forms: string) {
  return (issue: { input?: unknown; errors?: OptionIssue[][] }): string => {
    if (issue.input === undefined) return `required: ${forms}`;
    // The option of the row's own type failed inside it; the others failed on the type itself.
    const inside = issue.errors?.find((e) => e.length > 0 && !(e[0].code === 'invalid_type' && e[0].path.length === 0))?.[0];
    const got = issue.input === null ? 'null' : Array.isArray(issue.input) ? 'an array' : typeof issue.input;
    if (!inside) return `${got} is not a row (${forms})`;
    const key = inside.path[0];
    const entry = key === undefined ? '' : typeof key === 'number' ? `position ${key}: ` : `"${String(key).slice(0, 100)}": `;
    // The only key a record refuses is one past the name schema's 256 characters.
    const problem = inside.code === 'invalid_key' ? 'a feature name longer than 256 characters' : inside.message.replace(/^Invalid input: /, '');
    return `${entry}${problem} (${forms})`;
  };
}

export const ROW_FORMS = 'a row is an object of feature name → number, or an array of numbers in signature order';
