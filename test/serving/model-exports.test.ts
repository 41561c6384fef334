import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppContext, type AppContext } from '../../src/context.js';
import { inlineExternalWeights } from '../../src/registry/external-data.js';
import { findExternalTensor } from '../../src/serving/onnx-proto.js';
import { pino } from 'pino';
import { call, connect, dumpTables, errorCode, fixture, ok, readCsvRows, tempDir, testApp, text } from '../helpers.js';
import { ld, str, vi } from '../protobuf.js';

/** Models as their libraries export them by default (fixtures/exports, tools/make-export-fixtures.py). */
const exported = (file: string) => fixture(path.join('exports', file));
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const rows = readCsvRows(exported('data.csv')).map((r) => Object.values(r));
const expected = (name: string) =>
  JSON.parse(fs.readFileSync(exported(`${name}.expected.json`), 'utf8')) as {
    predictions: Array<number | string | number[]>;
    probabilities: Record<string, number[]> | null;
  };

interface Signature {
  outputs: Array<{ name: string; type: string; shape: unknown }>;
  class_labels: string[] | null;
  task: string;
  scores: { output: string; kind: string } | null;
  target_names: string[] | null;
  serving: { sha256: string; bytes: number; derivation: Array<Record<string, unknown>> } | null;
}
interface Registered {
  model: { version: string; artifact_sha256: string; artifact_bytes: number; signature: Signature };
}
interface Batch {
  predictions: Array<number | string | number[]>;
  probabilities: Record<string, number[]> | null;
  target_names: string[] | null;
}

