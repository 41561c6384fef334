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
  /** Class labels of the graph's first classifier node (ai.onnx.ml `classlabels_*` attribute), in probability-column order. */
  classLabels: string[] | null;
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
  const info: OnnxModelInfo = { irVersion: 0, producerName: '', producerVersion: '', opsets: [], metadata: new Map(), hasGraph: false, classLabels: null };
  readMessage(buf, (field, wireType, r) => {
    if (field === 1 && wireType === 0) info.irVersion = r.varint();
    else if (field === 2 && wireType === 2) info.producerName = utf8.decode(r.bytes());
    else if (field === 3 && wireType === 2) info.producerVersion = utf8.decode(r.bytes());
    else if (field === 7 && wireType === 2) {
      info.hasGraph = true;
      info.classLabels = readGraphClassLabels(r.bytes());
    }
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

const CLASS_LABEL_ATTRIBUTES = new Set(['classlabels_ints', 'classlabels_int64s', 'classlabels_strings']);

/** GraphProto.node (1) → NodeProto.attribute (5) → AttributeProto name (1), ints (8), strings (9). */
function readGraphClassLabels(graph: Uint8Array): string[] | null {
  let labels: string[] | null = null;
  readMessage(graph, (field, wireType, r) => {
    if (field !== 1 || wireType !== 2) return false;
    const node = r.bytes();
    if (labels === null) {
      readMessage(node, (nf, nw, nr) => {
        if (nf !== 5 || nw !== 2) return false;
        const found = readClassLabelAttribute(nr.bytes());
        if (found && labels === null) labels = found;
        return true;
      });
    }
    return true;
  });
  return labels;
}

function readClassLabelAttribute(attribute: Uint8Array): string[] | null {
  let name = '';
  const ints: number[] = [];
  const strings: string[] = [];
  readMessage(attribute, (field, wireType, r) => {
    if (field === 1 && wireType === 2) name = utf8.decode(r.bytes());
    else if (field === 8 && wireType === 0) ints.push(signed(r.varint()));
    else if (field === 8 && wireType === 2) {
      const packed = new Reader(r.bytes());
      while (!packed.done()) ints.push(signed(packed.varint()));
    } else if (field === 9 && wireType === 2) strings.push(utf8.decode(r.bytes()));
    else return false;
    return true;
  });
  if (!CLASS_LABEL_ATTRIBUTES.has(name)) return null;
  return name === 'classlabels_strings' ? strings : ints.map(String);
}

/** int64 varints of negative numbers arrive as two's complement; labels are small, so doubles suffice. */
const signed = (n: number) => (n >= 2 ** 63 ? n - 2 ** 64 : n);
