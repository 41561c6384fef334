import fs from 'node:fs';
import path from 'node:path';
import { fc } from '@fast-check/vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture, ok, tempDir, type ToolResult } from '../helpers.js';
import { CLI, userEnv } from './spawn.js';

/**
 * Can a corrupt ONNX file take the server down? Mutated copies of the demo models go to the real
 * server's register_model (onnxruntime loads whatever survives our own checks), and a registered
 * one is also served once. npm test runs 40; ONNX_FUZZ_RUNS raises it for a long sweep.
 */
const RUNS = Number(process.env.ONNX_FUZZ_RUNS ?? 40);
/** A hung onnxruntime would show as a call with no answer. */
const CALL_TIMEOUT_MS = 20_000;
const SOURCES = ['nba_points_v1.onnx', 'nba_points_v2.onnx', 'nba_win_predictor_v1.5.onnx', 'nba_win_predictor_v2.0.onnx'];

/**
 * Byte-level mutations mostly break the protobuf framing, which our own parser refuses before
 * onnxruntime sees the bytes. Field-level ones keep the framing valid and change one value (a
 * tree node id, a dimension, a type), drop a field or repeat it: those reach onnxruntime.
 */
type Mutation =
  | { kind: 'flip'; at: number[]; xor: number[] }
  | { kind: 'truncate'; at: number }
  | { kind: 'splice'; at: number; cut: number; bytes: Uint8Array }
  | { kind: 'duplicate'; from: number; len: number; at: number }
  | { kind: 'field-value'; at: number; pick: number; bytes: Uint8Array }
  | { kind: 'field-drop'; at: number }
  | { kind: 'field-repeat'; at: number };

/** Positions are drawn as fractions (of the file or of its fields): the same mutation fits every source. */
const frac = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.array(frac, { minLength: 1, maxLength: 8 }),
    xor: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 8, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: frac }),
  fc.record({ kind: fc.constant('splice' as const), at: frac, cut: fc.integer({ min: 0, max: 16 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), from: frac, len: fc.integer({ min: 1, max: 512 }), at: frac }),
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('field-value' as const), at: frac, pick: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }) },
  fc.record({ kind: fc.constant('field-drop' as const), at: frac }),
  fc.record({ kind: fc.constant('field-repeat' as const), at: frac }),
);

/** A protobuf message read without a schema: a length-delimited payload that parses as a message is taken as one. */
interface PbField {
  field: number;
  wire: number;
  value: bigint | Uint8Array | PbField[];
}

function parsePb(buf: Uint8Array, depth = 0): PbField[] | null {
  const out: PbField[] = [];
  let pos = 0;
  const varint = (): bigint | null => {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) return null;
      const b = buf[pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return null;
  };
  while (pos < buf.length) {
    const key = varint();
    if (key === null || key >> 3n === 0n) return null;
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const v = varint();
      if (v === null) return null;
      out.push({ field, wire, value: v });
    } else if (wire === 1 || wire === 5 || wire === 2) {
      const len = wire === 1 ? 8 : wire === 5 ? 4 : Number(varint() ?? -1);
      if (len < 0 || pos + len > buf.length) return null;
      const payload = buf.slice(pos, pos + len);
      pos += len;
      const sub = wire === 2 && len > 0 && depth < 16 ? parsePb(payload, depth + 1) : null;
      out.push({ field, wire, value: sub ?? payload });
    } else return null;
  }
  return out;
}

function serializePb(fields: PbField[]): Buffer {
  const varint = (v: bigint) => {
    const out: number[] = [];
    v = BigInt.asUintN(64, v);
    do {
      out.push(Number(v & 0x7fn) | (v > 0x7fn ? 0x80 : 0));
      v >>= 7n;
    } while (v > 0n);
    return Buffer.from(out);
  };
  return Buffer.concat(
    fields.flatMap((f) => {
      const key = varint(BigInt((f.field << 3) | f.wire));
      if (typeof f.value === 'bigint') return [key, varint(f.value)];
      const payload = Array.isArray(f.value) ? serializePb(f.value) : f.value;
      return f.wire === 2 ? [key, varint(BigInt(payload.length)), payload] : [key, payload];
    }),
  );
}

/** Every field of the tree, with the list that holds it. */
function allFields(fields: PbField[], out: Array<{ list: PbField[]; i: number }> = []): Array<{ list: PbField[]; i: number }> {
  fields.forEach((f, i) => {
    out.push({ list: fields, i });
    if (Array.isArray(f.value)) allFields(f.value, out);
  });
  return out;
}

/** Varints that trip bounds checks: 0, 1, -1 (as int64), int32 edges, 2^32, 2^63, big. */
const VARINTS = [0n, 1n, 2n ** 64n - 1n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n, 2n ** 63n, 255n, 1_000_000n, 2n ** 64n - 2n ** 31n];