const maxDiff = (a: readonly number[], b: readonly number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

let app: AppContext;
let work: string;
let client: Client;

beforeAll(async () => {
  ({ app, work } = await testApp());
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

async function expectRefused(args: Record<string, unknown>, code: string, message: RegExp): Promise<string> {
  const before = await state();
  const r = await call(client, 'register_model', args);
  expect(errorCode(r), text(r)).toBe(code);
  expect(text(r)).toMatch(message);
  expect(await state()).toEqual(before);
  return text(r);
}

describe('a classifier that ends in a ZipMap (skl2onnx, onnxmltools and CatBoost defaults)', () => {
  it('is served through its probability tensor; the registry keeps the given file and records the graph derived', async () => {
    const given = exported('sklearn_string_labels.onnx');
    const reg = await ok<Registered>(client, 'register_model', { name: 'zipmapped', artifact_path: given });
    const { model } = reg;
    expect(model.artifact_sha256).toBe(sha256(given));
    expect(model.artifact_bytes).toBe(fs.statSync(given).size);
    expect(model.signature.task).toBe('classification');
    expect(model.signature.class_labels).toEqual(['bronze', 'gold', 'silver']);
    // The graph served answers the tensor that fed the ZipMap in place of output_probability.
    expect(model.signature.outputs.map((o) => [o.name, o.type])).toEqual([
      ['output_label', 'string'],
      [model.signature.scores!.output, 'float32'],
    ]);
    const serving = model.signature.serving!;
    expect(serving.derivation).toEqual([{ kind: 'zipmap_removed', output: 'output_probability', tensor: model.signature.scores!.output }]);
    expect(serving.sha256).not.toBe(model.artifact_sha256);
    // Both files are in the content-addressed store, each under its own sha256.
    expect(sha256(app.artifacts.pathFor(model.artifact_sha256))).toBe(model.artifact_sha256);
    expect(sha256(app.artifacts.pathFor(serving.sha256))).toBe(serving.sha256);

    const want = expected('sklearn_string_labels');
    const p = await ok<{ prediction: string; probabilities: Record<string, number> }>(client, 'predict', {
      name: 'zipmapped',
      version: 'v1',
      features: rows[0],
    });
    expect(p.prediction).toBe(want.predictions[0]);
    for (const [label, probs] of Object.entries(want.probabilities!)) expect(Math.abs(p.probabilities[label] - probs[0])).toBeLessThanOrEqual(1e-5);

    const card = await client.readResource({ uri: 'models://zipmapped/v1' });
    const markdown = (card.contents[0] as { text: string }).text;
    expect(markdown).toContain(`The artifact \`${model.artifact_sha256}\` is the file given, byte for byte.`);
    expect(markdown).toContain(`onnxruntime serves a graph derived from it, \`${serving.sha256}\``);
    expect(markdown).toContain(`ZipMap output "output_probability" answered as its probability tensor "${model.signature.scores!.output}"`);
    const got = await call(client, 'get_model', { name: 'zipmapped' });
    expect(text(got)).toContain('served: ZipMap output "output_probability" answered as its probability tensor');
  });

  it('keeps the derived graph while its artifact is registered, across a restart', async () => {
    const { model } = await ok<Registered>(client, 'register_model', { name: 'kept', artifact_path: exported('lightgbm_binary.onnx') });
    const served = model.signature.serving!.sha256;
    // An unreferenced artifact of any age goes; the graph derived from a registered one stays.
    app.artifacts.removeUnreferenced(await app.store.registry.referencedArtifacts(), 0);
    expect(fs.existsSync(app.artifacts.pathFor(served))).toBe(true);
    const again = await createAppContext(app.config, pino({ level: 'silent' }));
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
      expect(sick.components[0].detail).toContain(
        `checked v1: the graph derived from its artifact for serving (${model.signature.serving!.sha256.slice(0, 12)}) is missing`,
      );
    } finally {
      fs.writeFileSync(served, bytes);
    }
  });

  it('registers nothing and stores nothing in a dry run', async () => {
    const before = await state();
    const r = await ok<Registered & { dry_run: boolean }>(client, 'register_model', {
      name: 'dry',
      artifact_path: exported('catboost_binary.onnx'),
      dry_run: true,
    });
    expect(r.dry_run).toBe(true);
    expect(r.model.signature.serving?.derivation[0]).toMatchObject({ kind: 'zipmap_removed' });
    expect(await state()).toEqual(before);
  });
});

describe("a model whose weights are stored as external data (PyTorch's default export)", () => {
  const copyModel = (dir: string, name = 'torch_default') => {
    fs.mkdirSync(path.join(work, dir), { recursive: true });
    for (const f of [`${name}.onnx`, `${name}.onnx.data`]) fs.copyFileSync(exported(f), path.join(work, dir, f));
    return path.join(work, dir, `${name}.onnx`);
  };

  it('is stored self-contained, the data files beside it inlined, and served without them', async () => {
    const given = copyModel('torch');
    const { model } = await ok<Registered>(client, 'register_model', { name: 'torch_net', artifact_path: given });
    expect(model.signature.serving!.derivation).toEqual([
      {
        kind: 'external_data_inlined',
        source_sha256: sha256(given),
        source_bytes: fs.statSync(given).size,
        files: [{ location: 'torch_default.onnx.data', bytes: 2880 }],
      },
    ]);
    expect(model.signature.serving!.sha256).toBe(model.artifact_sha256);
    const stored = new Uint8Array(fs.readFileSync(app.artifacts.pathFor(model.artifact_sha256)));
    expect(findExternalTensor(stored)).toBeNull();
    expect(model.artifact_bytes).toBe(stored.length);
    // The stored model carries the weights: the files given can go.
    fs.rmSync(path.join(work, 'torch'), { recursive: true });
    const b = await ok<Batch>(client, 'batch_predict', { name: 'torch_net', version: 'v1', rows });
    expect(maxDiff(b.predictions as number[], expected('torch_default').predictions as number[])).toBeLessThanOrEqual(1e-5);
  });

  it('is refused when a data file is not beside it, leads out through a symlink, is short, or is over the size limit', async () => {
    const missing = copyModel('missing');
    fs.rmSync(`${missing}.data`);
    await expectRefused(
      { name: 'ext', artifact_path: missing },
      'invalid_model',
      /stores tensor "[^"]+" as external data \(location "torch_default.onnx.data"\), and no such file lies beside it.*external_data=False/,
    );

    // A symlink to a file in another allowed directory, and to one outside them all.
    const other = path.join(work, 'elsewhere');
    fs.mkdirSync(other);
    fs.copyFileSync(exported('torch_default.onnx.data'), path.join(other, 'weights.data'));
    const outside = path.join(tempDir(), 'weights.data');
    fs.copyFileSync(exported('torch_default.onnx.data'), outside);
    for (const [dir, target] of [
      ['out-allowed', path.join(other, 'weights.data')],
      ['out-all', outside],
    ]) {
      const model = copyModel(dir);
      fs.rmSync(`${model}.data`);
      fs.symlinkSync(target, `${model}.data`);
      await expectRefused(
        { name: 'ext', artifact_path: model },
        'invalid_model',
        /\(location "torch_default.onnx.data"\), and that file leads out of the model's directory \(a symlink\).*external_data=False/,
      );
    }

    const short = copyModel('short');
    fs.truncateSync(`${short}.data`, 1000);
    await expectRefused({ name: 'ext', artifact_path: short }, 'invalid_model', /bytes \d+–\d+ of it, beyond the end of that 1000-byte file/);
  });

  it('is refused past MLOPS_MCP_MAX_MODEL_MB, before the data is read', async () => {
    const small = await testApp({ MLOPS_MCP_MAX_MODEL_MB: '1' });
    const c = await connect(small.app);
    try {
      // A 1.2 MB tensor in a sparse data file: nothing to read before the limit refuses it.
      const dir = path.join(small.work, 'big');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'big.onnx'), bigExternalModel(300_000, 'big.data'));
      fs.writeFileSync(path.join(dir, 'big.data'), '');
      fs.truncateSync(path.join(dir, 'big.data'), 300_000 * 4);
      const r = await call(c, 'register_model', { name: 'big', artifact_path: path.join(dir, 'big.onnx') });
      expect(errorCode(r), text(r)).toBe('invalid_model');
      expect(text(r)).toMatch(/with its external data inlined would be 1\.1 MiB, over the limit of 1 MiB \(MLOPS_MCP_MAX_MODEL_MB\)/);
    } finally {
      await c.close();
      await small.app.close();
    }
  });

  it('is refused from an MLflow import, which is one file', async () => {
    const bytes = new Uint8Array(fs.readFileSync(exported('torch_default.onnx')));
    await expect(inlineExternalWeights(bytes, null, 2 ** 30, 'mlflow_model_uri "models:/net/1"', app.checks)).rejects.toThrow(
      /^mlflow_model_uri "models:\/net\/1" stores tensor "[^"]+" as external data \(location "torch_default.onnx.data"\), and an import is one file; .*external_data=False/,
    );
  });

  it("stays refused outside the main graph's initializers, even with the file it names beside it", async () => {
    const dir = path.join(work, 'nested');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'secret.bin'), 'password=hunter2');
    for (const [file, tensor] of [
      ['external-constant-attr.onnx', 'C'],
      ['external-if-subgraph.onnx', 'W'],
      ['external-sparse.onnx', 'S_values'],
      ['external-function.onnx', 'F'],
    ]) {
      fs.copyFileSync(fixture(path.join('hostile', file)), path.join(dir, file));
      const message = await expectRefused(
        { name: 'nested', artifact_path: path.join(dir, file) },
        'invalid_model',
        new RegExp(
          `stores tensor "${tensor}" as external data \\(location "secret.bin"\\): only the main graph's initializers may keep their data outside the file`,
        ),
      );
      expect(message).not.toContain('hunter2');
    }
  });
});

