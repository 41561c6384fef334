import { Reader, readMessage, utf8 } from './onnx-wire.js';

/**
 * Just enough of the ONNX protobuf to read a ModelProto's top-level fields — ir_version,
 * producer, opset imports and metadata_props — which onnxruntime-node does not expose — and to
 * find tensors stored as external data before onnxruntime sees the bytes. Walks the wire format;
 * nested messages other than those are skipped, never decoded.
 */
export interface OnnxModelInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: Array<{ domain: string; version: number }>;
  /** metadata_props (a Map: keys come from the file, so never an object's own properties). */
  metadata: Map<string, string>;
  hasGraph: boolean;
  /** Class labels of the graph's first classifier node (ai.onnx.ml `classlabels_*` attribute), in probability-column order. */
  classLabels: string[] | null;
  /** The op type of the node that computes each graph output ('' for an output no node computes). */
  outputOps: Map<string, string>;
}

/** Throws when the bytes are not a protobuf message shaped like an ONNX ModelProto. */
export function readOnnxModelInfo(buf: Uint8Array): OnnxModelInfo {
  const info: OnnxModelInfo = {
    irVersion: 0,
    producerName: '',
    producerVersion: '',
    opsets: [],
    metadata: new Map(),
    hasGraph: false,
    classLabels: null,
    outputOps: new Map(),
  };
  readMessage(buf, (field, wireType, r) => {
    if (field === 1 && wireType === 0) info.irVersion = r.varint();
    else if (field === 2 && wireType === 2) info.producerName = utf8.decode(r.bytes());
    else if (field === 3 && wireType === 2) info.producerVersion = utf8.decode(r.bytes());
    else if (field === 7 && wireType === 2) {
      info.hasGraph = true;
      Object.assign(info, readGraph(r.bytes()));
    } else if (field === 8 && wireType === 2) info.opsets.push(readOpset(r.bytes()));
    else if (field === 14 && wireType === 2) {
      const [key, value] = readStringPair(r.bytes());
      info.metadata.set(key, value);
    } else return false;
    return true;
  });
  return info;
}

function readOpset(buf: Uint8Array): { domain: string; version: number } {
  const opset = { domain: '', version: 0 };
  readMessage(buf, (field, wireType, r) => {
    if (field === 1 && wireType === 2) opset.domain = utf8.decode(r.bytes());
    else if (field === 2 && wireType === 0) opset.version = r.varint();
    else return false;
    return true;
  });
  return opset;
}

function readStringPair(buf: Uint8Array): [string, string] {
  let key = '';
  let value = '';
  readMessage(buf, (field, wireType, r) => {
    if (field === 1 && wireType === 2) key = utf8.decode(r.bytes());
    else if (field === 2 && wireType === 2) value = utf8.decode(r.bytes());
    else return false;
    return true;
  });
  return [key, value];
}

const CLASS_LABEL_ATTRIBUTES = new Set(['classlabels_ints', 'classlabels_int64s', 'classlabels_strings']);

/**
 * GraphProto.node (1) → NodeProto.attribute (5) → AttributeProto name (1), ints (8), strings (9);
 * and which op computes each graph output (GraphProto.output (12) → ValueInfoProto.name (1)).
 */
function readGraph(graph: Uint8Array): Pick<OnnxModelInfo, 'classLabels' | 'outputOps'> {
  let labels: string[] | null = null;
  const opOf = new Map<string, string>();
  const outputs: string[] = [];
  readMessage(graph, (field, wireType, r) => {
    if (field === 12 && wireType === 2) {
      readMessage(r.bytes(), (vf, vw, vr) => {
        if (vf !== 1 || vw !== 2) return false;
        outputs.push(utf8.decode(vr.bytes()));
        return true;
      });
      return true;
    }
    if (field !== 1 || wireType !== 2) return false;
    const node = r.bytes();
    let opType = '';
    const produced: string[] = [];
    readMessage(node, (nf, nw, nr) => {
      if (nf === 2 && nw === 2) produced.push(utf8.decode(nr.bytes()));
      else if (nf === 4 && nw === 2) opType = utf8.decode(nr.bytes());
      else if (nf === 5 && nw === 2 && labels === null) labels = readClassLabelAttribute(nr.bytes());
      else return false;
      return true;
    });
    for (const name of produced) opOf.set(name, opType);
    return true;
  });
  const outputOps = new Map<string, string>();
  for (const name of outputs) outputOps.set(name, opOf.get(name) ?? '');
  return { classLabels: labels, outputOps };
}

function readClassLabelAttribute(attribute: Uint8Array): string[] | null {
  let name = '';
  const ints: number[] = [];
  const strings: string[] = [];
  readMessage(attribute, (field, wireType, r) => {
    if (field === 1 && wireType === 2) name = utf8.decode(r.bytes());
    else if (field === 8 && wireType === 0) ints.push(signed(r.varint()));
    else if (field === 8 && wireType === 2) {
      const packed = new Reader(r.bytes());
      while (!packed.done()) ints.push(signed(packed.varint()));
    } else if (field === 9 && wireType === 2) strings.push(utf8.decode(r.bytes()));
    else return false;
    return true;
  });
  if (!CLASS_LABEL_ATTRIBUTES.has(name)) return null;
  return name === 'classlabels_strings' ? strings : ints.map(String);
}

