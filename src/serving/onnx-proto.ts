/**
 * Just enough of the ONNX protobuf to read a ModelProto's top-level fields — ir_version,
 * producer, opset imports and metadata_props — which onnxruntime-node does not expose. Walks the
 * wire format; nested messages other than those are skipped, never decoded.
 */
export interface OnnxModelInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: Array<{ domain: string; version: number }>;
  /** metadata_props (a Map: keys come from the file, so never an object's own properties). */
  metadata: Map<string, string>;
  hasGraph: boolean;
}

class Reader {
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

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Reads each (field number, wire type) of a message, handing it to `visit` with the reader positioned on the value. */
function readMessage(buf: Uint8Array, visit: (field: number, wireType: number, r: Reader) => boolean): void {
  const r = new Reader(buf);
  while (!r.done()) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (field === 0) throw new Error('field number 0');
    if (!visit(field, wireType, r)) r.skip(wireType);
  }
}

/** Throws when the bytes are not a protobuf message shaped like an ONNX ModelProto. */
export function readOnnxModelInfo(buf: Uint8Array): OnnxModelInfo {
  const info: OnnxModelInfo = { irVersion: 0, producerName: '', producerVersion: '', opsets: [], metadata: new Map(), hasGraph: false };
  readMessage(buf, (field, wireType, r) => {
    if (field === 1 && wireType === 0) info.irVersion = r.varint();
    else if (field === 2 && wireType === 2) info.producerName = utf8.decode(r.bytes());
    else if (field === 3 && wireType === 2) info.producerVersion = utf8.decode(r.bytes());
    else if (field === 7 && wireType === 2) (r.bytes(), (info.hasGraph = true));
    else if (field === 8 && wireType === 2) info.opsets.push(readOpset(r.bytes()));
    else if (field === 14 && wireType === 2) {
      const [key, value] = readStringPair(r.bytes());
      info.metadata.set(key, value);
    } else return false;
    return true;
  });
  return info;
}

function readOpset(buf: Uint8Array): { domain: string; version: number } {
  const opset = { domain: '', version: 0 };
  readMessage(buf, (field, wireType, r) => {
    if (field === 1 && wireType === 2) opset.domain = utf8.decode(r.bytes());
    else if (field === 2 && wireType === 0) opset.version = r.varint();
    else return false;
    return true;
  });
  return opset;
}

function readStringPair(buf: Uint8Array): [string, string] {
  let key = '';
  let value = '';
  readMessage(buf, (field, wireType, r) => {
    if (field === 1 && wireType === 2) key = utf8.decode(r.bytes());
    else if (field === 2 && wireType === 2) value = utf8.decode(r.bytes());
    else return false;
    return true;
  });
  return [key, value];
}
