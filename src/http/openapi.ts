import { z } from 'zod';
import { VERSION } from '../version.js';
import { batchResponse, errorResponse, invocationsResponse, modelSummary, predictResponse } from './rest.js';
import { invocationsRequest, predictRequest } from './rest-bodies.js';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: 'draft-2020-12', unrepresentable: 'any' });

const json = (s: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema: schema(s) } } });

const errors = {
  '400': json(
    errorResponse,
    'Bad request: malformed JSON, a field of the wrong type or left out (named), two formats in one body, a missing or non-finite feature (named), too many rows',
  ),
  '401': json(errorResponse, 'UNAUTHENTICATED: missing or wrong bearer token (when tokens are configured)'),
  '403': json(errorResponse, 'PERMISSION_DENIED: Host header or Origin not allowed'),
  '404': json(errorResponse, 'Unknown model or version (RESOURCE_DOES_NOT_EXIST), or no such route (ENDPOINT_NOT_FOUND)'),
  '409': json(errorResponse, 'No production version and no traffic split, or an archived version asked for'),
  '413': json(errorResponse, 'Body over 4 MiB'),
  '503': json(errorResponse, 'Shutting down, or the registry database is locked or its disk refuses writes: retry later'),
};

const nameParam = {
  name: 'name',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' },
  description: 'Model name',
};
const versionParam = { name: 'version', in: 'query', required: false, schema: { type: 'string' }, description: 'Serve this version instead of routing' };
const routingHeader = {
  name: 'X-Routing-Key',
  in: 'header',
  required: false,
  schema: { type: 'string', maxLength: 256 },
  description: 'Sticky A/B routing key (a user or session id)',
};

/** The OpenAPI 3.1 document of the REST routes, generated from the same zod schemas the routes parse with. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'mlops-mcp REST scoring',
      version: VERSION,
      description: 'Scoring and registry reads beside the MCP endpoint at /mcp. Same routing, validation, prediction log and metrics as the MCP predict tools.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }, {}],
    paths: {
      '/api/v1/predict/{name}': {
        post: {
          summary: 'Score one row (named features) or a batch ({"rows": [...]})',
          parameters: [nameParam, versionParam, routingHeader],
          requestBody: { required: true, ...json(predictRequest, 'Named features, {"features": …, "version"?}, or {"rows": […], "version"?}') },
          responses: {
            '200': {
              description: 'One prediction, or a batch',
              content: { 'application/json': { schema: { oneOf: [schema(predictResponse), schema(batchResponse)] } } },
            },
            ...errors,
          },
        },
      },
      '/invocations/{name}': {
        post: {
          summary: 'MLflow scoring-server formats: dataframe_split, dataframe_records, instances, inputs',
          parameters: [nameParam, versionParam, routingHeader],
          requestBody: { required: true, ...json(invocationsRequest, 'An MLflow scoring request') },
          responses: { '200': json(invocationsResponse, 'MLflow-shaped predictions'), ...errors },
        },
      },
      '/api/v1/models/{name}/invocations': {
        post: {
          summary: 'Same as /invocations/{name}',
          parameters: [nameParam, versionParam, routingHeader],
          requestBody: { required: true, ...json(invocationsRequest, 'An MLflow scoring request') },
          responses: { '200': json(invocationsResponse, 'MLflow-shaped predictions'), ...errors },
        },
      },
      '/api/v1/models': {
        get: { summary: 'Registered models with their versions and stages', responses: { '200': json(z.object({ models: z.array(modelSummary) }), 'Models') } },
      },
      '/api/v1/models/{name}': {
        get: { summary: 'One model', parameters: [nameParam], responses: { '200': json(modelSummary, 'The model'), '404': errors['404'] } },
      },
      '/ping': { get: { summary: 'Liveness, as MLflow’s scoring server', security: [], responses: { '200': { description: 'Alive' } } } },
      '/version': { get: { summary: 'Server version', security: [], responses: { '200': { description: 'The version, as text' } } } },
      '/healthz': {
        get: {
          summary: 'Liveness with the registry database',
          security: [],
          responses: { '200': { description: 'OK' }, '503': { description: 'Database does not answer' } },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'Prometheus text format' } } } },
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
  };
}
