import { describe, expect, it } from 'vitest';
import { FrameReader, FrameTooLargeError, FrameWriter, readJsonFrame, writeJsonFrame, type WireTensor } from '../../src/serving/model-wire.js';
import { readRun, readRunReply, writeRun, writeRunReply } from '../../src/serving/run-wire.js';

const tensors: Array<{ index: number; tensor: WireTensor }> = [
  { index: 0, tensor: { type: 'float32', dims: [2, 3], data: Float32Array.of(1.5, -2, 3, 4, 5, 6) } },
  { index: 3, tensor: { type: 'int64', dims: [3], data: BigInt64Array.of(1n, -(2n ** 62n), 3n) } },
  { index: 1, tensor: { type: 'string', dims: [2], data: ['ä', 'b"c'] } },
  { index: 2, tensor: { type: 'float64', dims: [1], data: Float64Array.of(Math.PI) } },
  { index: 7, tensor: { type: 'bool', dims: [1], data: Uint8Array.of(1) } },
];

/** The frames a reader makes of `bytes` fed `step` bytes at a time. */
function reassemble(bytes: Buffer, step: number): Uint8Array[] {
  const reader = new FrameReader(1 << 20);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += step) out.push(...reader.push(Buffer.from(bytes.subarray(i, i + step))));
  return out;
}

describe('model process frames', () => {
  it('carries a run and its answer, every element type, whatever the chunks the socket cuts them into', () => {
    const w = new FrameWriter();
    const run = Buffer.from(writeRun(w, 42, tensors, [4, 0]));
    const reply = Buffer.from(writeRunReply(w, tensors));
    const json = Buffer.from(writeJsonFrame(w, { ok: true, note: 'x' }, [Uint8Array.of(9, 8, 7)]));
    for (const step of [1, 3, 7, 64, 1 << 20]) {
      const [a, b, c] = reassemble(Buffer.concat([run, reply, json]), step);
      // The model process reads a body at offset 0 of its own buffer, as here.
      const request = readRun(new Uint8Array(a));
      expect(request.session).toBe(42);
      expect(request.fetches).toEqual([4, 0]);
      expect(request.inputs).toEqual(tensors);
      expect(readRunReply(b)).toEqual(tensors);
      const frame = readJsonFrame<{ ok: boolean; note: string }>(c);
      expect(frame.header).toEqual({ ok: true, note: 'x' });
      expect([...frame.blobs[0]]).toEqual([9, 8, 7]);
    }
  });

  it('refuses a frame announced larger than the limit before reading it', () => {
    const reader = new FrameReader(100);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(101);
    expect(() => reader.push(head)).toThrow(FrameTooLargeError);
  });
});
