#!/usr/bin/env node
// What running a model off the event loop costs per call, for each way of doing it, against
// session.run in process. One [1,10] float32 row of nba_points v1 per call, sequential, after a
// warm-up; each way measured in blocks interleaved with the others (this machine is shared).
//
//   node tools/bench/model-ipc.mjs [calls per way, default 6000] [idle µs between calls, default 150]
//
// Ways: in process (async session.run, as the server ran models before); a worker thread answered
// by postMessage (input and output buffers moved, not copied); a worker thread woken through a
// SharedArrayBuffer (Atomics.wait there, Atomics.waitAsync here); a child process through Node's
// IPC channel (JSON, and the "advanced" structured-clone serialization); a child process through a
// socketpair with length-prefixed binary frames, the child blocking in readSync (no event loop on
// its side), the same with the child on its event loop, and with the child reading the socket
// itself (spinning) for up to 300 µs after each answer before it sleeps. Prints p50/p90/p99 µs of
// the round trip and this thread's CPU µs per call (from /proc, 10 ms ticks: what the server's
// event loop pays). With an idle gap before each call (the default, as between a server's
// requests) every way but the first pays for waking a sleeping thread or process.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { FIXTURES, ROOT, summarize } from './lib.mjs';

process.env.ORT_DISABLE_TELEMETRY = '1';
const calls = Number(process.argv[2] ?? 6000);
const idleUs = Number(process.argv[3] ?? 150);
const MODEL = path.join(FIXTURES, 'nba_points_v1.onnx');
const K = 10;
const ORT_BINDING = path.join(ROOT, 'node_modules', 'onnxruntime-node', 'dist', 'binding.js');
const OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1 };

