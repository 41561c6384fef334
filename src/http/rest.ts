import type { IncomingMessage } from 'node:http';
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { DomainError } from '../errors.js';
import { markProtoFree, protoKeyPath, protoKeyProblem, type ProtoMarked } from '../proto-key.js';
import { summarizeModels } from '../registry/summary.js';
import { ROUTED_BY } from '../serving/serving-types.js';
import { restError } from './responses.js';
import { checkedName, errorAnswer, routingKeyOf, scoreInvocation, scorePredict } from './rest-score.js';
import { performanceRoutes } from './rest-performance.js';

/**
 * REST scoring for applications: the deployment guide's /api/v1 API and MLflow's scoring
 * server formats (/invocations). Both call the same ServingService as the MCP predict tools,
 * so routing, validation, the prediction log, metrics and alerts are one path.
 */

export const predictResponse = z.object({
  prediction_id: z.string(),
  name: z.string(),
  version: z.string(),
  stage: z.string(),
  prediction: z.union([z.number(), z.string(), z.array(z.number())]),
  probabilities: z.record(z.string(), z.number()).nullable(),
  target_names: z.array(z.string()).nullable(),
  latency_ms: z.number(),
  routed_by: z.enum(ROUTED_BY),
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

export const invocationsResponse = z.object({
  predictions: z.array(
    z.union([
      z.number(),
      z.string(),
      z.array(z.number()),
      z.object({ label: z.union([z.number(), z.string()]), probabilities: z.record(z.string(), z.number()) }),
    ]),
  ),
});

export const errorResponse = z.object({ error_code: z.string(), message: z.string() });

export const modelSummary = z.object({
  name: z.string(),
  production: z.string().nullable(),
  versions: z.array(z.object({ version: z.string(), stage: z.string(), created_at: z.string() })),
});

function sendError(res: Response, e: unknown, app: AppContext): void {
  const [status, code, message] = errorAnswer(e, app);
  restError(res, status, code, message);
}

const modelName = (req: Request): string => checkedName(String(req.params.name ?? ''));

/** What express.json() does not keep of a body it read: whether it was empty (it answers {} for a chunked one of no bytes). */
interface BodyMarks extends ProtoMarked {
  emptyBody?: true;
}

/** express.json()'s verify hook for the REST routes: notes what jsonBody needs of the body's bytes. */
export function markBody(req: IncomingMessage, res: unknown, buf: Buffer): void {
  markProtoFree(req, res, buf);
  if (buf.length === 0) (req as BodyMarks).emptyBody = true;
}

/**
 * The parsed JSON body; undefined when the request has none (express.json() answers {} for an
 * empty one, which would read as a row without features). A body of another type is refused:
 * express.json() leaves it unread. So is one holding a `__proto__` key, which zod's records would
 * drop without a word (looked for only when the body's text may hold one: markProtoFree).
 */
function jsonBody(req: Request): unknown {
  const length = req.headers['content-length'];
  if ((req as Request & BodyMarks).emptyBody || (req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0'))) return undefined;
  const type = req.headers['content-type'];
  if (req.body === undefined && type !== undefined && !req.is('application/json')) {
    throw new DomainError(
      'invalid_argument',
      `invalid request body: Content-Type ${type.slice(0, 100)} is not JSON; send the body as JSON with Content-Type: application/json.`,
    );
  }
  const at = (req as Request & ProtoMarked).protoFree ? null : protoKeyPath(req.body);
  if (at !== null) throw new DomainError('invalid_argument', protoKeyProblem(at));
  return req.body;
}

const routingKey = (req: Request) => routingKeyOf(req.headers['x-routing-key']);

/** Routes under /api/v1 (mount it there) and /invocations (the handler of `invocationsRouter`). */
export function apiV1Router(app: AppContext, options: { readOnly: boolean } = { readOnly: false }): Router {
  const r = express.Router();
  performanceRoutes(r, app, options, { fail: (res, e) => sendError(res, e, app), modelName, body: jsonBody });

  r.post('/predict/:name', async (req, res) => {
    try {
      const name = modelName(req);
      const version = typeof req.query.version === 'string' ? req.query.version : undefined;
      res.json(await scorePredict(app, name, jsonBody(req), { version, routingKey: routingKey(req) }));
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
      const version = typeof req.query.version === 'string' ? req.query.version : undefined;
      res.json(await scoreInvocation(app, name, jsonBody(req), { version, routingKey: routingKey(req) }));
    } catch (e) {
      sendError(res, e, app);
    }
  };
}
