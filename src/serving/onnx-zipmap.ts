import { bytesField, concatBytes, splitFields, stringField, stringFields, varintField, type WireField } from './onnx-wire.js';

/**
 * ZipMap (ai.onnx.ml) turns a classifier's probability tensor [N, C] into a sequence of N maps
 * {label: probability}; skl2onnx, onnxmltools (LightGBM) and CatBoost end their classifiers with
 * it by default, and onnxruntime-node cannot return a sequence. The same graph without the ZipMap
 * node, answering the tensor that fed it, computes the same numbers: this rewrite drops the node
 * and declares that tensor as the graph output in its place. Every other byte of the model is
 * copied as it was.
 */

/** One ZipMap output and the tensor now answered in its place. */
export interface ZipMapReplacement {
  /** The graph output the ZipMap produced (a sequence of maps). */
  output: string;
  /** The float tensor [N, C] that fed it, now a graph output. */
  tensor: string;
  /** C: the number of class labels the ZipMap named. */
  classes: number;
}

/** A graph with a ZipMap that this rewrite cannot take out without changing what the graph computes. */
export class ZipMapRewriteError extends Error {}

// Field numbers from onnx/onnx.proto (onnx 1.23).
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const GRAPH_VALUE_INFO = 13;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_NAME = 3;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
const FLOAT = 1;

interface NodeView {
  raw: WireField;
  inputs: string[];
  outputs: string[];
  name: string;
  opType: string;
  domain: string;
}

function viewNode(f: WireField): NodeView {
  const fields = splitFields(f.payload);
  return {
    raw: f,
    inputs: stringFields(fields, NODE_INPUT),
    outputs: stringFields(fields, NODE_OUTPUT),
    name: stringField(fields, NODE_NAME),
    opType: stringField(fields, NODE_OP_TYPE),
    domain: stringField(fields, NODE_DOMAIN),
  };
}

const isZipMap = (n: NodeView) => n.opType === 'ZipMap' && n.domain === 'ai.onnx.ml';
const valueInfoName = (f: WireField) => stringField(splitFields(f.payload), 1);

/**
 * The model with every ZipMap of its main graph taken out, or null when it has none. Throws
 * ZipMapRewriteError when a ZipMap's output is read by another node (dropping it would change the
 * graph), when a ZipMap does not have exactly one input and one output, or when it does not name
 * its class labels; throws Error on malformed bytes.
 */
