/**
 * The protobuf wire format, as much as reading and rewriting an ONNX ModelProto needs: fields are
 * read one by one, and a rewritten message is its fields' bytes copied as they were, except those
 * replaced. Nothing is decoded that is not looked at, so what is not rewritten stays byte for byte.
 */

export class Reader {
  pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    readonly end = buf.length,
  ) {}

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const byte = this.buf[this.pos++];
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new Error('malformed varint');
  }

  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.end) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.advance(8);
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.advance(4);
    else throw new Error(`unsupported wire type ${wireType}`);
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new Error('truncated field');
    this.pos += n;
  }
}

export const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Reads each (field number, wire type) of a message, handing it to `visit` with the reader positioned on the value. */
export function readMessage(buf: Uint8Array, visit: (field: number, wireType: number, r: Reader) => boolean): void {
  const r = new Reader(buf);
  while (!r.done()) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (field === 0) throw new Error('field number 0');
    if (!visit(field, wireType, r)) r.skip(wireType);
  }
}

/** One field of a message as it is on the wire. */
export interface WireField {
  field: number;
  wireType: number;
  /** The whole field, key included: what a rewrite copies when it keeps the field. */
  raw: Uint8Array;
  /** A length-delimited field's payload (a nested message, a string, packed numbers); empty otherwise. */
  payload: Uint8Array;
  /** A varint field's value; 0 otherwise. */
  value: number;
}

/** The fields of a message, in the order they appear. Throws on malformed bytes. */
export function splitFields(buf: Uint8Array): WireField[] {
  const out: WireField[] = [];
  const r = new Reader(buf);
  while (!r.done()) {
    const start = r.pos;
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (field === 0) throw new Error('field number 0');
    let payload: Uint8Array = EMPTY;
    let value = 0;
    if (wireType === 2) payload = r.bytes();
    else if (wireType === 0) value = r.varint();
    else r.skip(wireType);
    out.push({ field, wireType, raw: buf.subarray(start, r.pos), payload, value });
  }
  return out;
}

const EMPTY: Uint8Array = new Uint8Array(0);

/** A message's string field (the last one, as protobuf reads a repeated scalar), or ''. */
export function stringField(fields: readonly WireField[], field: number): string {
  let s = '';
  for (const f of fields) if (f.field === field && f.wireType === 2) s = utf8.decode(f.payload);
  return s;
}

/** Every value of a repeated string field, in order. */
export function stringFields(fields: readonly WireField[], field: number): string[] {
  return fields.filter((f) => f.field === field && f.wireType === 2).map((f) => utf8.decode(f.payload));
}

function varintBytes(n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`cannot encode ${n} as a varint`);
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** A varint field (wire type 0). */
export function varintField(field: number, value: number): Uint8Array {
  return Uint8Array.from([...varintBytes(field * 8), ...varintBytes(value)]);
}

/** A length-delimited field (wire type 2): a nested message, a string or bytes. */
export function bytesField(field: number, payload: Uint8Array | string): Uint8Array {
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const head = Uint8Array.from([...varintBytes(field * 8 + 2), ...varintBytes(body.length)]);
  return concatBytes([head, body]);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
