import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExternalDataSpecError, externalInitializers, inlineExternalData } from '../../src/serving/onnx-external.js';
import { findExternalTensor, readOnnxModelInfo } from '../../src/serving/onnx-proto.js';
import { splitFields, stringField } from '../../src/serving/onnx-wire.js';
import { removeZipMaps, ZipMapRewriteError } from '../../src/serving/onnx-zipmap.js';
import { onnxruntimeMessage } from '../../src/serving/runtime.js';
import { fixture } from '../helpers.js';
import { ld, str, vi } from '../protobuf.js';

const read = (file: string) => new Uint8Array(fs.readFileSync(fixture(file)));
const graphOf = (model: Uint8Array) => splitFields(splitFields(model).find((f) => f.field === 7)!.payload);
const opTypes = (model: Uint8Array) =>
  graphOf(model)
    .filter((f) => f.field === 1)
    .map((f) => stringField(splitFields(f.payload), 4));
const outputNames = (model: Uint8Array) =>
  graphOf(model)
    .filter((f) => f.field === 12)
    .map((f) => stringField(splitFields(f.payload), 1));

/** NodeProto{input…, output…, op_type, domain, attribute classlabels_int64s} */
const node = (op: string, inputs: string[], outputs: string[], extra: number[] = []) =>
  ld(1, [...inputs.flatMap((i) => ld(1, str(i))), ...outputs.flatMap((o) => ld(2, str(o))), ...ld(4, str(op)), ...extra]);
const zipMapNode = (inputs: string[], outputs: string[], labels = [0, 1]) =>
  node('ZipMap', inputs, outputs, [
    ...ld(7, str('ai.onnx.ml')),
    ...(labels.length ? ld(5, [...ld(1, str('classlabels_int64s')), ...labels.flatMap((l) => vi(8, l)), ...vi(20, 7)]) : []),
  ]);
const model = (...nodes: number[][]) => new Uint8Array([...vi(1, 8), ...ld(7, [...nodes.flat(), ...ld(12, ld(1, str('Y')))])]);

describe('removeZipMaps', () => {
  it('takes the ZipMap out of a skl2onnx classifier and answers the probability tensor in its place, every other byte kept', () => {
    const given = read('test-models/win_zipmap.onnx');
    const r = removeZipMaps(given)!;
    expect(r.replaced).toEqual([{ output: 'output_probability', tensor: 'probabilities', classes: 2 }]);
    expect(opTypes(given)).toContain('ZipMap');
    expect(opTypes(r.bytes)).toEqual(opTypes(given).filter((op) => op !== 'ZipMap'));
    expect(outputNames(r.bytes)).toEqual(['output_label', 'probabilities']);
    // Header, opsets, metadata and class labels are what they were.
    const [before, after] = [readOnnxModelInfo(given), readOnnxModelInfo(r.bytes)];
    expect({ ...after, outputOps: null }).toEqual({ ...before, outputOps: null });
    expect(r.bytes.length).toBeLessThan(given.length);
  });

  it('leaves a graph without ZipMap alone', () => {
    expect(removeZipMaps(read('nba_win_predictor_v1.5.onnx'))).toBeNull();
  });

  it('refuses a ZipMap whose output another node reads, one with two inputs, and one without class labels', () => {
    expect(() => removeZipMaps(model(zipMapNode(['X'], ['Z']), node('Identity', ['Z'], ['Y'])))).toThrow(
      new ZipMapRewriteError('the output "Z" of a ZipMap node is read by node "Identity", so the ZipMap cannot be left out'),
    );
    expect(() => removeZipMaps(model(zipMapNode(['X', 'X2'], ['Y'])))).toThrow(/has 2 inputs and 1 outputs/);
    expect(() => removeZipMaps(model(zipMapNode(['X'], ['Y'], [])))).toThrow(/names no class labels/);
  });
});

describe('externalInitializers and inlineExternalData', () => {
  const torch = read('exports/torch_default.onnx');
  const data = fs.readFileSync(fixture('exports/torch_default.onnx.data'));

  it('list the main graph initializers PyTorch stored beside the model, and put their bytes back inside', () => {
    const refs = externalInitializers(torch);
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.every((r) => r.location === 'torch_default.onnx.data')).toBe(true);
    expect(refs.reduce((n, r) => n + (r.length ?? 0), 0)).toBe(data.length);
    const inlined = inlineExternalData(
      torch,
      refs.map((r) => data.subarray(r.offset, r.offset + (r.length ?? 0))),
    );
    expect(findExternalTensor(inlined)).toBeNull();
    expect(externalInitializers(inlined)).toEqual([]);
    expect(inlined.length).toBeGreaterThan(torch.length + data.length - 200);
    // Graph and header unchanged.
    expect(readOnnxModelInfo(inlined)).toEqual(readOnnxModelInfo(torch));
    expect(opTypes(inlined)).toEqual(opTypes(torch));
  });

  it('refuse a declaration that cannot be honoured', () => {
    const entry = (k: string, v: string) => ld(13, [...ld(1, str(k)), ...ld(2, str(v))]);
    const withTensor = (tensor: number[]) => new Uint8Array([...vi(1, 8), ...ld(7, ld(5, tensor))]);
    const w = [...vi(1, 4), ...vi(2, 1), ...ld(8, str('W'))];
    expect(() => externalInitializers(withTensor([...w, ...entry('location', 'w.bin'), ...entry('length', '12'), ...vi(14, 1)]))).toThrow(
      new ExternalDataSpecError('stores tensor "W" as external data (location "w.bin"), 12 bytes of it, where its shape and type take 16'),
    );
    expect(() => externalInitializers(withTensor([...w, ...entry('location', 'w.bin'), ...entry('offset', '-4'), ...vi(14, 1)]))).toThrow(
      /external_data offset "-4", not a byte count/,
    );
    expect(() => externalInitializers(withTensor([...w, ...vi(14, 1)]))).toThrow(/stores tensor "W" as external data but names no location/);
    const strings = [...vi(1, 1), ...vi(2, 8), ...ld(8, str('S')), ...entry('location', 's.bin'), ...vi(14, 1)];
    expect(() => externalInitializers(withTensor(strings))).toThrow(/holds strings/);
  });

  it("leave the hostile fixtures' nested external tensors refused", () => {
    for (const f of ['external-constant-attr.onnx', 'external-if-subgraph.onnx', 'external-sparse.onnx', 'external-function.onnx']) {
      expect(() => externalInitializers(read(path.join('hostile', f))), f).toThrow(/stores tensor "[^"]+" as external data \(location "secret.bin"\)/);
    }
  });
});

describe('onnxruntimeMessage', () => {
  it('keeps the lines that explain the error, without build paths or raw bytes', () => {
    const e = new Error(
      'Got invalid dimensions for input: input for the following indices\n index: 0 Got: 3 Expected: 1\n Please fix either the inputs/outputs or the model.',
    );
    expect(onnxruntimeMessage(e)).toBe(
      'Got invalid dimensions for input: input for the following indices index: 0 Got: 3 Expected: 1 Please fix either the inputs/outputs or the model.',
    );
    expect(onnxruntimeMessage(new Error('/onnxruntime_src/onnxruntime/core/x.cc:12 bad \u0001\u0002 thing\nsecond'))).toBe('bad ? thing second');
  });
});
