import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesField, concatBytes, splitFields, stringField } from '../../src/serving/onnx-wire.js';
import { call, errorCode, FIXTURES, fixture, ok, readCsvRows, tempDir, text } from '../helpers.js';
import { spawnHttp, type SpawnedHttp } from './spawn.js';

// Version labels, tags, metrics, feature names and class labels are the user's words: those that
// are also names on Object.prototype must work like any other, over MCP and REST alike.

const LABELS = ['constructor', 'toString', 'hasOwnProperty', 'valueOf'];
const FEATURES = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'f5', 'f6', 'f7', 'f8', 'f9'];

/** The message at `path` (field numbers, outermost first) rewritten by `leaf`, every other byte kept. */
function rewriteAt(message: Uint8Array, fieldPath: readonly number[], leaf: (m: Uint8Array) => Uint8Array): Uint8Array {
  if (!fieldPath.length) return leaf(message);
  return concatBytes(
    splitFields(message).map((f) =>
      f.field === fieldPath[0] && f.wireType === 2 ? bytesField(f.field, rewriteAt(f.payload, fieldPath.slice(1), leaf)) : f.raw,
    ),
  );
}

/** A classifier export with its string class labels renamed (ModelProto.graph → node → attribute classlabels_strings). */
function renameClassLabels(model: Uint8Array, rename: Record<string, string>): Uint8Array {
  return rewriteAt(model, [7, 1, 5], (attribute) => {
    const fields = splitFields(attribute);
    if (stringField(fields, 1) !== 'classlabels_strings') return attribute;
    return concatBytes(fields.map((f) => (f.field === 9 ? bytesField(9, rename[new TextDecoder().decode(f.payload)] ?? '') : f.raw)));
  });
}

