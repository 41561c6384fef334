import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppContext, type AppContext } from '../../src/context.js';
import { pino } from 'pino';
import { call, connect, dumpTables, fixture, ok, readCsvRows, testApp, text } from '../helpers.js';

/** Models as their libraries export them by default (fixtures/exports, tools/make-export-fixtures.py). */
const exported = (file: string) => fixture(path.join('exports', file));
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const rows = readCsvRows(exported('data.csv')).map((r) => Object.values(r));
const expected = (name: string) =>
  JSON.parse(fs.readFileSync(exported(`${name}.expected.json`), 'utf8')) as { predictions: Array<number | string>; probabilities: Record<string, number[]> | null };

interface Signature {
  outputs: Array<{ name: string; type: string; shape: unknown }>;
  class_labels: string[] | null;
  serving: { sha256: string; bytes: number; derivation: Array<Record<string, unknown>> } | null;
}
interface Registered {
  model: { version: string; artifact_sha256: string; artifact_bytes: number; signature: Signature };
}

let app: AppContext;
let client: Client;

beforeAll(async () => {
  ({ app } = testApp());
  client = await connect(app);
});
afterAll(async () => {
  await client.close();
  await app.close();
});

/** Every file under the artifact store, and every row of the database: what a refused registration must leave as it was. */
async function state(): Promise<unknown> {
  await app.predictionLog.flush();
  return { files: fs.readdirSync(app.config.artifactsDir, { recursive: true }).sort(), db: dumpTables(app.config.dbPath) };
}

describe('a classifier that ends in a ZipMap (skl2onnx, onnxmltools and CatBoost defaults)', () => {
  it('is served through its probability tensor; the registry keeps the given file and records the graph derived', async () => {
    const given = exported('sklearn_string_labels.onnx');
    const reg = await ok<Registered>(client, 'register_model', { name: 'zipmapped', artifact_path: given });
    const { model } = reg;
    expect(model.artifact_sha256).toBe(sha256(given));
    expect(model.artifact_bytes).toBe(fs.statSync(given).size);
    expect(model.signature.class_labels).toEqual(['bronze', 'gold', 'silver']);
    const tensor = String(model.signature.serving!.derivation[0].tensor);
    // The graph served answers the tensor that fed the ZipMap in place of output_probability.
    expect(model.signature.outputs.map((o) => [o.name, o.type])).toEqual([
      ['output_label', 'string'],
      [tensor, 'float32'],
    ]);
    const serving = model.signature.serving!;
    expect(serving.derivation).toEqual([{ kind: 'zipmap_removed', output: 'output_probability', tensor: tensor }]);
    expect(serving.sha256).not.toBe(model.artifact_sha256);
    // Both files are in the content-addressed store, each under its own sha256.
    expect(sha256(app.artifacts.pathFor(model.artifact_sha256))).toBe(model.artifact_sha256);
    expect(sha256(app.artifacts.pathFor(serving.sha256))).toBe(serving.sha256);

    const want = expected('sklearn_string_labels');
    const p = await ok<{ prediction: string; probabilities: Record<string, number> }>(client, 'predict', { name: 'zipmapped', version: 'v1', features: rows[0] });
    expect(p.prediction).toBe(want.predictions[0]);
    for (const [label, probs] of Object.entries(want.probabilities!)) expect(Math.abs(p.probabilities[label] - probs[0])).toBeLessThanOrEqual(1e-5);

    const card = await client.readResource({ uri: 'models://zipmapped/v1' });
    const markdown = (card.contents[0] as { text: string }).text;
    expect(markdown).toContain(`The artifact \`${model.artifact_sha256}\` is the file given, byte for byte.`);
    expect(markdown).toContain(`onnxruntime serves a graph derived from it, \`${serving.sha256}\``);
    expect(markdown).toContain(`ZipMap output "output_probability" answered as its probability tensor "${tensor}"`);
    const got = await call(client, 'get_model', { name: 'zipmapped' });
    expect(text(got)).toContain('served: ZipMap output "output_probability" answered as its probability tensor');
  });

  it('keeps the derived graph while its artifact is registered, across a restart', async () => {
    const { model } = await ok<Registered>(client, 'register_model', { name: 'kept', artifact_path: exported('lightgbm_binary.onnx') });
    const served = model.signature.serving!.sha256;
    // An unreferenced artifact of any age goes; the graph derived from a registered one stays.
    app.artifacts.removeUnreferenced(app.store.referencedArtifacts(), 0);
    expect(fs.existsSync(app.artifacts.pathFor(served))).toBe(true);
    const again = createAppContext(app.config, pino({ level: 'silent' }));
    try {
      const c = await connect(again);
      const p = await ok<{ prediction: number }>(c, 'predict', { name: 'kept', version: 'v1', features: rows[0] });
      expect(p.prediction).toBe(expected('lightgbm_binary').predictions[0]);
      await c.close();
    } finally {
      await again.close();
    }
  });

  it('has health_check name a damaged derived graph, which serves only while its session stays loaded', async () => {
    const { model } = await ok<Registered>(client, 'register_model', { name: 'checked', artifact_path: exported('catboost_multiclass.onnx') });
    await ok(client, 'promote_model', { name: 'checked', version: 'v1', target_stage: 'production' });
    const healthy = await ok<{ components: Array<{ status: string; detail: string }> }>(client, 'health_check', { component: 'model_serving' });
    expect(healthy.components[0].status).toBe('healthy');
    const served = app.artifacts.pathFor(model.signature.serving!.sha256);
    const bytes = fs.readFileSync(served);
    fs.rmSync(served);
    try {
      const sick = await ok<{ components: Array<{ status: string; detail: string }> }>(client, 'health_check', { component: 'model_serving' });
      expect(sick.components[0].status).toBe('unhealthy');
      expect(sick.components[0].detail).toContain(`checked v1: the graph derived from its artifact for serving (${model.signature.serving!.sha256.slice(0, 12)}) is missing`);
    } finally {
      fs.writeFileSync(served, bytes);
    }
  });

  it('registers nothing and stores nothing in a dry run', async () => {
    const before = await state();
    const r = await ok<Registered & { dry_run: boolean }>(client, 'register_model', { name: 'dry', artifact_path: exported('catboost_binary.onnx'), dry_run: true });
    expect(r.dry_run).toBe(true);
    expect(r.model.signature.serving?.derivation[0]).toMatchObject({ kind: 'zipmap_removed' });
    expect(await state()).toEqual(before);
  });
});
