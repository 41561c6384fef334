import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { DomainError, isDomainError } from '../errors.js';
import { NAME_PATTERN } from '../registry/rules.js';
import { summarizeModels } from '../registry/summary.js';
import { isFeatureTable, type FeatureRow, type FeatureTable } from '../serving/features.js';
import { batchAnswer, predictionAnswer } from '../serving/answers.js';
import { VERSION } from '../version.js';
import { restError } from './responses.js';
import { performanceRoutes } from './rest-performance.js';

/**
 * REST scoring for applications: the deployment guide's /api/v1 API and MLflow's scoring
 * server formats (/invocations). Both call the same ServingService as the MCP predict tools,
 * so routing, validation, the prediction log, metrics and alerts are one path.
 */

export const MAX_REST_ROWS = 10_000;

// Arrays first, as batch_predict's rows (a union tries its options in order; most rows are arrays).
const featureRow = z.union([z.array(z.number()), z.record(z.string(), z.number())]);

/** POST /api/v1/predict/{name}: named features, or {features, version?}, or {rows, version?}. */
export const predictRequest = z.union([
  z.object({ rows: z.array(featureRow).min(1).max(MAX_REST_ROWS), version: z.string().optional() }).strict(),
  z.object({ features: featureRow, version: z.string().optional() }).strict(),
  z.record(z.string(), z.number()),
]);

export const predictResponse = z.object({
  prediction_id: z.string(),
  name: z.string(),
  version: z.string(),
  stage: z.string(),
  prediction: z.union([z.number(), z.string(), z.array(z.number())]),
  probabilities: z.record(z.string(), z.number()).nullable(),
  target_names: z.array(z.string()).nullable(),
  latency_ms: z.number(),
  routed_by: z.enum(['explicit', 'sticky', 'random']),
});

export const batchResponse = z.object({
  batch_id: z.string(),
  name: z.string(),
  rows: z.number().int(),
  served: z.array(z.object({ version: z.string(), stage: z.string(), rows: z.number().int() })),
  version_per_row: z.array(z.string()).nullable(),
  predictions: z.array(z.union([z.number(), z.string(), z.array(z.number())])),
  probabilities: z.record(z.string(), z.array(z.number())).nullable(),
  target_names: z.array(z.string()).nullable(),
  latency_ms: z.number(),
});

/** MLflow scoring-server request formats (mlflow.pyfunc.scoring_server). */
export const invocationsRequest = z.union([
  z.object({ dataframe_split: z.object({ columns: z.array(z.string()), data: z.array(z.array(z.number())), index: z.array(z.unknown()).optional() }), params: z.unknown().optional() }),
  z.object({ dataframe_records: z.array(z.record(z.string(), z.number())), params: z.unknown().optional() }),
  z.object({ instances: z.union([z.array(featureRow), z.record(z.string(), z.array(z.number()))]), params: z.unknown().optional() }),
  z.object({ inputs: z.union([z.array(featureRow), z.record(z.string(), z.array(z.number()))]), params: z.unknown().optional() }),
]);

export const invocationsResponse = z.object({
  predictions: z.array(
    z.union([z.number(), z.string(), z.array(z.number()), z.object({ label: z.union([z.number(), z.string()]), probabilities: z.record(z.string(), z.number()) })]),
  ),
});

export const errorResponse = z.object({ error_code: z.string(), message: z.string() });

export const modelSummary = z.object({
  name: z.string(),
  production: z.string().nullable(),
  versions: z.array(z.object({ version: z.string(), stage: z.string(), created_at: z.string() })),
});

const HTTP_STATUS: Record<string, [number, string]> = {
  not_found: [404, 'RESOURCE_DOES_NOT_EXIST'],
  invalid_argument: [400, 'BAD_REQUEST'],
  failed_precondition: [409, 'INVALID_STATE'],
  path_not_allowed: [403, 'PERMISSION_DENIED'],
  file_not_found: [404, 'RESOURCE_DOES_NOT_EXIST'],
  read_only: [403, 'PERMISSION_DENIED'],
  forbidden: [403, 'PERMISSION_DENIED'],
  invalid_model: [500, 'INTERNAL_ERROR'],
  internal: [500, 'INTERNAL_ERROR'],
  // The server shutting down, or the disk refusing: retry later (they were 400 BAD_REQUEST).
  unavailable: [503, 'TEMPORARILY_UNAVAILABLE'],
  busy: [503, 'TEMPORARILY_UNAVAILABLE'],
};

function sendError(res: Response, e: unknown, app: AppContext): void {
  if (isDomainError(e)) {
    const [status, code] = HTTP_STATUS[e.code] ?? [400, 'BAD_REQUEST'];
    restError(res, status, code, e.message);
    return;
  }
  if (e instanceof z.ZodError) {
    const first = e.issues[0];
    restError(res, 400, 'BAD_REQUEST', `invalid request body${first?.path.length ? ` at ${first.path.join('.')}` : ''}: ${first?.message ?? 'unexpected shape'}`);
    return;
  }
  app.logger.error({ err: e }, 'REST request failed');
  restError(res, 500, 'INTERNAL_ERROR', 'internal error; see the server log');
}