/** CPU ticks (10 ms) of this process's main thread. */
function mainTicks() {
  const stat = fs.readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

// The code both worker and child run to load the model and answer one row: the synchronous
// binding (onnxruntime-node's own async run is this call inside a setImmediate).
const LOAD = `
  process.env.ORT_DISABLE_TELEMETRY = '1';
  const { binding, initOrt } = require(${JSON.stringify(ORT_BINDING)});
  const { Tensor } = require(require.resolve('onnxruntime-common', { paths: [${JSON.stringify(ROOT)}] }));
  initOrt();
  const bytes = require('node:fs').readFileSync(${JSON.stringify(MODEL)});
  const session = new binding.InferenceSession();
  session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, ${JSON.stringify(OPTIONS)});
  const input = session.inputMetadata[0].name;
  const fetches = Object.fromEntries(session.outputMetadata.map((m) => [m.name, null]));
  const runRow = (x) => {
    const out = session.run({ [input]: new Tensor('float32', x, [1, ${K}]) }, fetches, {});
    const first = Object.values(out)[0];
    return first.data;
  };
  // A reply frame: u32 length, then the output's bytes.
  const replyFrame = (y) => {
    const out = Buffer.alloc(4 + y.byteLength);
    out.writeUInt32LE(y.byteLength, 0);
    Buffer.from(y.buffer, y.byteOffset, y.byteLength).copy(out, 4);
    return out;
  };
  // Answers the whole frames at the start of \`pending\` through \`send\`: what is left, and how many were answered.
  const answerFrames = (pending, send) => {
    let n = 0;
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32LE(0)) {
      const len = pending.readUInt32LE(0);
      const body = Buffer.from(pending.subarray(4, 4 + len));
      pending = pending.subarray(4 + len);
      send(replyFrame(runRow(new Float32Array(body.buffer, body.byteOffset, ${K}))));
      n++;
    }
    return { pending, n };
  };
`;

const WORKER_POST = `${LOAD}
  const { parentPort } = require('node:worker_threads');
  parentPort.on('message', (buf) => {
    const y = runRow(new Float32Array(buf));
    const copy = new Float32Array(y);
    parentPort.postMessage(copy.buffer, [copy.buffer]);
  });
`;

const WORKER_SAB = `${LOAD}
  const { workerData } = require('node:worker_threads');
  const flag = new Int32Array(workerData, 0, 1);
  const x = new Float32Array(workerData, 8, ${K});
  const y = new Float32Array(workerData, 8 + 4 * ${K}, 16);
  for (;;) {
    Atomics.wait(flag, 0, 0);
    const out = runRow(new Float32Array(x));
    y.set(out);
    Atomics.store(flag, 0, 2);
    Atomics.notify(flag, 0);
    Atomics.wait(flag, 0, 2);
  }
`;

const CHILD_IPC = `${LOAD}
  process.on('message', (m) => process.send(Array.from(runRow(Float32Array.from(m)))));
`;

const CHILD_PIPE_BLOCKING = `${LOAD}
  const fs = require('node:fs');
  const head = Buffer.alloc(4);
  const body = Buffer.alloc(4 * ${K});
  const readFully = (b) => { let got = 0; while (got < b.length) { const n = fs.readSync(3, b, got, b.length - got, null); if (n === 0) process.exit(0); got += n; } };
  for (;;) {
    readFully(head);
    readFully(body);
    fs.writeSync(3, replyFrame(runRow(new Float32Array(body.buffer, body.byteOffset, ${K}))));
  }
`;

const CHILD_PIPE_LOOP = `${LOAD}
  const net = require('node:net');
  const sock = new net.Socket({ fd: 3, readable: true, writable: true });
  let pending = Buffer.alloc(0);
  sock.on('data', (chunk) => {
    ({ pending } = answerFrames(pending.length ? Buffer.concat([pending, chunk]) : chunk, (frame) => sock.write(frame)));
  });
`;

// The child on its event loop (libuv made fd 3 non-blocking), and after each answer it keeps
// reading the socket itself for up to SPIN µs before going back to sleep in the event loop.
const CHILD_PIPE_SPIN = `${LOAD}
  const fs = require('node:fs');
  const net = require('node:net');
  const SPIN = Number(process.env.SPIN_US) / 1000;
  const sock = new net.Socket({ fd: 3, readable: true, writable: false });
  const buf = Buffer.alloc(65536);
  let pending = Buffer.alloc(0);
  const serve = () => {
    const answered = answerFrames(pending, (frame) => fs.writeSync(3, frame));
    pending = answered.pending;
    return answered.n > 0;
  };
  const spin = () => {
    let until = performance.now() + SPIN;
    while (performance.now() < until) {
      let n = 0;
      try { n = fs.readSync(3, buf, 0, buf.length, null); } catch (e) { if (e.code !== 'EAGAIN') throw e; }
      if (n > 0) { pending = Buffer.concat([pending, buf.subarray(0, n)]); if (serve()) until = performance.now() + SPIN; }
    }
  };
  sock.on('data', (chunk) => { pending = pending.length ? Buffer.concat([pending, chunk]) : chunk; if (serve()) spin(); });
`;

const rows = Array.from({ length: 64 }, (_, i) => Float32Array.from({ length: K }, (_, j) => ((i * 7 + j * 3) % 11) / 3));

async function inProcess() {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(fs.readFileSync(MODEL), OPTIONS);
  const input = session.inputNames[0];
  return {
    call: async (x) => (await session.run({ [input]: new ort.Tensor('float32', x, [1, K]) }))[session.outputNames[0]].data,
    close: () => session.release(),
  };
}

async function workerPost() {
  const w = new Worker(WORKER_POST, { eval: true });
  let resolve;
  w.on('message', (buf) => resolve(new Float32Array(buf)));
  return {
    call: (x) =>
      new Promise((r) => {
        resolve = r;
        const copy = new Float32Array(x);
        w.postMessage(copy.buffer, [copy.buffer]);
      }),
    close: () => w.terminate(),
  };
}

async function workerSab() {
  const sab = new SharedArrayBuffer(8 + 4 * K + 64);
  const flag = new Int32Array(sab, 0, 1);
  const x = new Float32Array(sab, 8, K);
  const y = new Float32Array(sab, 8 + 4 * K, 16);
  const w = new Worker(WORKER_SAB, { eval: true, workerData: sab });
  return {
    async call(row) {
      x.set(row);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      const wait = Atomics.waitAsync(flag, 0, 1);
      if (wait.async) await wait.value;
      const out = y.slice(0, 1);
      Atomics.store(flag, 0, 0);
      Atomics.notify(flag, 0);
      return out;
    },
    close: () => w.terminate(),
  };
}

async function childIpc(serialization) {
  const child = spawn(process.execPath, ['-e', CHILD_IPC], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization });
  let resolve;
  child.on('message', (m) => resolve(m));
  return {
    call: (x) =>
      new Promise((r) => {
        resolve = r;
        child.send(serialization === 'advanced' ? x : Array.from(x));
      }),
    close: () => child.kill('SIGKILL'),
  };
}

