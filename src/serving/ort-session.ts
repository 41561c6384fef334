/**
 * onnxruntime-node's synchronous binding, as model processes use it (model-host-main.ts) and as
 * the server uses it for models it runs inline (inline-models.ts). Its promise API is the same
 * call inside a setImmediate; the binding answers in the same turn. Loaded on first use only:
 * a server without inline models never maps onnxruntime.
 */
import { createRequire } from 'node:module';
import type { Binding } from 'onnxruntime-node/dist/binding.js';
import type { ValueMeta } from './model-protocol.js';
import type { WireTensor } from './model-wire.js';

type Common = typeof import('onnxruntime-common');
type BindingModule = typeof import('onnxruntime-node/dist/binding.js');

let ort: { common: Common; binding: BindingModule['binding']; version: string } | null = null;

/** The binding, initialised once per process (telemetry off, onnxruntime's own log silent). */
export function onnxruntime(): { common: Common; binding: BindingModule['binding']; version: string } {
  if (ort) return ort;
  // Read once by onnxruntime, when it loads.
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
  const require = createRequire(import.meta.url);
  const common = require('onnxruntime-common') as Common;
  // Errors reach callers as messages; onnxruntime's own log lines would only be noise on stderr.
  common.env.logLevel = 'fatal';
  const { binding, initOrt } = require('onnxruntime-node/dist/binding.js') as BindingModule;
  initOrt();
  ort = { common, binding, version: (require('onnxruntime-node/package.json') as { version: string }).version };
  return ort;
}

export interface OrtSession {
  session: Binding.InferenceSession;
  inputs: ValueMeta[];
  outputs: ValueMeta[];
}

/** onnxruntime-node's element type codes (its dist/backend.js), by position. */
const TYPE_NAMES = [undefined, 'float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool', 'float16', 'float64', 'uint32', 'uint64'];

const describe = (raw: Binding.ValueMetadata[]): ValueMeta[] =>
  raw.map((m) => ({
    name: m.name,
    isTensor: m.isTensor,
    type: m.isTensor ? (TYPE_NAMES[m.type] ?? `type ${m.type}`) : 'non-tensor',
    shape: m.isTensor ? m.shape.map((d, i) => (d >= 0 ? d : (m.symbolicDimensions[i] ?? ''))) : [],
  }));

/**
 * A session on the model's bytes. No arena: a run's buffers go back to the system when it ends
 * (with it, a run's 1 GiB intermediate stayed resident for the life of the session).
 */
export function openSession(bytes: Uint8Array, threads: number): OrtSession {
  const session = new (onnxruntime().binding.InferenceSession)();
  session.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    enableCpuMemArena: false,
  });
  return { session, inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) };
}

export class OutputTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`its outputs take ${bytes} bytes`);
  }
}

/** One run: feeds by input name, the outputs named in `fetches`, refused past `maxOutputBytes`. */
export function runSession(
  s: OrtSession,
  feeds: ReadonlyArray<{ name: string; tensor: WireTensor }>,
  fetches: readonly string[],
  maxOutputBytes: number,
): WireTensor[] {
  const { Tensor } = onnxruntime().common;
  const tensors: Record<string, InstanceType<typeof Tensor>> = {};
  for (const { name, tensor: t } of feeds) tensors[name] = new Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
  const wanted: Record<string, null> = {};
  for (const f of fetches) wanted[f] = null;
  const out = s.session.run(tensors, wanted, {});
  let bytes = 0;
  const answer = fetches.map((f) => {
    const t = out[f] as unknown as WireTensor;
    bytes += Array.isArray(t.data) ? t.data.reduce((n, str) => n + str.length, 0) : t.data.byteLength;
    return { type: t.type, dims: t.dims, data: t.data };
  });
  if (bytes > maxOutputBytes) throw new OutputTooLargeError(bytes);
  return answer;
}
