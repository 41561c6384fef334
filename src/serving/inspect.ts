import fs from 'node:fs/promises';
import { DomainError } from '../errors.js';
import type { ModelSignature, TensorSpec } from '../registry/types.js';
import { ExternalDataError, findExternalTensor, OnnxNestingError, readOnnxModelInfo, type ExternalTensor, type OnnxModelInfo } from './onnx-proto.js';
import { onnxruntimeMessage, type OnnxRuntime } from './runtime.js';

export interface OnnxInspection {
  signature: ModelSignature;
  info: OnnxModelInfo;
  /** Feature names from the model's `feature_names` metadata property (a JSON list), if any. */
  metadataFeatureNames: string[] | null;
}

/**
 * Proves a file is an ONNX model onnxruntime can run and reads its signature: parse the
 * ModelProto header (clear error for a file that is not ONNX at all), then load it once in
 * onnxruntime-node (clear error for a model it cannot load).
 */
export async function inspectOnnxModel(file: string, ort: OnnxRuntime, displayName: string): Promise<OnnxInspection> {
  const bytes = await fs.readFile(file);
  let info: OnnxModelInfo;
  let external: ExternalTensor | null;
  try {
    info = readOnnxModelInfo(bytes);
    external = findExternalTensor(bytes);
  } catch (e) {
    throw notOnnx(displayName, e instanceof OnnxNestingError ? e.message : 'it is not a protobuf ONNX ModelProto');
  }
  if (!info.hasGraph || info.irVersion === 0) throw notOnnx(displayName, 'it has no ONNX graph');
  // Before onnxruntime sees the bytes: it would read the external file (see findExternalTensor).
  if (external) {
    throw new DomainError(
      'invalid_model',
      `${displayName} ${new ExternalDataError(external).message}; mlops-mcp registers self-contained models only: re-export with the weights inside the file (onnx.save_model(model, path, save_as_external_data=False)).`,
    );
  }

  let session: Awaited<ReturnType<OnnxRuntime['InferenceSession']['create']>>;
  try {
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (e) {
    throw notOnnx(displayName, `onnxruntime could not load it (${onnxruntimeMessage(e)})`);
  }
  try {
    const signature: ModelSignature = {
      inputs: session.inputMetadata.map(toSpec),
      outputs: session.outputMetadata.map(toSpec),
      classLabels: info.classLabels,
    };
    const nonTensor = signature.outputs.find((o) => o.type === 'non-tensor');
    if (nonTensor) {
      // onnxruntime-node cannot return maps or sequences (ZipMap's output): refuse now, not at the first predict.
      throw new DomainError(
        'invalid_model',
        `${displayName} has output "${nonTensor.name}" that is not a tensor (a ZipMap sequence of maps, as skl2onnx exports classifiers by default); onnxruntime-node cannot return it. Re-export with options={id(model): {"zipmap": False}} so probabilities come as a tensor.`,
      );
    }
    return { signature, info, metadataFeatureNames: parseFeatureNames(info.metadata.get('feature_names'), displayName) };
  } finally {
    await session.release();
  }
}

function toSpec(m: OnnxRuntimeValueMetadata): TensorSpec {
  if (!m.isTensor) return { name: m.name, type: 'non-tensor', shape: null };
  // onnxruntime reports an unnamed symbolic dimension (the batch, usually) as ''.
  return { name: m.name, type: m.type, shape: m.shape.length ? m.shape.map((d) => (d === '' ? '?' : d)) : null };
}

type OnnxRuntimeValueMetadata = Awaited<ReturnType<OnnxRuntime['InferenceSession']['create']>>['inputMetadata'][number];

function parseFeatureNames(raw: string | undefined, displayName: string): string[] | null {
  if (raw === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((f) => typeof f === 'string')) {
    throw new DomainError(
      'invalid_model',
      `${displayName} has a feature_names metadata property that is not a JSON list of strings; fix the export or pass feature_names explicitly.`,
    );
  }
  return parsed as string[];
}

const notOnnx = (displayName: string, why: string) =>
  new DomainError('invalid_model', `${displayName} is not a usable ONNX model: ${why}. Export the model to ONNX (e.g. skl2onnx, torch.onnx) and register the .onnx file.`);
