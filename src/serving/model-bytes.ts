import { ExternalDataSpecError, externalInitializers, inlineExternalData, type ExternalInitializer } from './onnx-external.js';
import { ExternalDataError, findExternalTensor, OnnxNestingError, readOnnxModelInfo, type ExternalTensor, type OnnxModelInfo } from './onnx-proto.js';
import { removeZipMaps, ZipMapRewriteError, type ZipMapReplacement } from './onnx-zipmap.js';

/**
 * What registration reads of a model's bytes before onnxruntime sees them, done by a model
 * process (model-host-main.ts) rather than the server: walking a graph of a million nodes takes a
 * second or more, which on the event loop would hold every request. Each op takes the model's
 * bytes as its first blob.
 */
export type WalkRequest =
  /** readOnnxModelInfo and findExternalTensor. */
  | { op: 'examine' }
  | { op: 'zipmap' }
  | { op: 'initializers' }
  /** Blobs after the model: each external initializer's data, in externalInitializers' order. */
  | { op: 'inline' };

/** OnnxModelInfo as JSON carries it (its Maps as entries). */
export type WireModelInfo = Omit<OnnxModelInfo, 'metadata' | 'outputOps'> & { metadata: Array<[string, string]>; outputOps: Array<[string, string]> };

export interface WalkReply {
  info?: WireModelInfo;
  external?: ExternalTensor | null;
  zipMaps?: ZipMapReplacement[] | null;
  initializers?: ExternalInitializer[];
}

/** A walk's error as it crosses: its class by name (ExternalDataError with its tensor), and message. */
export interface WalkError {
  name: 'ExternalDataError' | 'ExternalDataSpecError' | 'OnnxNestingError' | 'ZipMapRewriteError' | 'Error';
  message: string;
  external?: ExternalTensor;
}

/** Runs one walk: the reply and the blobs it answers (the rewritten bytes, if any). */
export function walk(request: WalkRequest, blobs: readonly Uint8Array[]): { reply: WalkReply; blobs: Uint8Array[] } {
  const model = blobs[0] ?? new Uint8Array();
  switch (request.op) {
    case 'examine': {
      const info = readOnnxModelInfo(model);
      return { reply: { info: { ...info, metadata: [...info.metadata], outputOps: [...info.outputOps] }, external: findExternalTensor(model) }, blobs: [] };
    }
    case 'zipmap': {
      const removal = removeZipMaps(model);
      return { reply: { zipMaps: removal?.replaced ?? null }, blobs: removal ? [removal.bytes] : [] };
    }
    case 'initializers':
      return { reply: { initializers: externalInitializers(model) }, blobs: [] };
    case 'inline':
      return { reply: {}, blobs: [inlineExternalData(model, blobs.slice(1))] };
  }
}

/** The error as its class would cross the socket; null for an error that is not a walk's. */
export function walkError(e: unknown): WalkError | null {
  if (e instanceof ExternalDataError) return { name: 'ExternalDataError', message: e.message, external: e.external };
  if (e instanceof ExternalDataSpecError) return { name: 'ExternalDataSpecError', message: e.message };
  if (e instanceof OnnxNestingError) return { name: 'OnnxNestingError', message: e.message };
  if (e instanceof ZipMapRewriteError) return { name: 'ZipMapRewriteError', message: e.message };
  return null;
}

/** The error walkError described, of its own class again (the server's side). */
/** The file's bytes could not be read as an ONNX model (a walk's error of no narrower kind). */
export class MalformedModelError extends Error {}

export function rebuiltError(w: WalkError): Error {
  if (w.name === 'ExternalDataError' && w.external) return new ExternalDataError(w.external);
  if (w.name === 'ExternalDataSpecError') return new ExternalDataSpecError(w.message);
  if (w.name === 'OnnxNestingError') return new OnnxNestingError(w.message);
  if (w.name === 'ZipMapRewriteError') return new ZipMapRewriteError(w.message);
  return new MalformedModelError(w.message);
}

export function modelInfo(w: WireModelInfo): OnnxModelInfo {
  return { ...w, metadata: new Map(w.metadata), outputOps: new Map(w.outputOps) };
}
