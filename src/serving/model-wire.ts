/**
 * The frames between the server and a model process (model-host.ts, model-host-main.ts), on one
 * socketpair: a u32 body length, then the body, whose first byte says its form. Runs go as binary
 * frames (run-wire.ts: no JSON, no allocation but the answer's arrays); everything else (loads,
 * probes, releases, errors, the process's greeting) as a JSON header with binary blobs:
 *
 *   u8 form = JSON | 3 bytes 0 | u32 header length | u32 blob count | u32 length of each blob | header | blobs
 *
 * All little-endian; every blob and tensor starts 8-byte aligned within the body, so a reader that
 * holds the body at offset 0 of a buffer (the model process does) views them as typed arrays
 * without copying.
 */

export const FORM_JSON = 0;
export const FORM_RUN = 1;
export const FORM_RUN_REPLY = 2;

export type TypedArray =
  Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** A tensor as it crosses: onnxruntime-node's element type name, its dims, and its data (a string tensor's as strings). */
export interface WireTensor {
  type: string;
  dims: readonly number[];
  data: TypedArray | string[];
}

export interface Frame<H = Record<string, unknown>> {
  header: H;
  blobs: Uint8Array[];
}

export const align8 = (n: number) => (n + 7) & ~7;

/**
 * A growable buffer a frame is written into, reused for the next frame: the owner calls `drop()`
 * when the frame just written may still be read from (a write the socket queued).
 */
export class FrameWriter {
  private buf = Buffer.allocUnsafeSlow(4096);
  /** Bytes written, the u32 length included. */
  at = 0;

  begin(form: number): void {
    this.at = 4;
    this.u8(form);
  }

  /** The frame written, its length filled in; valid until the next begin(). */
  end(): Buffer {
    this.buf.writeUInt32LE(this.at - 4, 0);
    return this.buf.subarray(0, this.at);
  }

  drop(): void {
    this.buf = Buffer.allocUnsafeSlow(Math.min(this.buf.length, 64 * 1024));
  }

  /** Lets a buffer grown past `max` bytes go (the next frame starts small again). */
  shrink(max: number): void {
    if (this.buf.length > max) this.buf = Buffer.allocUnsafeSlow(4096);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.at++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.at);
    this.at += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.at);
    this.at += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.at);
    this.at += 8;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.byteLength);
    this.buf.set(b, this.at);
    this.at += b.byteLength;
  }

  /** Pads to a multiple of 8 counted from the body's start (after the u32 length). */
  align(): void {
    const to = align8(this.at - 4) + 4;
    this.ensure(to - this.at);
    this.buf.fill(0, this.at, to);
    this.at = to;
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }
}

/** Writes a JSON frame: the header and the blobs. */
export function writeJsonFrame(w: FrameWriter, header: object, blobs: readonly Uint8Array[] = []): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  w.begin(FORM_JSON);
  w.u8(0);
  w.u16(0);
  w.u32(json.length);
  w.u32(blobs.length);
  for (const b of blobs) w.u32(b.byteLength);
  w.bytes(json);
  for (const b of blobs) {
    w.align();
    w.bytes(b);
  }
  return w.end();
}

/** A JSON frame's body (after its u32 length); blobs are views of it. */
export function readJsonFrame<H>(body: Uint8Array): Frame<H> {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const jsonLength = view.getUint32(4, true);
  const count = view.getUint32(8, true);
  const head = 12 + 4 * count;
  if (head + jsonLength > body.byteLength) throw new Error('model process frame: its header runs past the frame');
  const header = JSON.parse(Buffer.from(body.buffer, body.byteOffset + head, jsonLength).toString('utf8')) as H;
  const blobs: Uint8Array[] = [];
  let at = head + jsonLength;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(12 + 4 * i, true);
    at = align8(at);
    if (at + length > body.byteLength) throw new Error('model process frame: a blob runs past the frame');
    blobs.push(body.subarray(at, at + length));
    at += length;
  }
  return { header, blobs };
}

/**
 * Reassembles frames from a byte stream (the server's side of the socketpair). A body that
 * arrived whole in one chunk is answered as a view of it, else copied once; either way at an
 * arbitrary offset, so readers copy tensors out (readRunReply does). A body announced larger than
 * `maxBody` is refused before it is read (a model process answering more than it may).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxBody: number) {}

  /** The bodies completed by this chunk; throws on an oversized announcement. */
  push(chunk: Buffer): Uint8Array[] {
    let data = chunk;
    if (this.buffered) {
      this.chunks.push(chunk);
      data = Buffer.concat(this.chunks);
      this.chunks = [];
    }
    const done: Uint8Array[] = [];
    let at = 0;
    while (data.length - at >= 4) {
      const need = data.readUInt32LE(at);
      if (need > this.maxBody) throw new FrameTooLargeError(need);
      if (data.length - at - 4 < need) break;
      done.push(data.subarray(at + 4, at + 4 + need));
      at += 4 + need;
    }
    this.buffered = data.length - at;
    if (this.buffered) this.chunks = [data.subarray(at)];
    return done;
  }
}

export class FrameTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`model process frame of ${bytes} bytes is over the limit`);
  }
}
