/** Protobuf wire encoding, enough to hand-craft a ModelProto (or a piece of one) in a test. */

export const varint = (n: bigint): number[] => {
  const out: number[] = [];
  do {
    out.push(Number(n & 0x7fn) | (n > 0x7fn ? 0x80 : 0));
    n >>= 7n;
  } while (n > 0n);
  return out;
};

/** A length-delimited field: a nested message, a string or bytes. */
export const ld = (field: number, payload: number[]) => [...varint(BigInt((field << 3) | 2)), ...varint(BigInt(payload.length)), ...payload];
/** A varint field. */
export const vi = (field: number, value: bigint | number) => [...varint(BigInt(field << 3)), ...varint(BigInt(value))];
export const str = (s: string) => [...Buffer.from(s)];
