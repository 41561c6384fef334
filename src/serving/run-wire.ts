import { align8, FORM_RUN, FORM_RUN_REPLY, type FrameWriter, type TypedArray, type WireTensor } from './model-wire.js';

/**
 * Binary frames for runs, the one request on the prediction path (see model-wire.ts for the
 * framing): tensors by their index in the session's inputs or outputs, no JSON.
 *
 *   request  u8 form | u8 0 | u16 inputs | u32 session | u16 fetches | u16 0 | inputs | u16 output index per fetch
 *   reply    u8 form | u8 0 | u16 outputs | u32 0 | outputs
 *   tensor   (8-aligned) u8 type | u8 dims | u16 index | u32 data bytes | f64 per dim | data (a string tensor's as JSON)
 */

const TYPES = ['float32', 'float64', 'int8', 'uint8', 'bool', 'int16', 'uint16', 'float16', 'int32', 'uint32', 'int64', 'uint64', 'string'];
const CODES = new Map(TYPES.map((t, i) => [t, i]));

type TypedConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => TypedArray;
const ARRAYS: Record<string, TypedConstructor & { BYTES_PER_ELEMENT: number }> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  float16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
};

export interface RunRequest {
  session: number;
  inputs: Array<{ index: number; tensor: WireTensor }>;
  fetches: number[];
}

export function writeRun(w: FrameWriter, session: number, inputs: ReadonlyArray<{ index: number; tensor: WireTensor }>, fetches: readonly number[]): Buffer {
  w.begin(FORM_RUN);
  w.u8(0);
  w.u16(inputs.length);
  w.u32(session);
  w.u16(fetches.length);
  w.u16(0);
  for (const { index, tensor } of inputs) writeTensor(w, index, tensor);
  for (const f of fetches) w.u16(f);
  return w.end();
}

/** A run request's body held at an 8-aligned offset (the model process's read buffer): its tensors view it, valid while it is. */
export function readRun(body: Uint8Array): RunRequest {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const count = view.getUint16(2, true);
  const session = view.getUint32(4, true);
  const fetchCount = view.getUint16(8, true);
  let at = 12;
  const inputs: RunRequest['inputs'] = [];
  for (let i = 0; i < count; i++) {
    const read = readTensor(body, view, at);
    inputs.push({ index: read.index, tensor: read.tensor });
    at = read.end;
  }
  const fetches: number[] = [];
  for (let i = 0; i < fetchCount; i++) fetches.push(view.getUint16(at + 2 * i, true));
  return { session, inputs, fetches };
}

export function writeRunReply(w: FrameWriter, outputs: ReadonlyArray<{ index: number; tensor: WireTensor }>): Buffer {
  w.begin(FORM_RUN_REPLY);
  w.u8(0);
  w.u16(outputs.length);
  w.u32(0);
  for (const { index, tensor } of outputs) writeTensor(w, index, tensor);
  return w.end();
}

/** A run reply's outputs by index, copied out of the body (which may sit at any offset, in a buffer that is reused). */
export function readRunReply(body: Uint8Array): Array<{ index: number; tensor: WireTensor }> {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const count = view.getUint16(2, true);
  let at = 8;
  const outputs: Array<{ index: number; tensor: WireTensor }> = [];
  for (let i = 0; i < count; i++) {
    const read = readTensor(body, view, at, true);
    outputs.push({ index: read.index, tensor: read.tensor });
    at = read.end;
  }
  return outputs;
}

function writeTensor(w: FrameWriter, index: number, t: WireTensor): void {
  const code = CODES.get(t.type);
  if (code === undefined) throw new Error(`tensor of element type ${t.type} cannot be sent to a model process`);
  const data = Array.isArray(t.data) ? Buffer.from(JSON.stringify(t.data)) : new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  w.align();
  w.u8(code);
  w.u8(t.dims.length);
  w.u16(index);
  w.u32(data.byteLength);
  for (const d of t.dims) w.f64(d);
  w.bytes(data);
}

/** The tensor at `start`: a view of the body, or with `copy` an array of its own. */
function readTensor(body: Uint8Array, view: DataView, start: number, copy = false): { index: number; tensor: WireTensor; end: number } {
  let at = align8(start);
  const type = TYPES[view.getUint8(at)];
  const ndims = view.getUint8(at + 1);
  const index = view.getUint16(at + 2, true);
  const bytes = view.getUint32(at + 4, true);
  at += 8;
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++, at += 8) dims.push(view.getFloat64(at, true));
  if (type === undefined || at + bytes > body.byteLength) throw new Error('model process frame: a tensor runs past the frame');
  const raw = body.subarray(at, at + bytes);
  let data: WireTensor['data'];
  if (type === 'string') {
    data = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')) as string[];
  } else {
    const Typed = ARRAYS[type];
    // new Uint8Array(view) copies (a Buffer's slice() would only view it again).
    const own = copy || raw.byteOffset % Typed.BYTES_PER_ELEMENT !== 0 ? new Uint8Array(raw) : raw;
    data = new Typed(own.buffer, own.byteOffset, own.byteLength / Typed.BYTES_PER_ELEMENT);
  }
  return { index, tensor: { type, dims, data }, end: at + bytes };
}
