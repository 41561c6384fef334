import { randomUUID } from 'node:crypto';

/**
 * Prediction ids are UUIDs of version 7: their first 48 bits are the millisecond the prediction
 * was logged at (its log entry's created_at), the rest random. An outcome arriving days later
 * names the day (the partition, on PostgreSQL) and the instant its prediction was logged, so the
 * join reads one index entry instead of searching the whole log. A batch's row i is
 * `<batch id>:<i>`.
 */
export function newPredictionId(at: number): string {
  const random = randomUUID();
  const time = Math.max(0, Math.min(at, 0xffffffffffff)).toString(16).padStart(12, '0');
  // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx: the time replaces the first 48 bits, 7 the version nibble; the variant bits stay.
  return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15)}`;
}

const V7 = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A prediction id taken apart: its log entry's id, the row of a batch (null for a single prediction) and the time it was logged. */
export interface PredictionKey {
  entryId: string;
  row: number | null;
  at: number;
}

/** The key of a prediction id this server issued; null for anything else (ids of other systems, or logged before ids carried their time). */
export function parsePredictionId(id: string): PredictionKey | null {
  const colon = id.indexOf(':');
  const entryId = colon < 0 ? id : id.slice(0, colon);
  const m = V7.exec(entryId);
  if (!m) return null;
  let row: number | null = null;
  if (colon >= 0) {
    const tail = id.slice(colon + 1);
    if (!/^(0|[1-9][0-9]{0,8})$/.test(tail)) return null;
    row = Number(tail);
  }
  return { entryId, row, at: parseInt(m[1] + m[2], 16) };
}
