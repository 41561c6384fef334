/**
 * The drift thread's entry (see FeatureComparer): compares one feature per message. Run from
 * dist/monitoring/drift-worker.js; it imports nothing but the statistics.
 */
import { parentPort } from 'node:worker_threads';
import { compareFeature } from './feature-compare.js';

export interface CompareRequest {
  id: number;
  refSorted: Float64Array;
  current: Float64Array;
}

export type CompareReply = { id: number; result: ReturnType<typeof compareFeature>; error?: undefined } | { id: number; error: string; result?: undefined };

parentPort?.on('message', (m: CompareRequest) => {
  try {
    const result = compareFeature(m.refSorted, m.current);
    // The sorted copy goes back without a copy: Float64Array.from made it, so its buffer is a plain ArrayBuffer.
    parentPort!.postMessage({ id: m.id, result } satisfies CompareReply, [result.curSorted.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) } satisfies CompareReply);
  }
});