function mutate(src: Uint8Array, m: Mutation): Uint8Array {
  const pos = (f: number) => Math.floor(f * src.length);
  const out = Buffer.from(src);
  switch (m.kind) {
    case 'flip':
      m.at.forEach((f, i) => (out[pos(f)] ^= m.xor[i]));
      return out;
    case 'truncate':
      return out.subarray(0, pos(m.at));
    case 'splice':
      return Buffer.concat([out.subarray(0, pos(m.at)), m.bytes, out.subarray(pos(m.at) + m.cut)]);
    case 'duplicate': {
      const region = out.subarray(pos(m.from), pos(m.from) + m.len);
      return Buffer.concat([out.subarray(0, pos(m.at)), region, out.subarray(pos(m.at))]);
    }
  }
  const tree = parsePb(src)!;
  const fields = allFields(tree);
  const { list, i } = fields[Math.floor(m.at * fields.length)];
  const f = list[i];
  if (m.kind === 'field-drop') list.splice(i, 1);
  else if (m.kind === 'field-repeat') list.splice(i, 0, structuredClone(f));
  else if (typeof f.value === 'bigint') f.value = m.pick % 5 === 0 ? BigInt(m.pick) : VARINTS[m.pick % VARINTS.length];
  else if (f.wire !== 2) f.value = Uint8Array.from({ length: f.wire === 1 ? 8 : 4 }, (_, k) => m.bytes[k] ?? (m.pick >> k) & 0xff);
  else f.value = m.bytes;
  return serializePb(tree);
}

let client: Client;
let transport: StdioClientTransport;
let work: string;
let stderr = '';
const outcomes = new Map<string, number>();

beforeAll(async () => {
  const root = tempDir();
  work = path.join(root, 'work');
  fs.mkdirSync(work);
  transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'serve', '--stdio'],
    env: userEnv({ MLOPS_MCP_HOME: path.join(root, 'home'), MLOPS_MCP_ALLOWED_DIRS: `${FIXTURES}:${work}`, LOG_LEVEL: 'warn' }),
    stderr: 'pipe',
  });
  transport.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  client = new Client({ name: 'onnx-fuzz', version: '1.0.0' });
  await client.connect(transport);
  await ok(client, 'register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v1.onnx'), version: 'v1' });
  await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
});
afterAll(async () => {
  console.info(`[onnx-fuzz] ${RUNS} mutated models:`, Object.fromEntries(outcomes));
  await client?.close();
});

async function callTool(name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS })) as ToolResult;
}

/** An answer is a success or an isError carrying a domain error code (no protocol error, no silence). */
const errorCodeOf = (r: ToolResult) => (r._meta?.['mlops-mcp/error'] as { code?: string } | undefined)?.code;

function expectAnswer(r: ToolResult, what: string): string {
  const code = errorCodeOf(r);
  if (r.isError) expect(code, `${what}: ${r.content[0]?.text}`).toMatch(/^[a-z_]+$/);
  if (!r.isError) return 'ok';
  // No path of onnxruntime's build machine and no raw bytes of the file in what the client reads.
  const message = r.content[0]?.text ?? '';
  expect(message, what).not.toContain('onnxruntime_src');
  expect(message, what).not.toMatch(/[\u0000-\u001f\u007f-\u009f\ufffd]/);
  // ONNX_FUZZ_DEBUG=1 tallies messages too (the start of each), to see which layer refused what.
  return process.env.ONNX_FUZZ_DEBUG ? `${code} ${(r.content[0]?.text ?? '').replace(/^.*?\.onnx" /, '').slice(0, 90)}` : code!;
}

async function expectAlive(pid: number): Promise<void> {
  expect(() => process.kill(pid, 0), `server process died; stderr:\n${stderr}`).not.toThrow();
  const r = await callTool('predict', { name: 'nba_points', features: Array(10).fill(1) });
  expect(r.isError, (r.content[0]?.text ?? '') + stderr).toBeFalsy();
}

describe('register_model on corrupt ONNX bytes, against the spawned server', () => {
  it(`answers ${RUNS} mutated models and stays up`, { timeout: 60_000 + RUNS * 3_000 }, async () => {
    const pid = transport.pid!;
    const sources = SOURCES.map((f) => new Uint8Array(fs.readFileSync(fixture(f))));
    // The field-level mutations rewrite the whole file: it must round-trip unchanged.
    for (const src of sources) expect(serializePb(parsePb(src)!).equals(src)).toBe(true);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: SOURCES.length - 1 }), mutation, async (s, m) => {
        const file = path.join(work, `m${n++}.onnx`);
        fs.writeFileSync(file, mutate(sources[s], m));
        const what = `${SOURCES[s]} ${m.kind}`;
        const r = await callTool('register_model', { name: 'fuzzed', artifact_path: file });
        const outcome = expectAnswer(r, what);
        // A file that cannot be registered is the caller's to fix: invalid_model, never internal.
        expect(errorCodeOf(r), `${what}: ${r.content[0]?.text}`).not.toBe('internal');
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (outcome === 'ok') {
          // onnxruntime accepted it: serve it once too (some mutated attributes only matter at run time).
          const model = r.structuredContent!.model as { version: string; feature_names: string[] | null };
          const width = model.feature_names?.length ?? (SOURCES[s].startsWith('nba_win') ? 8 : 10);
          const served = expectAnswer(await callTool('predict', { name: 'fuzzed', version: model.version, features: Array(width).fill(1) }), `${what} predict`);
          outcomes.set(`predict ${served}`, (outcomes.get(`predict ${served}`) ?? 0) + 1);
        }
        fs.rmSync(file);
        await expectAlive(pid);
      }),
      // A dead server fails every later run: report the first failure, do not shrink against it.
      { numRuns: RUNS, endOnFailure: true },
    );
  });
});