async function childPipe(code, env = process.env) {
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit', 'pipe'], env });
  const sock = child.stdio[3];
  let resolve;
  let pending = Buffer.alloc(0);
  sock.on('data', (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    if (pending.length >= 4 && pending.length >= 4 + pending.readUInt32LE(0)) {
      const len = pending.readUInt32LE(0);
      const out = new Float32Array(pending.buffer.slice(pending.byteOffset + 4, pending.byteOffset + 4 + len));
      pending = pending.subarray(4 + len);
      resolve(out);
    }
  });
  return {
    call: (x) =>
      new Promise((r) => {
        resolve = r;
        const frame = Buffer.alloc(4 + x.byteLength);
        frame.writeUInt32LE(x.byteLength, 0);
        Buffer.from(x.buffer, x.byteOffset, x.byteLength).copy(frame, 4);
        sock.write(frame);
      }),
    close: () => child.kill('SIGKILL'),
  };
}

const ways = [
  ['in process (session.run)', inProcess],
  ['worker thread, postMessage', workerPost],
  ['worker thread, SharedArrayBuffer + Atomics', workerSab],
  ['child process, IPC channel (JSON)', () => childIpc('json')],
  ['child process, IPC channel (advanced)', () => childIpc('advanced')],
  ['child process, socketpair, child blocks in readSync', () => childPipe(CHILD_PIPE_BLOCKING)],
  ['child process, socketpair, child on its event loop', () => childPipe(CHILD_PIPE_LOOP)],
  ['child process, socketpair, child reads ≤ 300 µs after answering', () => childPipe(CHILD_PIPE_SPIN, { ...process.env, SPIN_US: '300' })],
];

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const opened = [];
try {
  for (const [label, open] of ways) opened.push({ label, way: await open(), lat: [], ticks: 0 });
  // The same answer from every way (and a warm-up).
  for (const o of opened) {
    for (let i = 0; i < 2000; i++) await o.way.call(rows[i & 63]);
    process.stderr.write(`[ipc] ${o.label}: ${(await o.way.call(rows[0]))[0]}\n`);
  }
  const blocks = 10;
  const per = Math.ceil(calls / blocks);
  for (let b = 0; b < blocks; b++) {
    for (const o of b % 2 ? [...opened].reverse() : opened) {
      const before = mainTicks();
      for (let i = 0; i < per; i++) {
        if (idleUs) Atomics.wait(sleeper, 0, 0, idleUs / 1000);
        const t = performance.now();
        await o.way.call(rows[i & 63]);
        o.lat.push((performance.now() - t) * 1000);
      }
      o.ticks += mainTicks() - before;
    }
  }
  const width = Math.max(...opened.map((o) => o.label.length));
  process.stdout.write(`${'way'.padEnd(width)}  p50 µs  p90 µs  p99 µs  main-thread CPU µs/call  (${calls} calls each, ${idleUs} µs idle before each)\n`);
  for (const o of opened) {
    const s = summarize(o.lat);
    const cpu = (o.ticks * 10_000) / o.lat.length;
    process.stdout.write(
      `${o.label.padEnd(width)}  ${s.p50.toFixed(1).padStart(6)}  ${s.p90.toFixed(1).padStart(6)}  ${s.p99.toFixed(1).padStart(6)}  ${cpu.toFixed(1).padStart(23)}\n`,
    );
  }
} finally {
  for (const o of opened) await o.way.close();
}
