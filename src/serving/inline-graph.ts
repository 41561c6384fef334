import { readMessage, utf8 } from './onnx-wire.js';

/**
 * Which models the server may run on its own thread (inline-models.ts): those whose every run of
 * a given size takes about the same time, so that timing a few runs bounds all of them. That
 * holds for graphs of the operators below alone: no control flow (Loop, If, Scan), no output
 * sized by a value (ConstantOfShape, Expand, Tile, Range, NonZero, Resize, Pad, TopK, Gather),
 * and no tree walk whose depth depends on where the values fall. Loading such a file is bounded
 * by its size and node count.
 */
// prettier-ignore
const ONNX_OPS = new Set([
  'Abs', 'Add', 'And', 'ArgMax', 'ArgMin', 'Cast', 'Ceil', 'Clip', 'Concat', 'Constant', 'Div', 'Elu', 'Equal', 'Erf', 'Exp', 'Flatten',
  'Floor', 'Gemm', 'Greater', 'GreaterOrEqual', 'HardSigmoid', 'Identity', 'LeakyRelu', 'Less', 'LessOrEqual', 'Log',
  'LogSoftmax', 'MatMul', 'Max', 'Mean', 'Min', 'Mul', 'Neg', 'Not', 'Or', 'Pow', 'Reciprocal', 'ReduceL2', 'ReduceMax',
  'ReduceMean', 'ReduceMin', 'ReduceSum', 'Relu', 'Reshape', 'Round', 'Selu', 'Shape', 'Sigmoid', 'Sign', 'Softmax',
  'Softplus', 'Sqrt', 'Squeeze', 'Sub', 'Sum', 'Tanh', 'Transpose', 'Unsqueeze', 'Where', 'Xor',
]);
// prettier-ignore
const ML_OPS = new Set([
  'Binarizer', 'FeatureVectorizer', 'Imputer', 'LinearClassifier', 'LinearRegressor', 'Normalizer', 'Scaler', 'ZipMap',
]);

/** Larger files are never run inline: loading one on the server's thread must be quick. */
export const INLINE_MAX_MODEL_BYTES = 1024 * 1024;
export const INLINE_MAX_NODES = 256;

/** Why the model may not run inline (a short phrase for the log), or null when it may. */
export function inlineRefusal(model: Uint8Array): string | null {
  if (model.byteLength > INLINE_MAX_MODEL_BYTES) return `larger than ${INLINE_MAX_MODEL_BYTES} bytes`;
  let why: string | null = null;
  let graphs = 0;
  try {
    readMessage(model, (field, wireType, r) => {
      if (wireType !== 2 || why) return false;
      if (field === 7) {
        graphs++;
        why = graphRefusal(r.bytes());
      } else if (field === 25) why = 'defines functions';
      else if (field === 20) why = 'carries training information';
      else return false;
      return true;
    });
  } catch {
    return 'is not a well-formed model';
  }
  return why ?? (graphs === 1 ? null : 'has no graph');
}

function graphRefusal(graph: Uint8Array): string | null {
  let nodes = 0;
  let why: string | null = null;
  readMessage(graph, (field, wireType, r) => {
    if (field !== 1 || wireType !== 2 || why) return false;
    if (++nodes > INLINE_MAX_NODES) {
      why = `has more than ${INLINE_MAX_NODES} nodes`;
      return false;
    }
    why = nodeRefusal(r.bytes());
    return true;
  });
  return why;
}

/** NodeProto: op_type (4), domain (7), attribute (5) → AttributeProto g (6), graphs (11). */
function nodeRefusal(node: Uint8Array): string | null {
  let op = '';
  let domain = '';
  let subgraph = false;
  readMessage(node, (field, wireType, r) => {
    if (field === 4 && wireType === 2) op = utf8.decode(r.bytes());
    else if (field === 7 && wireType === 2) domain = utf8.decode(r.bytes());
    else if (field === 5 && wireType === 2) {
      readMessage(r.bytes(), (af, aw) => {
        if ((af === 6 || af === 11) && aw === 2) subgraph = true;
        return false;
      });
    } else return false;
    return true;
  });
  const known = domain === 'ai.onnx.ml' ? ML_OPS.has(op) : (domain === '' || domain === 'ai.onnx') && ONNX_OPS.has(op);
  if (!known || subgraph) return `uses ${domain ? `${domain}.` : ''}${op.slice(0, 40)}`;
  return null;
}
