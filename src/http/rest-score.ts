import type { AppContext } from '../context.js';
import { DomainError, isDomainError, withNextSteps } from '../errors.js';
import { restStep } from './next-steps.js';
import { NAME_PATTERN } from '../registry/rules.js';
import { isFeatureTable } from '../serving/features.js';
import { batchAnswer, predictionAnswer } from '../wire/serving.js';
import type { BatchPrediction } from '../serving/serving-types.js';
import { invocationRows, MAX_REST_ROWS, parseInvocation, parsePredictBody } from './rest-bodies.js';

/**
 * What both ways into REST scoring share (the Express routes and the plain node:http path in
 * front of them): the model name's check, MLflow's formats scored, and a failure as its status,
 * code and message. One function each, so the two answer alike.
 */

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

/** A failure as REST answers it: [status, error_code, message]; anything but a domain error is logged and told as internal. */
export function errorAnswer(e: unknown, app: AppContext): [number, string, string] {
  if (isDomainError(e)) {
    const [status, code] = HTTP_STATUS[e.code] ?? [400, 'BAD_REQUEST'];
    return [status, code, withNextSteps(e, restStep)];
  }
  app.logger.error({ err: e }, 'REST request failed');
  return [500, 'INTERNAL_ERROR', 'internal error; see the server log'];
}

/** A path's model name, checked. */
export function checkedName(name: string): string {
  if (!NAME_PATTERN.test(name)) throw new DomainError('invalid_argument', `"${name.slice(0, 64)}" is not a model name.`);
  return name;
}

/** MLflow's answer: one prediction per row, a classifier's as {label, probabilities}. */
export function invocationAnswer(b: BatchPrediction): { predictions: unknown[] } {
  const probabilities = b.probabilities;
  if (!probabilities) return { predictions: b.predictions };
  const labels = Object.keys(probabilities);
  return {
    predictions: b.predictions.map((label, i) => {
      // No prototype: a label "__proto__" is a key like any other.
      const p = Object.create(null) as Record<string, number>;
      for (const k of labels) p[k] = probabilities[k][i];
      return { label, probabilities: p };
    }),
  };
}

/** POST /invocations/{name}: a parsed body (undefined: none came) in one of MLflow's formats, scored. */
export async function scoreInvocation(
  app: AppContext,
  name: string,
  raw: unknown,
  options: { version: string | undefined; routingKey: string | undefined },
): Promise<{ predictions: unknown[] }> {
  const rows = invocationRows(parseInvocation(raw));
  const n = isFeatureTable(rows) ? rows.data.length : rows.length;
  if (!n) throw new DomainError('invalid_argument', 'no rows to score.');
  if (n > MAX_REST_ROWS) throw new DomainError('invalid_argument', `at most ${MAX_REST_ROWS} rows per request; got ${n}.`);
  return invocationAnswer(await app.serving.predictBatch(name, rows, options));
}

/** POST /api/v1/predict/{name}: one row or a batch; the query's version, else the body's. */
export async function scorePredict(
  app: AppContext,
  name: string,
  raw: unknown,
  query: { version: string | undefined; routingKey: string | undefined },
): Promise<object> {
  const body = parsePredictBody(raw);
  const options = { version: query.version ?? body.version, routingKey: query.routingKey };
  if ('rows' in body) return batchAnswer(await app.serving.predictBatch(name, body.rows, options));
  return predictionAnswer(await app.serving.predict(name, body.features, options));
}

/** The X-Routing-Key header, cut at 256 characters; undefined when absent or empty. */
export function routingKeyOf(header: string | string[] | undefined): string | undefined {
  const key = Array.isArray(header) ? header[0] : header;
  return key ? key.slice(0, 256) : undefined;
}
