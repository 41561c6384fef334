import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { spawnHttp, type SpawnedHttp } from './spawn.js';

const WIN = [0.62, 0.48, 114.2, 110.9, 108.5, 112.0, 2, 1];
const POINTS = [1, 2, 20, 6, 5, 22, 6, 5, 30, 112];

let server: SpawnedHttp;
let mcp: Client;
const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const callTool = async (name: string, args: Record<string, unknown>) =>
  (await mcp.callTool({ name, arguments: args })) as { isError?: boolean; structuredContent?: Record<string, unknown>; content: Array<{ text?: string }> };

beforeAll(async () => {
  const root = tempDir();
  const tokens = path.join(root, 'tokens.json');
  fs.writeFileSync(
    tokens,
    JSON.stringify({
      tokens: [
        { name: 'ops', role: 'operate', token: 'operate-token-0123456789' },
        { name: 'dashboard', role: 'read', token: 'read-token-0123456789ab' },
      ],
    }),
  );
  server = await spawnHttp([], { MLOPS_MCP_HOME: path.join(root, 'home'), MLOPS_MCP_TOKENS_FILE: tokens });
  mcp = new Client({ name: 'rest-performance', version: '1' });
  await mcp.connect(
    new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: 'Bearer operate-token-0123456789' } } }),
  );
  const fixtures = path.resolve('fixtures');
  for (const [version, file] of [
    ['v1.5', 'nba_win_predictor_v1.5.onnx'],
    ['v2.0', 'nba_win_predictor_v2.0.onnx'],
  ]) {
    expect(
      (await callTool('register_model', { name: 'nba_win_predictor', version, artifact_path: path.join(fixtures, file), metrics: { accuracy: 0.73 } })).isError,
    ).toBeFalsy();
  }
  expect(
    (await callTool('register_model', { name: 'nba_points', version: 'v1', artifact_path: path.join(fixtures, 'nba_points_v1.onnx') })).isError,
  ).toBeFalsy();
  await callTool('promote_model', { name: 'nba_points', version: 'v1', target_stage: 'staging' });
  await callTool('configure_ab_test', { name: 'nba_win_predictor', weights: { 'v1.5': 0.5, 'v2.0': 0.5 }, routing: 'random' });
});
afterAll(async () => {
  await mcp.close();
  await server.stop();
});

const auth = { authorization: 'Bearer operate-token-0123456789' };

describe('outcomes over REST', () => {
  it('records outcomes of REST predictions and answers the same performance numbers as the MCP tool', async () => {
    const scored = (await (
      await post('/api/v1/predict/nba_win_predictor', { rows: Array.from({ length: 300 }, (_, i) => WIN.map((x, j) => (j === 0 ? x - i / 1000 : x))) }, auth)
    ).json()) as { batch_id: string; predictions: number[] };
    const outcomes = scored.predictions.map((p, i) => ({ prediction_id: `${scored.batch_id}:${i}`, actual: i % 4 ? p : 1 - p }));
    const res = await post('/api/v1/outcomes/nba_win_predictor', { outcomes, reason: 'results feed' }, auth);
    const body = (await res.json()) as { matched: number; by_version: Record<string, number> };
    expect(res.status).toBe(200);
    expect(body.matched).toBe(300);
    // A bare array works too (the design's shape), and replaces.
    const again = (await (await post('/api/v1/outcomes/nba_win_predictor', outcomes.slice(0, 2), auth)).json()) as { replaced: number };
    expect(again.replaced).toBe(2);

    const rest = await (await fetch(`${server.url}/api/v1/models/nba_win_predictor/performance?last_n=1000`, { headers: auth })).json();
    const tool = await callTool('get_model_performance', { name: 'nba_win_predictor', window: { last_n: 1000 } });
    expect(rest).toEqual(tool.structuredContent);
    expect((rest as { comparison: { challengers: unknown[] } }).comparison.challengers).toHaveLength(1);
    const history = await callTool('get_model_history', { name: 'nba_win_predictor' });
    expect(
      (history.structuredContent as { entries: Array<{ action: string; actor: string; reason: string | null }> }).entries
        .filter((e) => e.action === 'record_outcomes')
        .map((e) => [e.actor, e.reason]),
    ).toEqual([
      ['ops', null],
      ['ops', 'results feed'],
    ]);
  });

  it('refuses what the MCP tool refuses, with MLflow-style errors, and a read token', async () => {
    const p = (await (await post('/api/v1/predict/nba_points', { features: POINTS, version: 'v1' }, auth)).json()) as { prediction_id: string };
    const cases: Array<[string, unknown, Record<string, string>, number, string, RegExp]> = [
      [
        '/api/v1/outcomes/nba_points',
        [{ prediction_id: p.prediction_id, actual: 'tall' }],
        auth,
        400,
        'BAD_REQUEST',
        /not a finite number, and nba_points is a regressor/,
      ],
      ['/api/v1/outcomes/no_such', [{ prediction_id: p.prediction_id, actual: 1 }], auth, 404, 'RESOURCE_DOES_NOT_EXIST', /No model named "no_such"/],
      ['/api/v1/outcomes/nba_points', { csv_path: '/etc/passwd' }, auth, 403, 'PERMISSION_DENIED', /MLOPS_MCP_ALLOWED_DIRS/],
      ['/api/v1/outcomes/nba_points', { outcomes: [], extra: 1 }, auth, 400, 'BAD_REQUEST', /invalid request body/],
      [
        '/api/v1/outcomes/nba_points',
        [{ prediction_id: p.prediction_id, actual: 1 }],
        { authorization: 'Bearer read-token-0123456789ab' },
        403,
        'PERMISSION_DENIED',
        /needs the operate role; token "dashboard" has read/,
      ],
    ];
    for (const [route, body, headers, status, code, message] of cases) {
      const res = await post(route, body, headers);
      const json = (await res.json()) as { error_code: string; message: string };
      expect([res.status, json.error_code], JSON.stringify(json)).toEqual([status, code]);
      expect(json.message).toMatch(message);
    }
    const bad = await fetch(`${server.url}/api/v1/models/nba_points/performance?alpha=high`, { headers: auth });
    expect([bad.status, ((await bad.json()) as { message: string }).message]).toEqual([400, expect.stringMatching(/alpha must be a number/)]);
    const tool = await callTool('record_outcomes', { name: 'nba_points', outcomes: [{ prediction_id: p.prediction_id, actual: 'tall' }] });
    expect(tool.isError).toBe(true);
    const perf = (await (
      await fetch(`${server.url}/api/v1/models/nba_points/performance`, { headers: { authorization: 'Bearer read-token-0123456789ab' } })
    ).json()) as { outcomes: number };
    expect(perf.outcomes).toBe(0);
  });
});
