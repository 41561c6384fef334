import type { WalkError, WalkReply, WalkRequest } from './model-bytes.js';

/**
 * What the server asks a model process (model-host-main.ts) in JSON frames, and what it answers;
 * runs go as binary frames (run-wire.ts). Walks read a model's bytes without onnxruntime (model-bytes.ts).
 */
export type HostRequest =
  /** Loads the blob as session `session` (a number the server chose for this process). */
  | { op: 'load'; session: number; threads: number }
  /** Runs the session once on a row of zeros (symbolic dimensions 1): registration's check. */
  | { op: 'probe'; session: number }
  /** Times runs of `rows` rows of the session, stopping at one past `stopPast` µs (run-timing.ts): may it run inline? */
  | { op: 'time'; session: number; rows: number; stopPast: number }
  | { op: 'release'; session: number }
  | WalkRequest;

/** A graph input or output as the binding reports it, its element type named as onnxruntime-node names it. */
export interface ValueMeta {
  name: string;
  isTensor: boolean;
  type: string;
  /** Fixed sizes, or the symbolic dimension's name ('' when unnamed). */
  shape: Array<number | string>;
}

export type HostReply =
  | ({ ok: true; ready?: true; version?: string; inputs?: ValueMeta[]; outputs?: ValueMeta[]; ran?: boolean; micros?: number | null } & WalkReply)
  | { ok: false; error: string; kind: FailureKind; walk?: WalkError };

/**
 * Why a request failed: past the memory cap, an answer too large to carry, bytes that are not
 * what a model must be (`walk` says how), or onnxruntime refusing it.
 */
export type FailureKind = 'memory' | 'output' | 'format' | 'onnxruntime';
