/**
 * A model process's entry (see ModelHost): onnxruntime sessions, one request at a time, read from
 * and answered on fd 3 (a socketpair to the server). Run as dist/serving/model-host-main.js.
 *
 * It blocks in read() between requests and runs onnxruntime-node's synchronous binding (its
 * promise API is the same call inside a setImmediate): no event loop turn between a request's
 * bytes and its run. Nothing here can stall the server: the server kills this process at its
 * deadline, and its data segment is capped (RLIMIT_DATA) by the shell that started it. It writes
 * nothing to stdout (the server's MCP channel in stdio mode).
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { walk, walkError } from './model-bytes.js';
import type { FailureKind, HostReply, HostRequest } from './model-protocol.js';
import { ExternalDataError, findExternalTensor } from './onnx-proto.js';
import { FORM_JSON, FORM_RUN, FrameWriter, readJsonFrame, writeJsonFrame, type WireTensor } from './model-wire.js';
import { onnxruntime, openSession, OutputTooLargeError, runSession, type OrtSession } from './ort-session.js';
import { readRun, writeRunReply } from './run-wire.js';
import { timeRuns, zeroFeeds } from './run-timing.js';

const FD = 3;
const settings = JSON.parse(process.argv[2] ?? '{}') as { maxOutputBytes?: number };
const maxOutputBytes = settings.maxOutputBytes ?? 64 * 1024 * 1024;

// A server that dies leaves this process running whatever run it was in (a read() that would
// answer 0 comes only after it): a thread of its own ends it once its parent is gone.
const parent = process.ppid;
new Worker(`setInterval(() => { if (process.ppid !== ${parent}) process.kill(process.pid, 'SIGKILL'); }, 2000);`, { eval: true }).unref();

const sessions = new Map<number, OrtSession>();
const writer = new FrameWriter();

function loaded(id: number): OrtSession {
  const s = sessions.get(id);
  if (!s) throw new Error(`session ${id} is not loaded in this model process`);
  return s;
}

const run = (s: OrtSession, feeds: ReadonlyArray<{ name: string; tensor: WireTensor }>, fetches: readonly string[]) =>
  runSession(s, feeds, fetches, maxOutputBytes);

const isMemory = (message: string) => /bad_alloc|failed to allocate|out of memory|allocation failed|invalid (typed )?array length/i.test(message);

function handle(request: HostRequest, blobs: Uint8Array[]): { reply: HostReply; blobs?: Uint8Array[] } {
  switch (request.op) {
    case 'load': {
      sessions.get(request.session)?.session.dispose();
      sessions.delete(request.session);
      const bytes = blobs[0];
      // onnxruntime would read the file such a tensor names, relative to this process's directory.
      const external = findExternalTensor(bytes);
      if (external) throw new ExternalDataError(external);
      const s = openSession(bytes, request.threads);
      sessions.set(request.session, s);
      return { reply: { ok: true, inputs: s.inputs, outputs: s.outputs } };
    }
    case 'probe': {
      const s = loaded(request.session);
      const feeds = zeroFeeds(s.inputs);
      if (!feeds) return { reply: { ok: true, ran: false } };
      try {
        run(
          s,
          feeds,
          s.outputs.map((m) => m.name),
        );
      } catch (e) {
        // A run that fails on zeros (a shape the model rejects, say) is no refusal; a run that
        // needs more memory than the cap, or answers more than a reply may carry, is.
        if (e instanceof OutputTooLargeError || isMemory(String(e))) throw e;
        return { reply: { ok: true, ran: false } };
      }
      return { reply: { ok: true, ran: true } };
    }
    case 'time':
      return { reply: { ok: true, micros: timeRuns(loaded(request.session), request.rows, request.stopPast, maxOutputBytes) } };
    case 'release':
      sessions.get(request.session)?.session.dispose();
      sessions.delete(request.session);
      return { reply: { ok: true } };
    default: {
      try {
        const walked = walk(request, blobs);
        return { reply: { ok: true, ...walked.reply }, blobs: walked.blobs };
      } catch (e) {
        // Bytes that are not a model are the walk's answer, whatever failed in it.
        if (isMemory(String(e))) throw e;
        throw new WalkFailure(walkError(e) ?? { name: 'Error', message: e instanceof Error ? e.message : String(e) });
      }
    }
  }
}

class WalkFailure extends Error {
  constructor(readonly walk: NonNullable<ReturnType<typeof walkError>>) {
    super(walk.message);
  }
}

/** Answers one request's body (its form first). */
function answer(body: Uint8Array): Buffer {
  try {
    if (body[0] === FORM_RUN) {
      const request = readRun(body);
      const s = loaded(request.session);
      const feeds = request.inputs.map(({ index, tensor }) => ({ name: s.inputs[index]?.name ?? `#${index}`, tensor }));
      const fetches = request.fetches.map((i) => s.outputs[i]?.name ?? `#${i}`);
      return writeRunReply(
        writer,
        run(s, feeds, fetches).map((tensor, i) => ({ index: request.fetches[i], tensor })),
      );
    }
    if (body[0] !== FORM_JSON) throw new Error(`unknown frame form ${body[0]}`);
    const { header, blobs } = readJsonFrame<HostRequest>(body);
    const handled = handle(header, blobs);
    return writeJsonFrame(writer, handled.reply, handled.blobs);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const walked = e instanceof WalkFailure ? e.walk : walkError(e);
    const kind: FailureKind = e instanceof OutputTooLargeError ? 'output' : isMemory(message) ? 'memory' : walked ? 'format' : 'onnxruntime';
    return writeJsonFrame(writer, { ok: false, error: message, kind, ...(walked ? { walk: walked } : {}) } satisfies HostReply);
  }
}

function readFully(buffer: Uint8Array, length: number): boolean {
  let got = 0;
  while (got < length) {
    const n = fs.readSync(FD, buffer, got, length - got, null);
    if (n === 0) return false;
    got += n;
  }
  return true;
}

function send(frame: Buffer): void {
  let sent = 0;
  while (sent < frame.length) sent += fs.writeSync(FD, frame, sent, frame.length - sent);
}

send(writeJsonFrame(writer, { ok: true, ready: true, version: onnxruntime().version } satisfies HostReply));
const head = new Uint8Array(4);
// The body is read at offset 0 of a buffer of its own, so the tensors in it view it aligned.
let scratch = new Uint8Array(64 * 1024);
// The server closing its end (or exiting) ends this process: read() answers 0.
while (readFully(head, 4)) {
  const length = new DataView(head.buffer).getUint32(0, true);
  if (length > scratch.length) scratch = new Uint8Array(length);
  if (!readFully(scratch, length)) break;
  send(answer(scratch.subarray(0, length)));
  // A model's bytes or a large batch grew the buffers: not kept for the small requests that follow.
  if (scratch.length > 1 << 20) scratch = new Uint8Array(64 * 1024);
  writer.shrink(1 << 20);
}
process.exit(0);