/** int64 varints of negative numbers arrive as two's complement; labels are small, so doubles suffice. */
const signed = (n: number) => (n >= 2 ** 63 ? n - 2 ** 64 : n);

/** A tensor whose bytes live outside the model file, as the ModelProto declares them. */
export interface ExternalTensor {
  tensor: string;
  /** external_data's "location" entry as written in the file ('' when absent). */
  location: string;
}

/** Subgraphs (If/Loop/Scan bodies) nested deeper than this are refused rather than walked. */
export const MAX_GRAPH_DEPTH = 64;

export class OnnxNestingError extends Error {}

/**
 * A model that keeps a tensor outside its file (see findExternalTensor). The message — "stores
 * tensor … as external data (location …)" — is what register_model and serving both say of it.
 */
export class ExternalDataError extends Error {
  constructor(readonly external: ExternalTensor) {
    super(storesExternally(external));
  }
}

/** "stores tensor … as external data (location …)": how every message names an external tensor. */
export const storesExternally = (external: ExternalTensor) =>
  `stores tensor ${quoted(external.tensor || '(unnamed)')} as external data${external.location ? ` (location ${quoted(external.location)})` : ''}`;

/** A name or path from the file, quoted for a message: control characters dropped, kept short. */
export function quoted(s: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it removes
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '');
  return JSON.stringify(clean.length > 120 ? `${clean.slice(0, 120)}…` : clean);
}

/**
 * Which fields of which message can lead to a TensorProto (field numbers from onnx/onnx.proto,
 * onnx 1.23). Everything else — including the tensors' own data — is skipped, never decoded.
 */
type Kind = 'model' | 'training' | 'function' | 'graph' | 'node' | 'attribute' | 'sparse' | 'tensor';
const CHILDREN: Record<Exclude<Kind, 'tensor'>, Partial<Record<number, Kind>>> = {
  // graph, training_info, functions
  model: { 7: 'graph', 20: 'training', 25: 'function' },
  // TrainingInfoProto: initialization, algorithm
  training: { 1: 'graph', 2: 'graph' },
  // FunctionProto: node, attribute_proto (default attribute values)
  function: { 7: 'node', 11: 'attribute' },
  // GraphProto: node, initializer, sparse_initializer
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' },
  // NodeProto: attribute
  node: { 5: 'attribute' },
  // AttributeProto: t, g, tensors, graphs, sparse_tensor, sparse_tensors
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' },
  // SparseTensorProto: values, indices
  sparse: { 1: 'tensor', 2: 'tensor' },
};

/**
 * The first tensor anywhere in the model (graph, subgraphs, functions, training info) stored as
 * external data, or null. Why: onnxruntime resolves external data against the model's directory
 * — or, for a model loaded from bytes, the server's working directory — and then reads that file
 * into a tensor whose value can come back as model output. A registered model must be one
 * self-contained file. Throws on malformed bytes, and OnnxNestingError past MAX_GRAPH_DEPTH.
 */
export function findExternalTensor(model: Uint8Array): ExternalTensor | null {
  return walk(model, 'model', 0);
}

function walk(buf: Uint8Array, kind: Exclude<Kind, 'tensor'>, graphDepth: number): ExternalTensor | null {
  if (kind === 'graph' && ++graphDepth > MAX_GRAPH_DEPTH) throw new OnnxNestingError(`its subgraphs nest more than ${MAX_GRAPH_DEPTH} levels deep`);
  let found: ExternalTensor | null = null;
  readMessage(buf, (field, wireType, r) => {
    const child = CHILDREN[kind][field];
    // A known message field with another wire type is an unknown field to protobuf too: skip it.
    if (found || child === undefined || wireType !== 2) return false;
    const bytes = r.bytes();
    found = child === 'tensor' ? externalTensor(bytes) : walk(bytes, child, graphDepth);
    return true;
  });
  return found;
}

/** TensorProto: name (8), external_data (13, key/value entries), data_location (14, EXTERNAL = 1). */
function externalTensor(tensor: Uint8Array): ExternalTensor | null {
  let name = '';
  let location = '';
  let external = false;
  readMessage(tensor, (field, wireType, r) => {
    if (field === 8 && wireType === 2) name = utf8.decode(r.bytes());
    else if (field === 13 && wireType === 2) {
      external = true;
      const [key, value] = readStringPair(r.bytes());
      if (key === 'location') location = value;
    }
    // Any value but DEFAULT (0): protobuf truncates an enum varint to 32 bits, so 2^32 + 1 reads as EXTERNAL.
    else if (field === 14 && wireType === 0) {
      if (r.varint() !== 0) external = true;
    } else return false;
    return true;
  });
  return external ? { tensor: name, location } : null;
}
