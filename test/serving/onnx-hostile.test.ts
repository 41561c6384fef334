import fs from 'node:fs';
import Database from 'better-sqlite3';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { findExternalTensor, MAX_GRAPH_DEPTH, OnnxNestingError } from '../../src/serving/onnx-proto.js';
import { call, connect, dumpTables, errorCode, fixture, ok, testApp, text } from '../helpers.js';
import { ld, str, vi } from '../protobuf.js';

/** fixtures/hostile/ (tools/make-hostile-onnx.py): the tensor each stores as external data, and where. */
const EXTERNAL: Array<[file: string, tensor: string, location: string]> = [
  ['external-absolute.onnx', 'W', '/etc/hostname'],
  ['external-dotdot.onnx', 'W', '../../../../../../etc/hostname'],
  ['external-relative.onnx', 'W', 'secret.bin'],
  ['external-constant-attr.onnx', 'C', 'secret.bin'],
  ['external-if-subgraph.onnx', 'W', 'secret.bin'],
  ['external-sparse.onnx', 'S_values', 'secret.bin'],
  ['external-function.onnx', 'F', 'secret.bin'],
  ['external-flag-only.onnx', 'W', ''],
];
const hostile = (name: string) => fixture(path.join('hostile', name));
const read = (file: string) => new Uint8Array(fs.readFileSync(file));

/** ModelProto{ir_version 8, graph{initializer: tensor}} */
const modelWithInitializer = (tensor: number[]) => new Uint8Array([...vi(1, 8n), ...ld(7, ld(5, tensor))]);

describe('findExternalTensor (the ModelProto walk)', () => {
  it.each(EXTERNAL)('%s: finds tensor %j at location %j', (file, tensor, location) => {
    expect(findExternalTensor(read(hostile(file)))).toEqual({ tensor, location });
  });

  it('finds nothing in the self-contained demo and test models', () => {
    const files = [
      ...fs.readdirSync(fixture('.')).filter((f) => f.endsWith('.onnx')),
      ...fs.readdirSync(fixture('test-models')).map((f) => path.join('test-models', f)),
    ];
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) expect(findExternalTensor(read(fixture(f))), f).toBeNull();
  });

  it(`refuses subgraphs nested more than ${MAX_GRAPH_DEPTH} deep`, () => {
    expect(() => findExternalTensor(read(hostile('deep-subgraphs.onnx')))).toThrow(OnnxNestingError);
  });

  it('reads data_location as protobuf does: any non-zero value, including one that truncates to EXTERNAL', () => {
    const named = ld(8, str('W'));
    expect(findExternalTensor(modelWithInitializer([...named, ...vi(14, 1n)]))).toEqual({ tensor: 'W', location: '' });
    expect(findExternalTensor(modelWithInitializer([...named, ...vi(14, 2n ** 32n + 1n)]))).toEqual({ tensor: 'W', location: '' });
    expect(findExternalTensor(modelWithInitializer([...named, ...vi(14, 0n)]))).toBeNull();
    // external_data entries without the flag are refused too
    expect(findExternalTensor(modelWithInitializer([...named, ...ld(13, [...ld(1, str('location')), ...ld(2, str('x.bin'))])]))).toEqual({
      tensor: 'W',
      location: 'x.bin',
    });
  });

  it('throws on truncated nested messages instead of guessing', () => {
    const bytes = read(hostile('external-if-subgraph.onnx'));
    expect(() => findExternalTensor(bytes.subarray(0, bytes.length - 7))).toThrow();
  });
});

let app: AppContext;
let home: string;
let work: string;
let client: Client;

beforeAll(async () => {
  ({ app, home, work } = await testApp());
  client = await connect(app);
  await ok(client, 'register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v1.onnx'), version: 'v1' });
  await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
  // The models in a directory of their own; the file their locations name lies one level up,
  // outside it: what a location relative to another directory (onnxruntime resolves one given
  // bytes against the server's working directory) would reach. Data files beside a model are
  // inlined by design (test/serving/model-exports.test.ts).
  fs.mkdirSync(path.join(work, 'hostile'));
  for (const f of fs.readdirSync(fixture('hostile'))) fs.copyFileSync(hostile(f), path.join(work, 'hostile', f));
  fs.writeFileSync(path.join(work, 'secret.bin'), 'password=hunter2');
});
afterAll(async () => {
  await client.close();
  await app.close();
});

