import { z } from 'zod';
import { DomainError } from '../errors.js';
import { ROW_FORMS, rowProblem } from '../mcp/schemas.js';
import type { FeatureRow, FeatureTable } from '../serving/features.js';
import { issuesText } from '../zod-issues.js';

/**
 * The REST request bodies: their schemas (also the OpenAPI document's) and their parsing. A body
 * that is not what its route takes is refused naming the field and what it should be, as MCP
 * names an argument: a wrong type (`is_home: expected number, received string`), a field left
 * out, two formats in one body, an empty body.
 */

export const MAX_REST_ROWS = 10_000;

// Arrays first, as batch_predict's rows (a union tries its options in order; most rows are arrays).
const featureRow = z.union([z.array(z.number()), z.record(z.string(), z.number())], { error: rowProblem(ROW_FORMS) });

const rowsBody = z.object({ rows: z.array(featureRow).min(1).max(MAX_REST_ROWS), version: z.string().optional() }).strict();
const featuresBody = z.object({ features: featureRow, version: z.string().optional() }).strict();
const namedBody = z.record(z.string(), z.number());

/** POST /api/v1/predict/{name}: named features, or {features, version?}, or {rows, version?}. */
export const predictRequest = z.union([rowsBody, featuresBody, namedBody]);

/** A tensor format's value: rows (a list), or named columns (a dict of lists). */
const tensorRows = z.array(featureRow);
const tensorColumns = z.record(z.string(), z.array(z.number()));
const tensorForms = z.union([tensorRows, tensorColumns]);
/**
 * A tensor body with its value in the one form it has: zod then names a problem inside it, not
 * "Invalid input" of the union. Built once: a zod schema compiles itself on its first use.
 */
const tensorBody = (key: 'instances' | 'inputs', rows: boolean) =>
  z.object({ [key]: rows ? tensorRows : tensorColumns, params: z.unknown().optional() }).strict();
const TENSOR_AS = {
  instances: { rows: tensorBody('instances', true), columns: tensorBody('instances', false) },
  inputs: { rows: tensorBody('inputs', true), columns: tensorBody('inputs', false) },
};

const invocationFormats = {
  dataframe_split: z
    .object({
      dataframe_split: z.object({ columns: z.array(z.string()), data: z.array(z.array(z.number())), index: z.array(z.unknown()).optional() }).strict(),
      params: z.unknown().optional(),
    })
    .strict(),
  dataframe_records: z.object({ dataframe_records: z.array(z.record(z.string(), z.number())), params: z.unknown().optional() }).strict(),
  instances: z.object({ instances: tensorForms, params: z.unknown().optional() }).strict(),
  inputs: z.object({ inputs: tensorForms, params: z.unknown().optional() }).strict(),
};
type Format = keyof typeof invocationFormats;
const FORMATS = Object.keys(invocationFormats) as Format[];
const FORMAT_LIST = 'dataframe_split, dataframe_records, instances or inputs';

/** MLflow scoring-server request formats (mlflow.pyfunc.scoring_server): exactly one per body. */
export const invocationsRequest = z.union([
  invocationFormats.dataframe_split,
  invocationFormats.dataframe_records,
  invocationFormats.instances,
  invocationFormats.inputs,
]);
export type Invocation = z.infer<typeof invocationsRequest>;

const bad = (problem: string) => new DomainError('invalid_argument', `invalid request body: ${problem}`);

