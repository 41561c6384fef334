import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, ok, readCsvRows, tempDir } from '../helpers.js';
import { spawnHttp, type SpawnedHttp } from './spawn.js';

const manifest = JSON.parse(fs.readFileSync(fixture('models.json'), 'utf8')) as {
  models: Array<{ name: string; version: string; feature_names: string[]; expected: Array<number | { label: number; probabilities: number[] }> }>;
};
const points = manifest.models.find((m) => m.name === 'nba_points' && m.version === '1')!;
const win = manifest.models.find((m) => m.name === 'nba_win_predictor' && m.version === '1.5')!;

const csvRows = (file: string, n: number, features: string[]): number[][] =>
  readCsvRows(fixture(file))
    .slice(0, n)
    .map((r) => features.map((f) => r[f]));

let server: SpawnedHttp;
let mcp: Client;
const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

beforeAll(async () => {
  server = await spawnHttp(['--demo'], { MLOPS_MCP_HOME: path.join(tempDir(), 'home') });
  mcp = new Client({ name: 'rest-e2e', version: '1' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
});
afterAll(async () => {
  await mcp.close();
  await server.stop();
});

describe("the deployment guide's API", () => {
  it('scores named features and batches like scikit-learn, with version, stage and id', async () => {
    const rows = csvRows('nba_points_reference.csv', 5, points.feature_names);
    const named = Object.fromEntries(points.feature_names.map((f, i) => [f, rows[0][i]]));
    const one = (await (await post('/api/v1/predict/nba_points', named)).json()) as {
      prediction: number;
      version: string;
      stage: string;
      prediction_id: string;
      latency_ms: number;
    };
    expect(one).toMatchObject({ version: 'v1', stage: 'production' });
    expect(one.prediction).toBeCloseTo(points.expected[0] as number, 3);
    const batch = (await (await post('/api/v1/predict/nba_points', { rows })).json()) as { predictions: number[]; rows: number };
    batch.predictions.forEach((p, i) => expect(p).toBeCloseTo(points.expected[i] as number, 3));
    const v2 = (await (await post('/api/v1/predict/nba_points?version=v2', named)).json()) as { version: string };
    expect(v2.version).toBe('v2');
    const models = (await (await fetch(`${server.url}/api/v1/models`)).json()) as { models: Array<{ name: string; production: string }> };
    expect(models.models.map((m) => [m.name, m.production])).toEqual([
      ['nba_points', 'v1'],
      ['nba_win_predictor', 'v1.5'],
    ]);
    expect(((await (await fetch(`${server.url}/api/v1/models/nba_win_predictor`)).json()) as { versions: unknown[] }).versions).toHaveLength(2);
  });

  it('keeps a routing key on one version of an A/B split, and the REST predictions show in get_traffic_config and the drift window', async () => {
    await ok(mcp, 'configure_ab_test', { name: 'nba_win_predictor', weights: { 'v2.0': 0.5, 'v1.5': 0.5 } });
    const rows = csvRows('nba_win_reference.csv', 1, win.feature_names);
    for (const key of ['u1', 'u2', 'u3', 'u4', 'u5', 'u6']) {
      const versions = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const r = (await (await post('/api/v1/predict/nba_win_predictor', { features: rows[0] }, { 'x-routing-key': key })).json()) as { version: string };
        versions.add(r.version);
      }
      expect(versions.size).toBe(1);
    }
    const t = await ok<{ variants: Array<{ count: number }> }>(mcp, 'get_traffic_config', { name: 'nba_win_predictor' });
    expect(t.variants.reduce((s, v) => s + v.count, 0)).toBe(30);
    await ok(mcp, 'set_drift_reference', { name: 'nba_win_predictor', csv_path: fixture('nba_win_reference.csv') });
    const drift = await ok<{ features: Array<{ n_cur: number }> }>(mcp, 'detect_drift', { name: 'nba_win_predictor', window: { last_n: 30 } });
    expect(drift.features[0].n_cur).toBe(30);
  });
});

describe("MLflow's /invocations formats", () => {
  it('gives the same numbers for every request format', async () => {
    const rows = csvRows('nba_win_reference.csv', 5, win.feature_names);
    const f = win.feature_names;
    const bodies = {
      dataframe_split: { dataframe_split: { columns: f, data: rows } },
      dataframe_records: { dataframe_records: rows.map((r) => Object.fromEntries(f.map((c, i) => [c, r[i]]))) },
      instances: { instances: rows },
      instances_named: { instances: rows.map((r) => Object.fromEntries(f.map((c, i) => [c, r[i]]))) },
      inputs: { inputs: rows },
      inputs_columns: { inputs: Object.fromEntries(f.map((c, i) => [c, rows.map((r) => r[i])])) },
    };
    for (const [format, body] of Object.entries(bodies)) {
      for (const route of ['/invocations/nba_win_predictor?version=v1.5', '/api/v1/models/nba_win_predictor/invocations?version=v1.5']) {
        const res = await post(route, body);
        expect(res.status, format).toBe(200);
        const out = (await res.json()) as { predictions: Array<{ label: number; probabilities: Record<string, number> }> };
        out.predictions.forEach((p, i) => {
          const e = win.expected[i] as { label: number; probabilities: number[] };
          expect(p.label, format).toBe(e.label);
          expect(p.probabilities['1']).toBeCloseTo(e.probabilities[1], 5);
        });
      }
    }
    const reg = (await (await post('/invocations/nba_points', { inputs: csvRows('nba_points_reference.csv', 3, points.feature_names) })).json()) as {
      predictions: number[];
    };
    reg.predictions.forEach((p, i) => expect(p).toBeCloseTo(points.expected[i] as number, 3));
  });

  it('reads dataframe_split columns by their names: shuffled, the same prediction', async () => {
    const [row] = csvRows('nba_points_reference.csv', 1, points.feature_names);
    const order = points.feature_names.map((_, i) => i).reverse();
    const inOrder = (await (await post('/invocations/nba_points', { dataframe_split: { columns: points.feature_names, data: [row] } })).json()) as {
      predictions: number[];
    };
    const shuffled = (await (
      await post('/invocations/nba_points', { dataframe_split: { columns: order.map((i) => points.feature_names[i]), data: [order.map((i) => row[i])] } })
    ).json()) as { predictions: number[] };
    expect(shuffled.predictions).toEqual(inOrder.predictions);
    expect(inOrder.predictions[0]).toBeCloseTo(points.expected[0] as number, 3);
  });

  it('answers 409 INVALID_STATE for an archived version and for a model with nothing in production', async () => {
    await ok(mcp, 'register_model', { name: 'unpromoted', artifact_path: fixture('nba_points_v1.onnx'), version: 'v1' });
    await ok(mcp, 'register_model', { name: 'unpromoted', artifact_path: fixture('nba_points_v2.onnx'), version: 'v2' });
    await ok(mcp, 'archive_model', { name: 'unpromoted', version: 'v2' });
    const row = points.feature_names.map(() => 1);
    for (const [route, message] of [
      ['/invocations/unpromoted', /no production version and no traffic split/],
      ['/invocations/unpromoted?version=v2', /v2 is archived/],
      ['/api/v1/predict/unpromoted', /no production version/],
    ] as const) {
      const res = await post(route, route.startsWith('/api') ? { features: row } : { inputs: [row] });
      expect(res.status, route).toBe(409);
      expect((await res.json()) as object).toEqual({ error_code: 'INVALID_STATE', message: expect.stringMatching(message) });
    }
  });

  it('answers bad requests with MLflow-style errors and the right status', async () => {
    const pointsColumns = points.feature_names;
    const before = await ok<{ predictions: { total: number } }>(mcp, 'get_system_stats', {});
    const cases: Array<[string, string | object, number, string, RegExp]> = [
      ['/invocations/nba_points', { dataframe_records: [{ is_home: 1 }] }, 400, 'BAD_REQUEST', /missing features days_rest/],
      ['/invocations/nba_points', { dataframe_records: [{ is_home: 'yes' }] }, 400, 'BAD_REQUEST', /invalid request body/],
      ['/invocations/nba_points', { columns: ['a'] }, 400, 'BAD_REQUEST', /invalid request body/],
      // dataframe_split is read column by column: every problem names its column (or row).
      [
        '/invocations/nba_points',
        { dataframe_split: { columns: pointsColumns, data: [pointsColumns.map((_, i) => (i === 3 ? 'x' : 1))] } },
        400,
        'BAD_REQUEST',
        new RegExp(`feature "${pointsColumns[3]}" is string`),
      ],
      [
        '/invocations/nba_points',
        { dataframe_split: { columns: [...pointsColumns.slice(1), 'bogus'], data: [pointsColumns.map(() => 1)] } },
        400,
        'BAD_REQUEST',
        /unknown column "bogus"/,
      ],
      [
        '/invocations/nba_points',
        { dataframe_split: { columns: [...pointsColumns.slice(1), pointsColumns[1]], data: [pointsColumns.map(() => 1)] } },
        400,
        'BAD_REQUEST',
        /appears twice/,
      ],
      ['/invocations/nba_points', { dataframe_split: { columns: pointsColumns, data: [[1, 2]] } }, 400, 'BAD_REQUEST', /a row has 2 values for 10 columns/],
      ['/invocations/nba_points', { dataframe_split: { columns: pointsColumns, data: [null] } }, 400, 'BAD_REQUEST', /invalid request body/],
      ['/invocations/no_such_model', { inputs: [[1]] }, 404, 'RESOURCE_DOES_NOT_EXIST', /No model named "no_such_model"/],
      ['/invocations/nba_points', '{"inputs": [[1,', 400, 'MALFORMED_REQUEST', /not valid JSON/],
      ['/api/v1/predict/nba_points', { rows: [] }, 400, 'BAD_REQUEST', /rows/],
      ['/api/v1/predict/nba_points?version=v9', { features: [1] }, 404, 'RESOURCE_DOES_NOT_EXIST', /no version "v9"/],
      [
        '/invocations/nba_points',
        JSON.stringify({ inputs: [[1]], pad: 'x'.repeat(5 * 1024 * 1024) }),
        413,
        'REQUEST_LIMIT_EXCEEDED',
        /over 4 MiB: send fewer rows/,
      ],
    ];
    for (const [route, body, status, code, message] of cases) {
      const res = await post(route, body);
      expect(res.status, `${route} ${(typeof body === 'string' ? body : JSON.stringify(body)).slice(0, 60)}`).toBe(status);
      const err = (await res.json()) as { error_code: string; message: string };
      expect(err.error_code).toBe(code);
      expect(err.message).toMatch(message);
    }
    const after = await ok<{ predictions: { total: number; errors: number } }>(mcp, 'get_system_stats', {});
    // Only requests that reached an existing model count, as failed predictions (missing feature, unknown version);
    // malformed bodies, unknown models and oversized bodies never reach serving.
    // The non-number value and the two column errors are found after routing, so they count too.
    expect(after.predictions.total - before.predictions.total).toBe(5);
    expect(after.predictions.errors - (before.predictions as { errors?: number }).errors!).toBe(5);
  });

  it('names the field of a wrong type, refuses two formats, and answers JSON on every route, refusals included', async () => {
    const before = await ok<{ predictions: { total: number } }>(mcp, 'get_system_stats', {});
    const named = Object.fromEntries(points.feature_names.map((f) => [f, 1]));
    const withIsHome = (v: string) => JSON.stringify(named).replace('"is_home":1', `"is_home":${v}`);
    const cases: Array<[string, string | object | undefined, number, string, RegExp]> = [
      ...['"yes"', 'null', 'true', '1e400'].map((v): [string, string, number, string, RegExp] => [
        '/api/v1/predict/nba_points',
        withIsHome(v),
        400,
        'BAD_REQUEST',
        new RegExp(`^invalid request body: is_home: expected number, received ${{ '"yes"': 'string', null: 'null', true: 'boolean', '1e400': 'Infinity' }[v]}`),
      ]),
      ['/api/v1/predict/nba_points', undefined, 400, 'BAD_REQUEST', /^invalid request body: the body is empty; send named features/],
      [
        '/api/v1/predict/nba_points',
        { features: { is_home: 'x' } },
        400,
        'BAD_REQUEST',
        /^invalid request body: features: "is_home": expected number, received string/,
      ],
      ['/api/v1/predict/nba_points', [named], 400, 'BAD_REQUEST', /^invalid request body: expected a JSON object .*; got an array\.$/],
      [
        '/invocations/nba_points',
        undefined,
        400,
        'BAD_REQUEST',
        /^invalid request body: the body is empty; send one of dataframe_split, dataframe_records, instances or inputs/,
      ],
      [
        '/invocations/nba_points',
        {},
        400,
        'BAD_REQUEST',
        /^invalid request body: expected one of dataframe_split, dataframe_records, instances or inputs \(MLflow's scoring formats\); it is \{\}\.$/,
      ],
      [
        '/invocations/nba_points',
        { dataframe_split: { data: [[1]] } },
        400,
        'BAD_REQUEST',
        /^invalid request body: dataframe_split\.columns: required \(expected array\)/,
      ],
      [
        '/invocations/nba_points',
        { instances: [[1]], inputs: [[2]] },
        400,
        'BAD_REQUEST',
        /^invalid request body: it has instances and inputs; send exactly one of/,
      ],
      [
        '/invocations/nba_points',
        { instances: [[1, null]] },
        400,
        'BAD_REQUEST',
        /^invalid request body: instances\.0: position 1: expected number, received null/,
      ],
      [
        '/invocations/nba_points',
        { dataframe_records: [{ is_home: true }] },
        400,
        'BAD_REQUEST',
        /^invalid request body: dataframe_records\.0\.is_home: expected number, received boolean/,
      ],
    ];
    for (const [route, body, status, code, message] of cases) {
      const res = await fetch(`${server.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const err = (await res.json()) as { error_code: string; message: string };
      expect([res.status, err.error_code], `${route} ${JSON.stringify(body)}`).toEqual([status, code]);
      expect(err.message, `${route} ${JSON.stringify(body)}`).toMatch(message);
    }
    const plain = await fetch(`${server.url}/api/v1/predict/nba_points`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(named),
    });
    expect([plain.status, ((await plain.json()) as { message: string }).message]).toEqual([400, expect.stringMatching(/Content-Type text\/plain is not JSON/)]);
    // None of these reached serving.
    expect((await ok<{ predictions: { total: number } }>(mcp, 'get_system_stats', {})).predictions.total).toBe(before.predictions.total);

    // Routes that do not exist, and a refused Origin, answer JSON in the REST shape; /mcp keeps JSON-RPC.
    const shapes: Array<[string, RequestInit, number, Record<string, unknown>]> = [
      ['/no/such/route', {}, 404, { error_code: 'ENDPOINT_NOT_FOUND', message: expect.stringContaining('No route GET /no/such/route') }],
      [
        '/invocations',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs": [[1]]}' },
        404,
        { error_code: 'ENDPOINT_NOT_FOUND', message: expect.stringContaining('names no model: POST /invocations/{name}') },
      ],
      [
        '/api/v1/predict/nba_points',
        { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body: '{}' },
        403,
        { error_code: 'PERMISSION_DENIED', message: 'Origin not allowed: http://evil.example' },
      ],
      [
        '/mcp',
        { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body: '{}' },
        403,
        { jsonrpc: '2.0', id: null, error: { code: -32000 } },
      ],
    ];
    for (const [route, init, status, shape] of shapes) {
      const res = await fetch(`${server.url}${route}`, init);
      expect(res.status, route).toBe(status);
      expect(res.headers.get('content-type'), route).toMatch(/^application\/json/);
      expect(await res.json(), route).toMatchObject(shape);
    }
  });

  it('answers /ping and /version like the MLflow scoring server', async () => {
    expect((await fetch(`${server.url}/ping`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/version`)).text()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 with compilable schemas and lists every route', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          { requestBody?: { content: Record<string, { schema: object }> }; responses: Record<string, { content?: Record<string, { schema: object }> }> }
        >
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/api/v1/models',
        '/api/v1/models/{name}',
        '/api/v1/models/{name}/invocations',
        '/api/v1/predict/{name}',
        '/healthz',
        '/invocations/{name}',
        '/metrics',
        '/openapi.json',
        '/ping',
        '/version',
      ].sort(),
    );
    const ajv = new Ajv2020({ strict: false });
    for (const [route, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const schemas = [
          op.requestBody?.content['application/json']?.schema,
          ...Object.values(op.responses).map((r) => r.content?.['application/json']?.schema),
        ].filter(Boolean);
        for (const s of schemas) expect(() => ajv.compile(s as object), `${method} ${route}`).not.toThrow();
      }
    }
  });
});