describe('register_model refuses hostile ONNX files and keeps serving', () => {
  const cases: Array<[file: string, message: RegExp]> = [
    ...EXTERNAL.map(([file, tensor]): [string, RegExp] => [
      file,
      new RegExp(`stores tensor "${tensor}" as external data.*registers self-contained models only.*save_as_external_data=False`),
    ]),
    ['deep-subgraphs.onnx', new RegExp(`subgraphs nest more than ${MAX_GRAPH_DEPTH} levels deep`)],
    [
      'zipmap-in-if.onnx',
      /output "Y" that is not a tensor \(a sequence or a map\), computed by its If node: no ZipMap of the main graph answers it.*convert_lightgbm\(model, initial_types=\.\.\., zipmap=False\)/,
    ],
  ];

  it.each(cases)('%s → invalid_model', async (file, message) => {
    const given = path.join(work, 'hostile', file);
    // The previous case's prediction is written by the log's timer: not during this comparison.
    await app.predictionLog.flush();
    const before = dumpTables(app.config.dbPath);
    const artifactsBefore = fs.readdirSync(app.config.artifactsDir, { recursive: true }).sort();
    const r = await call(client, 'register_model', { name: 'hostile', artifact_path: given });
    expect(r.isError, text(r)).toBe(true);
    expect(errorCode(r)).toBe('invalid_model');
    expect(text(r).startsWith('invalid_model: ')).toBe(true);
    expect(text(r)).toMatch(message);
    expect(text(r)).not.toContain('hunter2');
    // The path the caller gave is echoed; no other path of the server's shows.
    const rest = text(r).replaceAll(given, '<given>');
    for (const p of [home, work, packageRoot, os.tmpdir(), process.cwd()]) expect(rest).not.toContain(p);
    expect(dumpTables(app.config.dbPath)).toEqual(before);
    expect(fs.readdirSync(app.config.artifactsDir, { recursive: true }).sort()).toEqual(artifactsBefore);

    const served = await ok<{ version: string }>(client, 'predict', { name: 'nba_points', features: Array(10).fill(1) });
    expect(served.version).toBe('v1');
  });

  it('refuses them in a dry run too', async () => {
    const r = await call(client, 'register_model', { name: 'hostile', artifact_path: path.join(work, 'hostile', 'external-relative.onnx'), dry_run: true });
    expect(errorCode(r)).toBe('invalid_model');
  });
});

describe('a version registered before the external-data check', () => {
  it('is never loaded: predict and deploy_model fail clearly, and the rest keeps serving', async () => {
    // The state an older mlops-mcp could leave: the hostile file stored under its sha256 and a
    // version row naming it (written here as that version of the registry would have).
    fs.writeFileSync(path.join(work, 'secret.bin'), 'the server must not read this');
    const staged = await app.artifacts.stage(hostile('external-relative.onnx'));
    await app.artifacts.commit(staged);
    const db = new Database(app.config.dbPath);
    db.prepare(
      `INSERT INTO model_versions (model_name, version, seq, stage, artifact_sha256, artifact_bytes, source_path, signature, feature_names, created_at, updated_at)
       SELECT model_name, 'legacy', seq + 1, 'staging', ?, ?, NULL, signature, feature_names, created_at, updated_at FROM model_versions WHERE model_name = 'nba_points' AND version = 'v1'`,
    ).run(staged.sha256, staged.bytes);
    db.close();
    // Another connection's commit: routing looks for those at most every 50 ms.
    await new Promise((resolve) => setTimeout(resolve, 60));

    for (const [tool, args] of [
      ['predict', { name: 'nba_points', version: 'legacy', features: Array(10).fill(1) }],
      ['deploy_model', { name: 'nba_points', version: 'legacy' }],
    ] as const) {
      const r = await call(client, tool, args);
      expect(errorCode(r), text(r)).toBe('failed_precondition');
      expect(text(r)).toMatch(/nba_points legacy cannot be served: it stores tensor "W" as external data.*save_as_external_data=False/);
      expect(text(r)).not.toContain('the server must not read this');
    }
    expect((await ok<{ version: string }>(client, 'predict', { name: 'nba_points', features: Array(10).fill(1) })).version).toBe('v1');
  });
});