let server: SpawnedHttp;
let mcp: Client;
let work: string;
const post = (route: string, body: unknown) =>
  fetch(`${server.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

beforeAll(async () => {
  const root = tempDir();
  work = path.join(root, 'work');
  fs.mkdirSync(work);
  server = await spawnHttp([], { MLOPS_MCP_HOME: path.join(root, 'home'), MLOPS_MCP_ALLOWED_DIRS: `${FIXTURES}:${work}` });
  mcp = new Client({ name: 'user-keys', version: '1' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
});
afterAll(async () => {
  await mcp.close();
  await server.stop();
});

describe('labels and keys that are names on Object.prototype', () => {
  it('serve, route, split, count and report as any other label, over MCP and REST', async () => {
    const tags = { constructor: 'a', toString: 'b', hasOwnProperty: 'c' };
    const metrics = { constructor: 1, valueOf: 2 };
    for (const [i, version] of LABELS.entries()) {
      const file = fixture(i % 2 ? 'nba_points_v2.onnx' : 'nba_points_v1.onnx');
      await ok(mcp, 'register_model', { name: 'keys', artifact_path: file, version, tags, metrics, feature_names: FEATURES });
    }
    const got = await ok<{ model: { tags: Record<string, string>; metrics: Record<string, number> } }>(mcp, 'get_model', {
      name: 'keys',
      version: 'constructor',
    });
    expect(got.model.tags).toEqual(tags);
    expect(got.model.metrics).toEqual(metrics);
    await ok(mcp, 'promote_model', { name: 'keys', version: 'constructor', target_stage: 'production' });

    const row = Object.fromEntries(FEATURES.map((f, i) => [f, i + 1]));
    // Production by default; another version asked for: get_traffic_config counts it beside the split.
    expect((await ok<{ version: string }>(mcp, 'predict', { name: 'keys', features: row })).version).toBe('constructor');
    expect((await ok<{ version: string }>(mcp, 'predict', { name: 'keys', features: row, version: 'toString' })).version).toBe('toString');
    const before = await ok<{ weights: Record<string, number>; variants: Array<{ version: string; weight: number; count: number }> }>(
      mcp,
      'get_traffic_config',
      { name: 'keys' },
    );
    expect(before.weights).toEqual({ constructor: 1 });
    expect(before.variants.map((v) => [v.version, v.weight, v.count])).toEqual([
      ['constructor', 1, 1],
      ['toString', 0, 1],
    ]);

    await ok(mcp, 'configure_ab_test', { name: 'keys', weights: { constructor: 0.5, hasOwnProperty: 0.5 }, routing: 'sticky' });
    const served = new Set<string>();
    for (let i = 0; i < 40; i++) served.add((await ok<{ version: string }>(mcp, 'predict', { name: 'keys', features: row, routing_key: `user-${i}` })).version);
    expect([...served].sort()).toEqual(['constructor', 'hasOwnProperty']);
    const split = await ok<{ weights: Record<string, number>; variants: Array<{ version: string; weight: number; count: number }> }>(
      mcp,
      'get_traffic_config',
      { name: 'keys' },
    );
    expect(split.weights).toEqual({ constructor: 0.5, hasOwnProperty: 0.5 });
    expect(split.variants.map((v) => v.version)).toEqual(['constructor', 'hasOwnProperty']);
    expect(split.variants.reduce((n, v) => n + v.count, 0)).toBe(40);
    // A version outside the split may be archived; one inside it may not.
    await ok(mcp, 'archive_model', { name: 'keys', version: 'valueOf' });
    expect(errorCode(await call(mcp, 'archive_model', { name: 'keys', version: 'hasOwnProperty' }))).toBe('failed_precondition');

    // REST: named features, a version by query, MLflow's named columns.
    const rest = await post('/api/v1/predict/keys?version=toString', row);
    expect(rest.status).toBe(200);
    expect(await rest.json()).toMatchObject({ version: 'toString', routed_by: 'explicit' });
    const inv = await post('/invocations/keys?version=hasOwnProperty', { dataframe_split: { columns: FEATURES, data: [FEATURES.map((_, i) => i + 1)] } });
    expect(inv.status).toBe(200);
    expect(((await inv.json()) as { predictions: number[] }).predictions).toHaveLength(1);
    const after = await ok<{ variants: Array<{ version: string; weight: number; count: number }> }>(mcp, 'get_traffic_config', { name: 'keys' });
    const counted = (s: typeof after) => new Map(s.variants.map((v) => [v.version, [v.weight, v.count]]));
    const was = counted(split);
    expect(counted(after)).toEqual(
      new Map([
        ['constructor', was.get('constructor')],
        ['hasOwnProperty', [0.5, was.get('hasOwnProperty')![1] + 1]],
        ['toString', [0, 1]],
      ]),
    );
  });

  it('answers class probabilities keyed by such labels, __proto__ included', async () => {
    const renamed = { bronze: 'constructor', silver: '__proto__', gold: 'toString' };
    const file = path.join(work, 'medals.onnx');
    fs.writeFileSync(file, renameClassLabels(new Uint8Array(fs.readFileSync(fixture('exports/sklearn_string_labels.onnx'))), renamed));
    await ok(mcp, 'register_model', { name: 'medals', artifact_path: file, version: 'v1' });
    await ok(mcp, 'promote_model', { name: 'medals', version: 'v1', target_stage: 'production' });
    const want = JSON.parse(fs.readFileSync(fixture('exports/sklearn_string_labels.expected.json'), 'utf8')) as {
      predictions: string[];
      probabilities: Record<string, number[]>;
    };
    const rows = readCsvRows(fixture('exports/data.csv'))
      .slice(0, 3)
      .map((r) => Object.values(r));
    const expectProbabilities = (got: Record<string, number>, i: number) => {
      expect(Object.keys(got).sort()).toEqual(Object.values(renamed).sort());
      for (const [from, to] of Object.entries(renamed)) expect(Object.getOwnPropertyDescriptor(got, to)?.value).toBeCloseTo(want.probabilities[from][i], 5);
    };
    const one = await ok<{ prediction: string; probabilities: Record<string, number> }>(mcp, 'predict', { name: 'medals', features: rows[0] });
    expect(one.prediction).toBe(renamed[want.predictions[0] as keyof typeof renamed]);
    expectProbabilities(one.probabilities, 0);
    const batch = await ok<{ probabilities: Record<string, number[]> }>(mcp, 'batch_predict', { name: 'medals', rows });
    expect(Object.keys(batch.probabilities).sort()).toEqual(Object.values(renamed).sort());
    const inv = (await (await post('/invocations/medals', { instances: rows })).json()) as {
      predictions: Array<{ label: string; probabilities: Record<string, number> }>;
    };
    inv.predictions.forEach((p, i) => {
      expect(p.label).toBe(renamed[want.predictions[i] as keyof typeof renamed]);
      expectProbabilities(p.probabilities, i);
    });
  });

  it('refuses a __proto__ key by name instead of dropping it, over MCP and REST', async () => {
    const tags = JSON.parse('{"__proto__": "x", "team": "ml"}') as Record<string, string>;
    const r = await call(mcp, 'register_model', { name: 'protokeys', artifact_path: fixture('nba_points_v1.onnx'), tags });
    expect(errorCode(r)).toBe('invalid_argument');
    expect(text(r)).toMatch(/^invalid_argument: "__proto__" is not accepted as a key \(in tags\)/);
    expect(errorCode(await call(mcp, 'get_model', { name: 'protokeys' }))).toBe('not_found');
    const features = JSON.parse(`{"__proto__": 1, ${FEATURES.map((f) => `"${f}": 1`).join(', ')}}`) as Record<string, number>;
    // As written, and spelt with a \u escape (JSON.parse makes the same key of it).
    for (const body of [JSON.stringify(features), JSON.stringify(features).replace('"__proto__"', '"\\u005f_proto__"')]) {
      const rest = await fetch(`${server.url}/api/v1/predict/keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(rest.status, body).toBe(400);
      expect(await rest.json()).toMatchObject({ error_code: 'BAD_REQUEST', message: expect.stringMatching(/"__proto__" is not accepted as a key/) });
    }
  });
});