export function removeZipMaps(model: Uint8Array): { bytes: Uint8Array; replaced: ZipMapReplacement[] } | null {
  const top = splitFields(model);
  const graphFields = top.filter((f) => f.field === MODEL_GRAPH && f.wireType === 2);
  if (graphFields.length !== 1) return null;
  const graph = splitFields(graphFields[0].payload);
  const nodes = graph.filter((f) => f.field === GRAPH_NODE && f.wireType === 2).map(viewNode);
  const zipMaps = nodes.filter(isZipMap);
  if (!zipMaps.length) return null;

  const outputs = graph.filter((f) => f.field === GRAPH_OUTPUT && f.wireType === 2).map(valueInfoName);
  const replaced: ZipMapReplacement[] = [];
  for (const z of zipMaps) {
    const label = z.name ? `ZipMap node "${z.name}"` : 'a ZipMap node';
    if (z.inputs.length !== 1 || z.outputs.length !== 1)
      throw new ZipMapRewriteError(`${label} has ${z.inputs.length} inputs and ${z.outputs.length} outputs (ZipMap takes one of each)`);
    const [tensor] = z.inputs;
    const [output] = z.outputs;
    const reader = nodes.find((n) => n !== z && n.inputs.includes(output));
    if (reader)
      throw new ZipMapRewriteError(`the output "${output}" of ${label} is read by node "${reader.name || reader.opType}", so the ZipMap cannot be left out`);
    const classes = zipMapClassCount(z.raw.payload);
    if (classes === 0) throw new ZipMapRewriteError(`${label} names no class labels`);
    if (outputs.includes(output)) replaced.push({ output, tensor, classes });
  }

  const byOutput = new Map(replaced.map((r) => [r.output, r] as const));
  const dropped = new Set(zipMaps.map((z) => z.raw));
  // A tensor already answered, or answered in place of an earlier ZipMap, is declared once.
  const declared = new Set(outputs.filter((o) => !byOutput.has(o)));
  const replacedTensors = new Set(replaced.map((r) => r.tensor));
  const batch = batchDimension(graph);
  const rewritten: Uint8Array[] = [];
  for (const f of graph) {
    if (f.field === GRAPH_NODE && f.wireType === 2) {
      if (!dropped.has(f)) rewritten.push(f.raw);
      continue;
    }
    if (f.field === GRAPH_OUTPUT && f.wireType === 2) {
      const r = byOutput.get(valueInfoName(f));
      if (!r) rewritten.push(f.raw);
      else if (!declared.has(r.tensor)) {
        declared.add(r.tensor);
        rewritten.push(bytesField(GRAPH_OUTPUT, tensorValueInfo(r.tensor, batch, r.classes)));
      }
      continue;
    }
    // value_info describes intermediate values only: none for what is now an output, or no longer computed.
    if (f.field === GRAPH_VALUE_INFO && f.wireType === 2) {
      const name = valueInfoName(f);
      if (byOutput.has(name) || replacedTensors.has(name)) continue;
    }
    rewritten.push(f.raw);
  }
  const newGraph = bytesField(MODEL_GRAPH, concatBytes(rewritten));
  const bytes = concatBytes(top.map((f) => (f === graphFields[0] ? newGraph : f.raw)));
  return { bytes, replaced };
}

/** How many class labels a ZipMap names: its classlabels_int64s (ints, 8) or classlabels_strings (strings, 9). */
function zipMapClassCount(node: Uint8Array): number {
  let count = 0;
  for (const f of splitFields(node)) {
    if (f.field !== NODE_ATTRIBUTE || f.wireType !== 2) continue;
    const attribute = splitFields(f.payload);
    const name = stringField(attribute, 1);
    if (name !== 'classlabels_int64s' && name !== 'classlabels_strings') continue;
    for (const a of attribute) {
      if (a.field === 8 && a.wireType === 0) count++;
      else if (a.field === 8 && a.wireType === 2) count += countVarints(a.payload);
      else if (a.field === 9 && a.wireType === 2) count++;
    }
  }
  return count;
}

function countVarints(packed: Uint8Array): number {
  let n = 0;
  for (const byte of packed) if ((byte & 0x80) === 0) n++;
  return n;
}

/**
 * The first dimension of the graph's first input (TensorShapeProto.Dimension, as its bytes), so
 * the new output's batch dimension is the one the input has; a symbolic "N" when it declares none.
 */
function batchDimension(graph: readonly WireField[]): Uint8Array {
  const input = graph.find((f) => f.field === GRAPH_INPUT && f.wireType === 2);
  // ValueInfoProto.type (2) → TypeProto.tensor_type (1) → shape (2) → dim (1)
  const path = [2, 1, 2, 1];
  let message = input?.payload;
  for (const field of path) {
    const next: WireField | undefined = message && splitFields(message).find((f) => f.field === field && f.wireType === 2);
    message = next?.payload;
  }
  return message ?? bytesField(2, 'N');
}

/** ValueInfoProto{name, type: TypeProto{tensor_type{elem_type FLOAT, shape [batch, classes]}}}. */
function tensorValueInfo(name: string, batch: Uint8Array, classes: number): Uint8Array {
  const shape = concatBytes([bytesField(1, batch), bytesField(1, varintField(1, classes))]);
  const tensorType = concatBytes([varintField(1, FLOAT), bytesField(2, shape)]);
  return concatBytes([bytesField(1, name), bytesField(2, bytesField(1, tensorType))]);
}
