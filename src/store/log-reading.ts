import type { LoggedFeatures, VariantTally } from '../serving/ports.js';

/** Counts of one version from one aggregate table (numbers may come as strings or bigints from a driver). */
export interface TallyPart {
  version: string | null;
  n: number | string;
  errors: number | string;
  value_sum: number | string | null;
  value_n: number | string;
}

/** Per version (the log's '' for "failed before a version was chosen" as null), the parts summed. */
export function sumParts(parts: readonly TallyPart[]): Map<string | null, VariantTally> {
  const byVersion = new Map<string | null, VariantTally>();
  for (const p of parts) {
    const key = p.version === '' ? null : p.version;
    const v = byVersion.get(key) ?? { count: 0, errors: 0, sum: 0, n: 0 };
    v.count += Number(p.n);
    v.errors += Number(p.errors);
    v.sum += Number(p.value_sum ?? 0);
    v.n += Number(p.value_n);
    byVersion.set(key, v);
  }
  return byVersion;
}

/** An entry cut to its newest `keep` rows (its last ones). */
export function newestRows(entry: LoggedFeatures, keep: number): LoggedFeatures {
  return keep >= entry.rows ? entry : { ...entry, rows: keep, values: entry.values.subarray((entry.rows - keep) * entry.width) };
}

/** A blob's float64s, copied: a Float64Array cannot view a Buffer at an offset that is not a multiple of 8. */
export const float64sOf = (blob: Buffer) => new Float64Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
