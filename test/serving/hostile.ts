import fs from 'node:fs';
import { ld, str, vi } from '../protobuf.js';

/** A process's resident memory in MiB (VmRSS), from /proc. */
export function residentMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

/** A float [N, 1] tensor's ValueInfoProto named `name`. */
const column = (name: string) => ld(1, str(name)).concat(ld(2, ld(1, [...vi(1, 1), ...ld(2, [...ld(1, ld(2, str('N'))), ...ld(1, vi(1, 1))])])));

/**
 * An ONNX model of `nodes` Add nodes in a chain (Y = X + 0 + … + 0): small to send, slow to
 * load (onnxruntime takes ~1 s for 40 000 nodes here), quick to run.
 */
export function chainGraph(nodes: number): Uint8Array {
  const parts: Buffer[] = [];
  for (let i = 0; i < nodes; i++) {
    const node = [...ld(1, str(i ? `a${i - 1}` : 'X')), ...ld(1, str('zero')), ...ld(2, str(i === nodes - 1 ? 'Y' : `a${i}`)), ...ld(4, str('Add'))];
    parts.push(Buffer.from(ld(1, node)));
  }
  const zero = [...vi(2, 1), ...ld(8, str('zero')), ...ld(9, [0, 0, 0, 0])];
  parts.push(Buffer.from([...ld(2, str('g')), ...ld(5, zero), ...ld(11, column('X')), ...ld(12, column('Y'))]));
  const graph = Buffer.concat(parts);
  const head = Buffer.from([...vi(1, 8), ...ld(8, [...ld(1, []), ...vi(2, 13)])]);
  return new Uint8Array(Buffer.concat([head, Buffer.from([0x3a, ...varintBytes(graph.length)]), graph]));
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return out;
}
