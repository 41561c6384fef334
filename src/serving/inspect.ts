import { DomainError } from '../errors.js';
import type { ModelSignature, TensorSpec } from '../registry/types.js';
import { SELF_CONTAINED_ADVICE } from './onnx-external.js';
import { ExternalDataError, OnnxNestingError, type OnnxModelInfo } from './onnx-proto.js';
import { MalformedModelError } from './model-bytes.js';
import { ZipMapRewriteError, type ZipMapReplacement } from './onnx-zipmap.js';
import type { ValueMeta } from './model-protocol.js';
import { ModelProcessError } from './model-host.js';
import { ModelCheckError, type ModelChecker } from './model-check.js';
import { limitAdvice, ModelLimitError } from './model-limits.js';
import { decideOutputs, type OutputHints } from './outputs.js';
import { onnxruntimeMessage } from './runtime.js';

export interface OnnxInspection {
  /** The signature of the graph served, with what registration decided about its outputs. */
  signature: ModelSignature;
  info: OnnxModelInfo;
  /** Feature names from the model's `feature_names` metadata property (a JSON list), if any. */
  metadataFeatureNames: string[] | null;
  /** The graph served when it is not the given one: ZipMap outputs answered as their probability tensors. */
  derived: { bytes: Uint8Array; zipMaps: ZipMapReplacement[] } | null;
}

/** What to do about a probability output that is a sequence of maps, per exporter. */
export const ZIPMAP_ADVICE =
  'Re-export with probabilities as a tensor: skl2onnx to_onnx(model, X, options={id(model): {"zipmap": False}}); onnxmltools convert_lightgbm(model, initial_types=..., zipmap=False) (its converters take zipmap=False, not options=); CatBoost has no such option, so export the classifier with a graph that ends at its probability tensor';

/** What to do about a batch dimension fixed to more than one row, per exporter. */
export const BATCH_ADVICE =
  'Export with a dynamic batch dimension: PyTorch torch.onnx.export(model, args, path, dynamic_axes={"input": {0: "batch"}}) (or dynamic_shapes); skl2onnx and onnxmltools initial_types with None as the first dimension';

/**
 * Proves bytes are an ONNX model onnxruntime can run and reads its signature, all of it in a model
 * check process (`checker`), under the model limits: parse the ModelProto header (clear error for
 * a file that is not ONNX at all), then load the model and run it once on a row of zeros (clear
 * error for a model onnxruntime cannot load, or one that goes past a time or memory limit). A model whose probability output is
 * a ZipMap is served through the same graph without it (onnxruntime-node returns no sequences):
 * that graph is loaded too, and its signature is the one recorded. External data must have been
 * inlined before (see registry/external-data.ts): any left is refused here.
 */
