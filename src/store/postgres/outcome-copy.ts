import type { OutcomeRow } from '../../performance/ports.js';
import { OUTCOME_COLUMNS } from '../outcome-rows.js';
import { pgText } from './connection.js';

/** Outcomes as new rows, by COPY in PostgreSQL's binary format: no value is parsed from text on the server. */
export const COPY_OUTCOMES = `COPY outcomes (${OUTCOME_COLUMNS}) FROM STDIN (FORMAT binary)`;

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const FIELDS = 14;
const FLOAT8_OID = 701;
/** PostgreSQL's timestamps count µs from 2000-01-01T00:00:00Z. */
const PG_EPOCH_MS = 946_684_800_000;
const NULL = -1;

/** A float8[] of n elements in binary: dimensions, flags, element type, then length and lower bound and each element (length, value) unless empty. */
const arrayBytes = (n: number) => (n ? 20 + n * 12 : 12);
const finite = (x: number | null): x is number => x !== null && Number.isFinite(x);

/** Writes COPY's binary fields into a buffer sized beforehand. */
class FieldWriter {
  readonly buf: Buffer;
  private readonly view: DataView;
  o = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  int16(n: number): void {
    this.view.setInt16(this.o, n);
    this.o += 2;
  }

  int32(n: number): void {
    this.view.setInt32(this.o, n);
    this.o += 4;
  }

  /** A float8's bytes, without a length. */
  double(x: number): void {
    this.view.setFloat64(this.o, x);
    this.o += 8;
  }

  text(s: string | null): void {
    if (s === null) return this.int32(NULL);
    // ASCII byte by byte (ids, versions, labels); anything else (or U+0000) through Buffer.write.
    const buf = this.buf;
    const start = this.o + 4;
    let end = start;
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c === 0 || c > 0x7f) {
        end = start + buf.write(pgText(s), start);
        break;
      }
      buf[end++] = c;
    }
    this.view.setInt32(this.o, end - start);
    this.o = end;
  }

  float8(x: number | null): void {
    if (!finite(x)) return this.int32(NULL);
    this.int32(8);
    this.double(x + 0); // −0 as 0
  }

  /** int64 µs as two int32s: exact while |µs| < 2^53 (years 1715 to 2285). */
  timestamp(ms: number): void {
    const us = (ms - PG_EPOCH_MS) * 1000;
    const high = Math.floor(us / 2 ** 32);
    this.int32(8);
    this.int32(high);
    this.view.setUint32(this.o, us - high * 2 ** 32);
    this.o += 4;
  }

  /** Elements that are not finite are NULL (as in JSON), with a length and no value. */
  float8s(p: Float64Array | null): void {
    if (!p) return this.int32(NULL);
    let nulls = 0;
    for (let k = 0; k < p.length; k++) if (!Number.isFinite(p[k])) nulls++;
    this.int32(arrayBytes(p.length) - 8 * nulls);
    this.int32(p.length ? 1 : 0); // dimensions
    this.int32(nulls ? 1 : 0); // whether it has nulls
    this.int32(FLOAT8_OID);
    if (p.length) {
      this.int32(p.length);
      this.int32(1); // lower bound
    }
    for (let k = 0; k < p.length; k++) this.float8(p[k]);
  }
}

const chars = (s: string | null) => (s === null ? 0 : s.length);

/**
 * The rows, in their order, as the body of COPY_OUTCOMES, recorded at `recordedAt` (an ISO time,
 * whole ms as every time of the store). Values are stored as the JSON upsert stores them: a number
 * that is not finite is NULL and −0 is 0 (as JSON.stringify has them), text keeps U+0000 as U+FFFD.
 */
export function outcomesCopy(name: string, rows: readonly OutcomeRow[], recordedAt: string): Buffer {
  const recorded = Date.parse(recordedAt);
  // Room enough: per tuple its field count, lengths and fixed-size values, and 3 bytes per UTF-16 unit of text.
  let capacity = SIGNATURE.length + 8 + 2;
  for (const r of rows) {
    capacity += 2 + FIELDS * 4 + 8 + 16 + 24 + 8 + (r.probabilities ? arrayBytes(r.probabilities.length) : 0);
    capacity += 3 * (chars(r.predictionId) + name.length + chars(r.version) + chars(r.routingKey) + chars(r.predictedLabel) + chars(r.actualLabel));
  }
  const w = new FieldWriter(capacity);
  w.o = SIGNATURE.copy(w.buf, 0);
  w.int32(0); // flags
  w.int32(0); // header extension
  for (const r of rows) {
    w.int16(FIELDS);
    w.text(r.predictionId);
    w.text(name);
    w.text(r.version);
    w.timestamp(r.predictedAt);
    w.text(r.routingKey);
    w.float8(r.predicted);
    w.float8(r.actual);
    w.text(r.predictedLabel);
    w.text(r.actualLabel);
    w.float8s(r.probabilities);
    w.float8(r.pActual);
    w.float8(r.brier);
    w.float8(r.pPositive);
    w.timestamp(recorded);
  }
  w.int16(-1); // trailer
  return w.buf.subarray(0, w.o);
}