/** ModelProto{ir 8, opset 13, graph{Identity(W) → Y; W float[n] stored as external data in `location`}}, by hand on the wire. */
function bigExternalModel(n: number, location: string): Uint8Array {
  const entry = (k: string, v: string) => ld(13, [...ld(1, str(k)), ...ld(2, str(v))]);
  const tensor = [
    ...vi(1, n),
    ...vi(2, 1),
    ...ld(8, str('W')),
    ...entry('location', location),
    ...entry('offset', '0'),
    ...entry('length', String(4 * n)),
    ...vi(14, 1),
  ];
  const node = [...ld(1, str('W')), ...ld(2, str('Y')), ...ld(4, str('Identity'))];
  // ValueInfoProto{name, type{tensor_type{elem_type FLOAT, shape{dim{dim_value n}}}}}
  const output = ld(12, [...ld(1, str('Y')), ...ld(2, ld(1, [...vi(1, 1), ...ld(2, ld(1, vi(1, n)))]))]);
  const graph = [...ld(1, node), ...ld(2, str('g')), ...ld(5, tensor), ...output];
  return new Uint8Array([...vi(1, 8), ...ld(7, graph), ...ld(8, vi(2, 13))]);
}

describe("a model exported with its batch dimension fixed (PyTorch's default export of one example row)", () => {
  it('is served one row per run for batches and multi-row requests', async () => {
    const dir = path.join(work, 'fixed');
    fs.mkdirSync(dir);
    for (const f of ['torch_default.onnx', 'torch_default.onnx.data']) fs.copyFileSync(exported(f), path.join(dir, f));
    const { model } = await ok<Registered & { model: { signature: { inputs: Array<{ shape: unknown }> } } }>(client, 'register_model', {
      name: 'fixed',
      artifact_path: path.join(dir, 'torch_default.onnx'),
    });
    expect((model.signature as unknown as { inputs: Array<{ shape: unknown }> }).inputs[0].shape).toEqual([1, 6]);
    const b = await ok<Batch>(client, 'batch_predict', { name: 'fixed', version: 'v1', rows: rows.slice(0, 50) });
    expect(maxDiff(b.predictions as number[], (expected('torch_default').predictions as number[]).slice(0, 50))).toBeLessThanOrEqual(1e-5);
  });

  it("keeps onnxruntime's explanation when a run fails, as invalid_model", async () => {
    // A version whose recorded input shape says any batch while the graph takes one row (as a
    // hand-edited signature could): onnxruntime refuses the run of three rows.
    const db = new Database(app.config.dbPath);
    const row = db.prepare("SELECT signature FROM model_versions WHERE model_name = 'fixed' AND version = 'v1'").get() as { signature: string };
    const signature = JSON.parse(row.signature) as { inputs: Array<{ shape: unknown[] }> };
    signature.inputs[0].shape = ['batch', 6];
    db.prepare("UPDATE model_versions SET signature = ? WHERE model_name = 'fixed' AND version = 'v1'").run(JSON.stringify(signature));
    db.close();
    await new Promise((resolve) => setTimeout(resolve, 60));
    const r = await call(client, 'batch_predict', { name: 'fixed', version: 'v1', rows: rows.slice(0, 3) });
    expect(errorCode(r), text(r)).toBe('invalid_model');
    expect(text(r)).toMatch(
      /fixed v1 failed to run in onnxruntime on this input \(Got invalid dimensions for input: input for the following indices index: 0 Got: 3 Expected: 1/,
    );
  });

  it('is refused at registration when fixed to more rows than one, saying how to export it', async () => {
    await expectRefused(
      { name: 'batch4', artifact_path: exported('torch_batch4.onnx') },
      'invalid_model',
      /takes exactly 4 rows at a time \(input "input" has its batch dimension fixed\).*dynamic_axes=\{"input": \{0: "batch"\}\}/,
    );
  });
});

describe('outputs read for what they are', () => {
  it('answers k values per row for a [N, k] regressor, named when the model names them', async () => {
    const { model } = await ok<Registered>(client, 'register_model', { name: 'two_targets', artifact_path: exported('sklearn_two_targets.onnx') });
    expect(model.signature).toMatchObject({ task: 'regression', scores: null, target_names: null });
    const b = await ok<Batch>(client, 'batch_predict', { name: 'two_targets', version: 'v1', rows });
    expect(b.probabilities).toBeNull();
    const want = expected('sklearn_two_targets').predictions as number[][];
    expect(maxDiff((b.predictions as number[][]).flat(), want.flat())).toBeLessThanOrEqual(1e-5);

    // The same model with a target_names metadata property (a ModelProto field 14 appended).
    const named = path.join(work, 'named_targets.onnx');
    fs.writeFileSync(named, Buffer.concat([fs.readFileSync(exported('sklearn_two_targets.onnx')), metadataProp('target_names', '["points", "rebounds"]')]));
    const reg = await ok<Registered>(client, 'register_model', { name: 'named_targets', artifact_path: named });
    expect(reg.model.signature.target_names).toEqual(['points', 'rebounds']);
    const p = await call(client, 'predict', { name: 'named_targets', version: 'v1', features: rows[0] });
    expect(p.structuredContent).toMatchObject({ target_names: ['points', 'rebounds'], probabilities: null });
    expect(text(p)).toMatch(/\(points -?\d+(\.\d+)?, rebounds -?\d+(\.\d+)?\)/);
  });

  it("reads a network's logits as logits only when registration says so", async () => {
    const dir = path.join(work, 'logits');
    fs.mkdirSync(dir);
    for (const f of ['torch_logits.onnx', 'torch_logits.onnx.data']) fs.copyFileSync(exported(f), path.join(dir, f));
    const given = path.join(dir, 'torch_logits.onnx');
    // Without a word from registration: three values per row, not "probabilities".
    const plain = await ok<Registered>(client, 'register_model', { name: 'net', artifact_path: given });
    expect(plain.model.signature).toMatchObject({ task: 'regression', scores: null });
    const asValues = await ok<Batch>(client, 'batch_predict', { name: 'net', version: 'v1', rows: rows.slice(0, 3) });
    expect(asValues.probabilities).toBeNull();
    expect((asValues.predictions[0] as number[]).length).toBe(3);

    await expectRefused(
      { name: 'net', artifact_path: given, task: 'classification' },
      'invalid_argument',
      /say what its output "linear_2" holds, with output: "probabilities" \(each row sums to 1\) or "logits"/,
    );
    const reg = await call(client, 'register_model', { name: 'net', artifact_path: given, task: 'classification', output: 'logits' });
    expect(text(reg)).toContain('Read as a classifier: probabilities by softmax of the logits in output "linear_2"');
    const b = await ok<Batch>(client, 'batch_predict', { name: 'net', version: 'v2', rows });
    const want = expected('torch_logits');
    expect(b.predictions).toEqual(want.predictions);
    for (const [label, probs] of Object.entries(want.probabilities!)) expect(maxDiff(b.probabilities![label], probs)).toBeLessThanOrEqual(1e-5);
    const card = await client.readResource({ uri: 'models://net/v2' });
    expect((card.contents[0] as { text: string }).text).toContain('Read as a classifier: probabilities by softmax of the logits in output "linear_2".');
  });

  it('reads one score column as the positive class: a logit through the logistic function', async () => {
    // A float [N, 1] output, said to be logits: p(1) = 1 / (1 + e^-score), p(0) = 1 - p(1).
    const { model } = await ok<Registered>(client, 'register_model', {
      name: 'one_logit',
      artifact_path: exported('sklearn_regressor.onnx'),
      task: 'classification',
      output: 'logits',
    });
    expect(model.signature.scores).toEqual({ output: 'variable', kind: 'logits' });
    const b = await ok<Batch>(client, 'batch_predict', { name: 'one_logit', version: 'v1', rows });
    const scores = expected('sklearn_regressor').predictions as number[];
    const p1 = scores.map((z) => 1 / (1 + Math.exp(-z)));
    expect(maxDiff(b.probabilities!['1'], p1)).toBeLessThanOrEqual(1e-5);
    expect(
      maxDiff(
        b.probabilities!['0'],
        p1.map((p) => 1 - p),
      ),
    ).toBeLessThanOrEqual(1e-5);
    expect(b.predictions).toEqual(p1.map((p) => (p > 0.5 ? 1 : 0)));
  });

  it('reads an output computed by Softmax as probabilities without being told', async () => {
    const file = path.join(work, 'softmax.onnx');
    fs.writeFileSync(file, softmaxModel(3));
    const { model } = await ok<Registered>(client, 'register_model', { name: 'softmax', artifact_path: file, task: 'classification' });
    expect(model.signature.scores).toEqual({ output: 'Y', kind: 'probabilities' });
    const p = await ok<{ prediction: number; probabilities: Record<string, number> }>(client, 'predict', {
      name: 'softmax',
      version: 'v1',
      features: [1, 2, 3],
    });
    const e = [1, 2, 3].map((z) => Math.exp(z - 3));
    const sum = e.reduce((a, b) => a + b);
    expect(p.prediction).toBe(2);
    e.forEach((x, i) => expect(Math.abs(p.probabilities[String(i)] - x / sum)).toBeLessThanOrEqual(1e-6));
  });

  it('refuses task "regression" for a graph with class labels, and output for a regressor', async () => {
    await expectRefused(
      { name: 'wrong', artifact_path: exported('sklearn_binary.onnx'), task: 'regression' },
      'invalid_argument',
      /is a classifier: its graph names class labels \(0, 1\)\. Leave task out, or say "classification"/,
    );
    await expectRefused(
      { name: 'wrong', artifact_path: exported('sklearn_regressor.onnx'), task: 'regression', output: 'logits' },
      'invalid_argument',
      /leave it out for task "regression"/,
    );
  });
});

/** ModelProto{ir 8, opset 13, graph{Softmax(X) → Y}}, X and Y float [N, c]. */
function softmaxModel(c: number): Uint8Array {
  const type = ld(2, ld(1, [...vi(1, 1), ...ld(2, [...ld(1, ld(2, str('N'))), ...ld(1, vi(1, c))])]));
  const graph = [
    ...ld(1, [...ld(1, str('X')), ...ld(2, str('Y')), ...ld(4, str('Softmax'))]),
    ...ld(2, str('g')),
    ...ld(11, [...ld(1, str('X')), ...type]),
    ...ld(12, [...ld(1, str('Y')), ...type]),
  ];
  return new Uint8Array([...vi(1, 8), ...ld(7, graph), ...ld(8, vi(2, 13))]);
}

/** A ModelProto metadata_props entry (field 14), to append to a model's bytes (protobuf reads fields in any order). */
const metadataProp = (key: string, value: string) => Buffer.from(ld(14, [...ld(1, str(key)), ...ld(2, str(value))]));