export async function inspectOnnxModel(bytes: Uint8Array, checker: ModelChecker, displayName: string, hints: OutputHints = {}): Promise<OnnxInspection> {
  let info: OnnxModelInfo;
  try {
    const examined = await checker.examine(bytes);
    info = examined.info;
    if (examined.external) throw new ExternalDataError(examined.external);
  } catch (e) {
    if (e instanceof ModelCheckError) throw checkRefusal(displayName, e);
    if (e instanceof ExternalDataError) throw new DomainError('invalid_model', `${displayName} ${e.message}; ${SELF_CONTAINED_ADVICE}.`);
    if (e instanceof OnnxNestingError) throw notOnnx(displayName, e.message);
    // Anything else (the check process could not start, say) is not the file's fault.
    if (e instanceof MalformedModelError) throw notOnnx(displayName, 'it is not a protobuf ONNX ModelProto');
    throw e;
  }
  if (!info.hasGraph || info.irVersion === 0) throw notOnnx(displayName, 'it has no ONNX graph');

  let specs = await loadSpecs(bytes, checker, displayName);
  let derived: OnnxInspection['derived'] = null;
  if (specs.outputs.some((o) => o.type === 'non-tensor')) {
    let removal: Awaited<ReturnType<ModelChecker['removeZipMaps']>>;
    try {
      removal = await checker.removeZipMaps(bytes);
    } catch (e) {
      if (e instanceof ModelCheckError) throw checkRefusal(displayName, e);
      if (e instanceof ZipMapRewriteError) {
        throw new DomainError('invalid_model', `${displayName} ends in a ZipMap that cannot be left out for serving: ${e.message}. ${ZIPMAP_ADVICE}.`);
      }
      if (e instanceof MalformedModelError) throw notOnnx(displayName, 'it is not a protobuf ONNX ModelProto');
      throw e;
    }
    if (removal) {
      derived = { bytes: removal.bytes, zipMaps: removal.replaced };
      specs = await loadSpecs(removal.bytes, checker, `${displayName} without its ZipMap`);
    }
    const nonTensor = specs.outputs.find((o) => o.type === 'non-tensor');
    if (nonTensor) {
      const op = info.outputOps.get(nonTensor.name);
      throw new DomainError(
        'invalid_model',
        `${displayName} has output "${nonTensor.name}" that is not a tensor (a sequence or a map)${op ? `, computed by its ${op} node` : ''}: no ZipMap of the main graph answers it, so it cannot be served as its probability tensor, and onnxruntime-node cannot return it as it is. ${ZIPMAP_ADVICE}.`,
      );
    }
  }
  const fixed = specs.inputs.find((i) => i.shape !== null && i.shape.length >= 2 && typeof i.shape[0] === 'number' && i.shape[0] > 1);
  if (fixed) {
    throw new DomainError(
      'invalid_model',
      `${displayName} takes exactly ${String(fixed.shape?.[0])} rows at a time (input "${fixed.name}" has its batch dimension fixed), so it cannot score one row. ${BATCH_ADVICE}.`,
    );
  }
  const signature: ModelSignature = { ...specs, classLabels: info.classLabels };
  return {
    signature: { ...signature, ...decideOutputs(signature, info, hints, displayName) },
    info,
    metadataFeatureNames: parseFeatureNames(info.metadata.get('feature_names'), displayName),
    derived,
  };
}

/** Checks the bytes in a model process and reads their inputs and outputs. */
async function loadSpecs(bytes: Uint8Array, checker: ModelChecker, displayName: string): Promise<Pick<ModelSignature, 'inputs' | 'outputs'>> {
  try {
    const checked = await checker.check(bytes);
    return { inputs: checked.inputs.map(toSpec), outputs: checked.outputs.map(toSpec) };
  } catch (e) {
    throw e instanceof ModelCheckError ? checkRefusal(displayName, e) : e;
  }
}

/** A check that failed, as registration's answer: what the model did, at which step, and the limit it met. */
export function checkRefusal(displayName: string, e: ModelCheckError): Error {
  const cause = e.cause;
  if (cause instanceof ModelLimitError) {
    const when = cause.limit === 'load_time' ? '' : e.step === 'load' ? ' to load' : ' on a row of zeros';
    const stopped = cause.limit === 'load_time' || cause.limit === 'run_time' ? ' and was stopped' : '';
    return new DomainError(
      'invalid_model',
      `${displayName} ${cause.message}${when}${stopped}; nothing was registered. Register a model within the limits, or ${limitAdvice(cause.limit)}.`,
    );
  }
  if (cause instanceof ModelProcessError && cause.signal) {
    return new DomainError('invalid_model', `${displayName} was not registered: ${cause.message}.`);
  }
  if (cause instanceof ModelProcessError) return cause;
  return notOnnx(displayName, `onnxruntime could not load it (${onnxruntimeMessage(cause)})`);
}

function toSpec(m: ValueMeta): TensorSpec {
  if (!m.isTensor) return { name: m.name, type: 'non-tensor', shape: null };
  // onnxruntime reports an unnamed symbolic dimension (the batch, usually) as ''.
  return { name: m.name, type: m.type, shape: m.shape.length ? m.shape.map((d) => (d === '' ? '?' : d)) : null };
}

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
  return parsed;
}

const notOnnx = (displayName: string, why: string) =>
  new DomainError(
    'invalid_model',
    `${displayName} is not a usable ONNX model: ${why}. Export the model to ONNX (e.g. skl2onnx, torch.onnx) and register the .onnx file.`,
  );