function modelName(req: Request): string {
  const name = String(req.params.name ?? '');
  if (!NAME_PATTERN.test(name)) throw new DomainError('invalid_argument', `"${name.slice(0, 64)}" is not a model name.`);
  return name;
}

const routingKey = (req: Request) => {
  const h = req.headers['x-routing-key'];
  const key = Array.isArray(h) ? h[0] : h;
  return key ? key.slice(0, 256) : undefined;
};

/** MLflow's formats to rows: dataframe_split and named tensors become a table of named columns; lists stay positional. */
export function invocationRows(body: z.infer<typeof invocationsRequest>): FeatureRow[] | FeatureTable {
  if ('dataframe_split' in body) {
    const { columns, data } = body.dataframe_split;
    for (const values of data) {
      if (values.length !== columns.length) throw new DomainError('invalid_argument', `dataframe_split: a row has ${values.length} values for ${columns.length} columns.`);
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

type Invocation = z.infer<typeof invocationsRequest>;

/**
 * The request body as one of MLflow's formats. A dataframe_split of arrays skips zod's walk of
 * every value (~0.6 ms for 1 000 rows × 10, an eighth of the request): tableToMatrix checks each
 * value anyway, naming the column of one that is not a finite number. Anything else goes
 * through the schema, which also documents the formats in /openapi.json.
 */
function parseInvocation(body: unknown): Invocation {
  if (typeof body === 'object' && body !== null && 'dataframe_split' in body && Object.keys(body).every((k) => k === 'dataframe_split' || k === 'params')) {
    const split = (body as { dataframe_split: unknown }).dataframe_split;
    if (typeof split === 'object' && split !== null && Object.keys(split).every((k) => k === 'columns' || k === 'data' || k === 'index')) {
      const { columns, data } = split as { columns?: unknown; data?: unknown };
      if (Array.isArray(columns) && columns.every((c) => typeof c === 'string') && Array.isArray(data) && data.every((row) => Array.isArray(row))) {
        return { dataframe_split: { columns: columns as string[], data: data as number[][] } };
      }
    }
  }
  return invocationsRequest.parse(body);
}

/** Routes under /api/v1 (mount it there) and /invocations (the handler of `invocationsRouter`). */
export function apiV1Router(app: AppContext, options: { readOnly: boolean } = { readOnly: false }): Router {
  const r = express.Router();
  performanceRoutes(r, app, options, (res, e) => sendError(res, e, app), modelName);

  r.post('/predict/:name', async (req, res) => {
    try {
      const name = modelName(req);
      const body = predictRequest.parse(req.body);
      const version = typeof req.query.version === 'string' ? req.query.version : 'version' in body && typeof body.version === 'string' ? body.version : undefined;
      const options = { version, routingKey: routingKey(req) };
      if ('rows' in body && Array.isArray(body.rows)) {
        res.json(batchAnswer(await app.serving.predictBatch(name, body.rows as FeatureRow[], options)));
      } else {
        const features = 'features' in body && typeof body.features === 'object' ? (body.features as FeatureRow) : (body as Record<string, number>);
        res.json(predictionAnswer(await app.serving.predict(name, features, options)));
      }
    } catch (e) {
      sendError(res, e, app);
    }
  });

  r.post('/models/:name/invocations', invocationsHandler(app));

  r.get('/models', async (_req, res) => {
    try {
      res.json({ models: summarizeModels((await app.registry.list({ limit: 10_000 })).versions) });
    } catch (e) {
      sendError(res, e, app);
    }
  });

  r.get('/models/:name', async (req, res) => {
    try {
      const name = modelName(req);
      const state = await app.registry.modelState(name);
      res.json(summarizeModels(state.versions)[0]);
    } catch (e) {
      sendError(res, e, app);
    }
  });
  return r;
}

/** POST /invocations/{name} (mount it at /invocations). */
export function invocationsRouter(app: AppContext): Router {
  const r = express.Router();
  r.post('/:name', invocationsHandler(app));
  return r;
}

function invocationsHandler(app: AppContext) {
  return async (req: Request, res: Response) => {
    try {
      const name = modelName(req);
      const rows = invocationRows(parseInvocation(req.body));
      const n = isFeatureTable(rows) ? rows.data.length : rows.length;
      if (!n) throw new DomainError('invalid_argument', 'no rows to score.');
      if (n > MAX_REST_ROWS) throw new DomainError('invalid_argument', `at most ${MAX_REST_ROWS} rows per request; got ${n}.`);
      const version = typeof req.query.version === 'string' ? req.query.version : undefined;
      const b = await app.serving.predictBatch(name, rows, { version, routingKey: routingKey(req) });
      const predictions = b.probabilities
        ? b.predictions.map((label, i) => ({ label, probabilities: Object.fromEntries(Object.entries(b.probabilities!).map(([k, p]) => [k, p[i]])) }))
        : b.predictions;
      res.json({ predictions });
    } catch (e) {
      sendError(res, e, app);
    }
  };
}
