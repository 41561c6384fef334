import { ExternalDataError, findExternalTensor, quoted, storesExternally } from './onnx-proto.js';
import { bytesField, concatBytes, splitFields, stringField, type WireField } from './onnx-wire.js';

/**
 * Tensors of the main graph's initializers stored as external data (as PyTorch's exporter and
 * onnx.save_model(..., save_as_external_data=True) write them), and the model with their bytes
 * put back inside: one self-contained file that onnxruntime loads without reading another.
 */

/** One initializer whose bytes lie in a file beside the model. */
export interface ExternalInitializer {
  tensor: string;
  /** external_data "location": a path relative to the model's directory, as written in the file. */
  location: string;
  offset: number;
  /** external_data "length", when given; else the tensor's size from its dims and type, when known. */
  length: number | null;
  /** The byte size its dims and element type call for (null for an element type without a fixed size). */
  expectedBytes: number | null;
}

/** What a refusal of external data says to do, per exporter. */
export const SELF_CONTAINED_ADVICE =
  'mlops-mcp registers self-contained models only: re-export with the weights inside the file (PyTorch: torch.onnx.export(model, args, path, external_data=False); onnx: onnx.save_model(model, path, save_as_external_data=False))';

/** External data that cannot be inlined as declared (no location, a bad offset, a string tensor, …). */
export class ExternalDataSpecError extends Error {}

const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
// TensorProto
const T_DIMS = 1;
const T_DATA_TYPE = 2;
const T_NAME = 8;
const T_RAW_DATA = 9;
const T_EXTERNAL_DATA = 13;
const T_DATA_LOCATION = 14;

/** Bytes per element by TensorProto.DataType; 4-bit types are packed two to a byte (-2). STRING (8) and UNDEFINED have none. */
const ELEMENT_BYTES: Record<number, number> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  9: 1,
  10: 2,
  11: 8,
  12: 4,
  13: 8,
  14: 8,
  15: 16,
  16: 2,
  17: 1,
  18: 1,
  19: 1,
  20: 1,
  21: -2,
  22: -2,
  23: -2,
  24: 1,
  25: -2,
};

interface TensorView {
  name: string;
  dataType: number;
  dims: number[];
  external: boolean;
  entries: Map<string, string>;
  hasRawData: boolean;
}

function viewTensor(fields: readonly WireField[]): TensorView {
  const view: TensorView = { name: stringField(fields, T_NAME), dataType: 0, dims: [], external: false, entries: new Map(), hasRawData: false };
  for (const f of fields) {
    if (f.field === T_DIMS && f.wireType === 0) view.dims.push(f.value);
    else if (f.field === T_DIMS && f.wireType === 2) view.dims.push(...packedVarints(f.payload));
    else if (f.field === T_DATA_TYPE && f.wireType === 0) view.dataType = f.value;
    else if (f.field === T_RAW_DATA && f.wireType === 2) view.hasRawData = true;
    else if (f.field === T_EXTERNAL_DATA && f.wireType === 2) {
      view.external = true;
      const entry = splitFields(f.payload);
      view.entries.set(stringField(entry, 1), stringField(entry, 2));
    } else if (f.field === T_DATA_LOCATION && f.wireType === 0 && f.value !== 0) view.external = true;
  }
  return view;
}

function packedVarints(buf: Uint8Array): number[] {
  const out: number[] = [];
  let value = 0;
  let scale = 1;
  for (const byte of buf) {
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) {
      out.push(value);
      value = 0;
      scale = 1;
    }
  }
  return out;
}

/** An external_data offset or length: decimal digits, as onnx writes them. */
function byteCount(tensor: string, key: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new ExternalDataSpecError(`tensor ${quoted(tensor)} has external_data ${key} ${quoted(value)}, not a byte count`);
  return n;
}

function expectedBytes(view: TensorView): number | null {
  const size = ELEMENT_BYTES[view.dataType];
  if (size === undefined) return null;
  const count = view.dims.reduce((a, d) => a * d, 1);
  return size > 0 ? count * size : Math.ceil(count / -size);
}