/** The body as an object, or the refusal that says what the route takes (undefined: no body came). */
function objectBody(body: unknown, takes: string): Record<string, unknown> {
  if (body === undefined) throw bad(`the body is empty; send ${takes} as JSON (Content-Type: application/json).`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad(`expected a JSON object (${takes}); got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`}.`);
  }
  return body as Record<string, unknown>;
}

function parsed<T>(schema: z.ZodType<T>, body: unknown, takes: string): T {
  const r = schema.safeParse(body);
  if (!r.success) throw bad(`${issuesText(r.error.issues, body)} (${takes}).`);
  return r.data;
}

/** A body of any JSON type the schema checks; a refusal names the field and what the route takes. */
export function parseBody<T>(schema: z.ZodType<T>, raw: unknown, takes: string): T {
  if (raw === undefined) throw bad(`the body is empty; send ${takes} as JSON (Content-Type: application/json).`);
  return parsed(schema, raw, takes);
}

/** A query string the schema checks; a refusal names the parameter. */
export function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  const r = schema.safeParse(query);
  if (!r.success) throw new DomainError('invalid_argument', `invalid query: ${issuesText(r.error.issues, query)}.`);
  return r.data;
}

const PREDICT_TAKES = 'named features {"feature": number, …}, {"features": row, "version"?} or {"rows": [row, …], "version"?}';

/** POST /api/v1/predict/{name}'s body: one row or a batch, and the version it names. */
export function parsePredictBody(raw: unknown): ({ rows: FeatureRow[] } | { features: FeatureRow }) & { version?: string | undefined } {
  const body = objectBody(raw, PREDICT_TAKES);
  if (Object.hasOwn(body, 'rows')) return parsed(rowsBody, body, PREDICT_TAKES);
  if (Object.hasOwn(body, 'features')) return parsed(featuresBody, body, PREDICT_TAKES);
  return { features: parsed(namedBody, body, PREDICT_TAKES) };
}

/**
 * The request body as one of MLflow's formats, exactly one of them. A dataframe_split of arrays
 * skips zod's walk of every value (~0.6 ms for 1 000 rows × 10, an eighth of the request):
 * tableToMatrix checks each value anyway, naming the column of one that is not a finite number.
 */
export function parseInvocation(raw: unknown): Invocation {
  const takes = `one of ${FORMAT_LIST}: MLflow's scoring formats`;
  const body = objectBody(raw, takes);
  const given = FORMATS.filter((f) => Object.hasOwn(body, f));
  if (given.length > 1) throw bad(`it has ${given.join(' and ')}; send exactly one of ${FORMAT_LIST}.`);
  if (given.length === 0) {
    const keys = Object.keys(body);
    const has = keys.length
      ? `; it has ${keys
          .slice(0, 5)
          .map((k) => JSON.stringify(k.slice(0, 50)))
          .join(', ')}${keys.length > 5 ? ', …' : ''}`
      : '; it is {}';
    throw bad(`expected one of ${FORMAT_LIST} (MLflow's scoring formats)${has}.`);
  }
  const split = body.dataframe_split;
  if (
    given[0] === 'dataframe_split' &&
    Object.keys(body).every((k) => k === 'dataframe_split' || k === 'params') &&
    typeof split === 'object' &&
    split !== null
  ) {
    if (Object.keys(split).every((k) => k === 'columns' || k === 'data' || k === 'index')) {
      const { columns, data } = split as { columns?: unknown; data?: unknown };
      if (Array.isArray(columns) && columns.every((c) => typeof c === 'string') && Array.isArray(data) && data.every((row) => Array.isArray(row))) {
        return { dataframe_split: { columns, data: data as number[][] } };
      }
    }
  }
  const format = given[0];
  if (format === 'instances' || format === 'inputs') {
    // Rows that are all arrays of numbers are what zod would pass unchanged: toMatrix checks each
    // row's width and values, with the same words as for any row.
    const tensor = body[format];
    if (Array.isArray(tensor) && Object.keys(body).every((k) => k === format || k === 'params') && tensor.every(numberArray)) {
      return format === 'inputs' ? { inputs: tensor } : { instances: tensor };
    }
  }
  const schema =
    format === 'instances' || format === 'inputs' ? TENSOR_AS[format][Array.isArray(body[format]) ? 'rows' : 'columns'] : invocationFormats[format];
  return parsed(schema as z.ZodType<Invocation>, body, takes);
}

function numberArray(row: unknown): boolean {
  if (!Array.isArray(row)) return false;
  for (let i = 0; i < row.length; i++) if (typeof row[i] !== 'number') return false;
  return true;
}

/** MLflow's formats to rows: dataframe_split and named tensors become a table of named columns; lists stay positional. */
export function invocationRows(body: Invocation): FeatureRow[] | FeatureTable {
  if ('dataframe_split' in body) {
    const { columns, data } = body.dataframe_split;
    for (const values of data) {
      if (values.length !== columns.length)
        throw new DomainError('invalid_argument', `dataframe_split: a row has ${values.length} values for ${columns.length} columns.`);
    }
    return { columns, data };
  }
  if ('dataframe_records' in body) return body.dataframe_records;
  const tensor = 'instances' in body ? body.instances : body.inputs;
  if (Array.isArray(tensor)) return tensor;
  // A dict of named columns {feature: [v0, v1, …]}: one row per index.
  const columns = Object.entries(tensor);
  const n = columns[0]?.[1].length ?? 0;
  if (columns.some(([, v]) => v.length !== n)) throw new DomainError('invalid_argument', 'inputs: every named column needs the same number of values.');
  return { columns: columns.map(([c]) => c), data: Array.from({ length: n }, (_, i) => columns.map(([, v]) => v[i])) };
}
