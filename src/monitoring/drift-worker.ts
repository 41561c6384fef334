/**
 * A drift thread's entry (see DriftThreads): compares one feature, reads one CSV, or prepares
 * one feature of a reference, per message. Run from dist/monitoring/drift-worker.js; it imports the statistics and the CSV
 * readers only.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { DomainError, type ErrorCode } from '../errors.js';
import type { CsvColumns } from './csv-columns.js';
import { readCsvColumns } from './csv-read.js';
import { prepareReference } from './drift.js';
import type { ReferenceFeature } from './drift-types.js';
import { compareFeature } from './feature-compare.js';

export type DriftRequest =
  | { id: number; kind: 'compare'; refSorted: Float64Array; current: Float64Array }
  | { id: number; kind: 'csv'; fd: number; displayName: string; features: string[] }
  | { id: number; kind: 'reference'; feature: string; values: Float64Array };

export interface DriftReply {
  id: number;
  compared?: ReturnType<typeof compareFeature>;
  columns?: CsvColumns;
  reference?: ReferenceFeature;
  error?: { message: string; code: ErrorCode | null };
}

/** Rows read so far, sent while a CSV is read. */
export interface DriftNotice {
  id: number;
  notice: number;
}

const data = workerData as { nice?: number } | undefined;
// A lower CPU priority for this thread alone (on Linux setpriority(0) is per thread; elsewhere it
// would lower the whole process, so only there): a check's seconds of arithmetic must not take
// the core a request thread is woken on. It holds no lock another thread waits for.
if (process.platform === 'linux' && data?.nice !== undefined) {
  try {
    setPriority(data.nice);
  } catch {
    // Not permitted: stay at normal priority.
  }
}

const port = parentPort;
port?.on('message', (m: DriftRequest) => {
  void answer(m).then(
    ({ reply, transfer }) => port.postMessage(reply, transfer),
    (e: unknown) =>
      port.postMessage({
        id: m.id,
        error: { message: e instanceof Error ? e.message : String(e), code: e instanceof DomainError ? e.code : null },
      } satisfies DriftReply),
  );
});

async function answer(m: DriftRequest): Promise<{ reply: DriftReply; transfer: ArrayBuffer[] }> {
  if (m.kind === 'compare') {
    const compared = compareFeature(m.refSorted, m.current);
    // The sorted copy goes back without a copy: it was made here, so its buffer is a plain ArrayBuffer.
    return { reply: { id: m.id, compared }, transfer: [compared.curSorted.buffer as ArrayBuffer] };
  }
  if (m.kind === 'reference') {
    const reference = prepareReference(m.feature, m.values);
    return { reply: { id: m.id, reference }, transfer: [reference.sorted.buffer as ArrayBuffer] };
  }
  const columns = await readCsvColumns(m.fd, m.displayName, m.features, (rows) => port!.postMessage({ id: m.id, notice: rows } satisfies DriftNotice));
  return { reply: { id: m.id, columns }, transfer: columns.values.map((v) => v.buffer as ArrayBuffer) };
}