interface Located {
  graph: WireField;
  top: WireField[];
  graphFields: WireField[];
  /** Indexes into graphFields of the external initializers, in order. */
  at: number[];
  refs: ExternalInitializer[];
}

function locate(model: Uint8Array): Located | null {
  const top = splitFields(model);
  const graphs = top.filter((f) => f.field === MODEL_GRAPH && f.wireType === 2);
  if (graphs.length !== 1) return null;
  const graphFields = splitFields(graphs[0].payload);
  const at: number[] = [];
  const refs: ExternalInitializer[] = [];
  graphFields.forEach((f, i) => {
    if (f.field !== GRAPH_INITIALIZER || f.wireType !== 2) return;
    const view = viewTensor(splitFields(f.payload));
    if (!view.external) return;
    const location = view.entries.get('location') ?? '';
    const stores = storesExternally({ tensor: view.name, location });
    if (!location) throw new ExternalDataSpecError(`${stores} but names no location`);
    if (view.dataType === 8) throw new ExternalDataSpecError(`${stores}, but it holds strings, which ONNX never stores so`);
    if (view.hasRawData) throw new ExternalDataSpecError(`${stores} and inside the file too (raw_data)`);
    const offset = byteCount(view.name, 'offset', view.entries.get('offset')) ?? 0;
    const length = byteCount(view.name, 'length', view.entries.get('length'));
    const expected = expectedBytes(view);
    if (length !== null && expected !== null && length !== expected) {
      throw new ExternalDataSpecError(`${stores}, ${length} bytes of it, where its shape and type take ${expected}`);
    }
    at.push(i);
    refs.push({ tensor: view.name, location, offset, length: length ?? expected, expectedBytes: expected });
  });
  return { graph: graphs[0], top, graphFields, at, refs };
}

function rebuild(l: Located, tensorAt: (k: number) => Uint8Array | null): Uint8Array {
  const k = new Map(l.at.map((i, j) => [i, j] as const));
  const parts: Uint8Array[] = [];
  l.graphFields.forEach((f, i) => {
    const j = k.get(i);
    if (j === undefined) parts.push(f.raw);
    else {
      const tensor = tensorAt(j);
      if (tensor) parts.push(bytesField(GRAPH_INITIALIZER, tensor));
    }
  });
  const graph = bytesField(MODEL_GRAPH, concatBytes(parts));
  return concatBytes(l.top.map((f) => (f === l.graph ? graph : f.raw)));
}

/**
 * The main graph's initializers stored as external data, in file order. Throws ExternalDataError
 * when a tensor anywhere else (a subgraph, a node attribute, a sparse initializer, a function,
 * training info) is external — those stay refused, as onnxruntime would read them from wherever
 * they point — and ExternalDataSpecError for a declaration that cannot be honoured. Throws Error
 * on malformed bytes.
 */
export function externalInitializers(model: Uint8Array): ExternalInitializer[] {
  const l = locate(model);
  if (!l || !l.refs.length) {
    const found = findExternalTensor(model);
    if (found) throw new ExternalDataError(found);
    return [];
  }
  const rest = findExternalTensor(rebuild(l, () => null));
  if (rest) throw new ExternalDataError(rest);
  return l.refs;
}

/**
 * The model with `data[j]` as the raw_data of the j-th external initializer (as
 * externalInitializers lists them), its external_data entries and data_location removed; every
 * other byte as it was. Each `data[j]` must have the length the tensor declares.
 */
export function inlineExternalData(model: Uint8Array, data: readonly Uint8Array[]): Uint8Array {
  const l = locate(model);
  if (!l || l.refs.length !== data.length) throw new Error('external data does not match the model');
  return rebuild(l, (j) => {
    const ref = l.refs[j];
    const bytes = data[j];
    if (ref.length !== null && bytes.length !== ref.length)
      throw new ExternalDataSpecError(`${storesExternally(ref)}: ${ref.length} bytes, of which ${bytes.length} were read`);
    const kept = splitFields(l.graphFields[l.at[j]].payload).filter((f) => f.field !== T_EXTERNAL_DATA && f.field !== T_DATA_LOCATION);
    return concatBytes([...kept.map((f) => f.raw), bytesField(T_RAW_DATA, bytes)]);
  });
}
