import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rebuiltError } from './model-bytes.js';
import { ModelLimitError, type ModelLimits } from './model-limits.js';
import type { HostReply, HostRequest } from './model-protocol.js';
import { FORM_JSON, FrameReader, FrameTooLargeError, FrameWriter, readJsonFrame, writeJsonFrame, type Frame, type WireTensor } from './model-wire.js';
import { readRunReply, writeRun } from './run-wire.js';

/** Which time limit a request is held to: a run's, a load's, or the process's start. */
export type Deadline = 'run' | 'load' | 'start';

/** A process that has not started (Node and onnxruntime loaded: ~0.1–0.3 s) in this long is broken. */
const START_TIMEOUT_MS = 20_000;

type Tensors = Array<{ index: number; tensor: WireTensor }>;

interface Waiting {
  resolve: (body: Uint8Array) => void;
  reject: (e: Error) => void;
  deadline: Deadline;
  /** When the process began on it: when it reached the head of the queue. */
  since: number;
}

/**
 * One model process: onnxruntime sessions in a child of its own, answering requests in order over
 * a socketpair (model-host-main.ts answers one at a time; several may wait in the socket, so it
 * goes from one to the next without sleeping). The process is started with its data segment capped
 * at MODEL_MEMORY_MB (RLIMIT_DATA, set by the shell that execs it: Node has no setrlimit), so a
 * model that allocates more fails there, not here. A request not answered by its deadline,
 * counted from the answer before it, kills the process: onnxruntime cannot be interrupted inside a
 * run (and a worker thread terminated mid-run aborts the whole server), a process can. The request
 * under way then fails with the limit, those behind it with NotStartedError (to be sent elsewhere).
 * A killed or crashed host stays dead; its owner starts another.
 */
export class ModelHost {
  private readonly child: ChildProcess;
  private readonly socket: Socket;
  private readonly reader: FrameReader;
  private readonly writer = new FrameWriter();
  /** Requests sent and not answered, in order: the first is under way. */
  private readonly waiting: Waiting[] = [];
  private greet: ((version: string) => void) | null = null;
  /** Checks the request under way against its deadline; runs only while requests come. */
  private watchdog: NodeJS.Timeout | null = null;
  private lastRequest = 0;
  private ended: Error | null = null;
  private started = false;
  /** onnxruntime-node's version once the process has started; rejects if it never does. */
  readonly ready: Promise<string>;

  constructor(
    private readonly limits: ModelLimits,
    /** Names the process in logs and errors ("model process", "model check process"). */
    readonly label: string,
    script: string = hostScript(),
  ) {
    this.reader = new FrameReader(limits.maxOutputBytes + 1024 * 1024);
    this.child = spawnCapped(script, limits);
    this.socket = this.child.stdio[3] as Socket;
    // Starting is watched as a request is: the greeting answers it, a failure or the start deadline rejects it.
    this.ready = new Promise<string>((resolve, reject) => {
      this.greet = resolve;
      this.wait({ resolve: () => undefined, reject, deadline: 'start', since: performance.now() });
    });
    this.ready.then(() => (this.started = true)).catch(() => undefined);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (e) => this.end(new ModelProcessError(`the ${label} failed: ${e.message}`), true));
    this.child.on('error', (e) => this.end(new ModelProcessError(`the ${label} could not be started: ${e.message}`), true));
    this.child.on('exit', (code, signal) => this.end(this.exited(code, signal), false));
    // An idle host keeps nothing alive: a request in flight does, through its watchdog.
    this.child.unref();
    this.socket.unref();
  }

  /** Whether `ready` has resolved: requests may be sent. */
  get isReady(): boolean {
    return this.started;
  }

  /** Whether it can take requests (started or starting, not killed or crashed). */
  get alive(): boolean {
    return this.ended === null;
  }

  /** Why it ended, once it has. */
  get failure(): Error | null {
    return this.ended;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** A JSON request (load, probe, release); rejects with the process's failure, or ModelLimitError at the deadline. */
  async request(request: HostRequest, blobs: readonly Uint8Array[], deadline: 'run' | 'load'): Promise<Frame<HostReply>> {
    const body = await this.send(writeJsonFrame(this.writer, request, blobs), deadline);
    return readReply(body, this.limits);
  }

  /** Runs session `session` on the inputs (by index), answering the fetched outputs (by index). */
  async run(session: number, inputs: Tensors, fetches: readonly number[]): Promise<Tensors> {
    const body = await this.send(writeRun(this.writer, session, inputs, fetches), 'run');
    if (body[0] === FORM_JSON) readReply(body, this.limits);
    return readRunReply(body);
  }

  /** Ends the process now; a request under way fails with `why`. */
  kill(why: Error = new ModelProcessError(`the ${this.label} was stopped`)): void {
    this.end(why, true);
  }

  /** Requests sent and not yet answered. */
  get pending(): number {
    return this.waiting.length;
  }

  private send(frame: Buffer, deadline: 'run' | 'load'): Promise<Uint8Array> {
    if (this.ended) return Promise.reject(new NotStartedError(this.ended));
    return new Promise((resolve, reject) => {
      this.wait({ resolve, reject, deadline, since: performance.now() });
      this.socket.write(frame);
      // The socket still holds the frame (a write it queued): the next one needs a buffer of its own.
      if (this.socket.writableLength > 0) this.writer.drop();
    });
  }

  private wait(w: Waiting): void {
    this.waiting.push(w);
    this.lastRequest = w.since;
    if (!this.watchdog) {
      const every = Math.min(250, Math.max(5, Math.min(this.limits.runTimeoutMs, this.limits.loadTimeoutMs) / 20));
      this.watchdog = setInterval(() => this.check(), every);
    }
    this.watchdog.ref();
  }

  /** The watchdog's tick: the request under way past its deadline ends the process; an idle spell stops the watchdog. */
  private check(): void {
    const w = this.waiting[0];
    const now = performance.now();
    if (w) {
      const limit = w.deadline === 'run' ? this.limits.runTimeoutMs : w.deadline === 'load' ? this.limits.loadTimeoutMs : START_TIMEOUT_MS;
      if (now - w.since < limit) return;
      const why =
        w.deadline === 'start'
          ? new ModelProcessError(`the ${this.label} did not start within ${START_TIMEOUT_MS} ms`)
          : new ModelLimitError(w.deadline === 'run' ? 'run_time' : 'load_time', this.limits);
      this.end(why, true);
    } else if (now - this.lastRequest > 1000) {
      this.stopWatchdog();
    }
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  /** An exit nobody asked for: by a signal while working, most likely the allocator failing at the memory cap. */
  private exited(code: number | null, signal: NodeJS.Signals | null): ModelProcessError {
    if (!signal) return new ModelProcessError(`the ${this.label} exited (code ${code})`);
    const head = this.waiting[0];
    const doing = head ? { run: ' while running a model', load: ' while loading a model', start: ' while starting' }[head.deadline] : '';
    return new ModelProcessError(
      `the ${this.label} ended (${signal})${doing}, as one that needs more memory than MODEL_MEMORY_MB (${this.limits.memoryMb} MiB) allows does`,
      signal,
    );
  }

  private onData(chunk: Buffer): void {
    let bodies: Uint8Array[];
    try {
      bodies = this.reader.push(chunk);
    } catch (e) {
      this.end(
        e instanceof FrameTooLargeError ? new ModelLimitError('output', this.limits) : new ModelProcessError(`the ${this.label} sent a broken frame`),
        true,
      );
      return;
    }
    for (const body of bodies) {
      const waiting = this.waiting.shift();
      // The next request starts now: its deadline counts from here.
      if (this.waiting.length) this.waiting[0].since = performance.now();
      else this.watchdog?.unref();
      if (this.greet) {
        const greet = this.greet;
        this.greet = null;
        try {
          const hello = readJsonFrame<HostReply>(body).header;
          greet(hello.ok && hello.version ? hello.version : '?');
        } catch {
          this.end(new ModelProcessError(`the ${this.label} sent a broken greeting`), true);
        }
        continue;
      }
      waiting?.resolve(body);
    }
  }

  private end(why: Error, kill: boolean): void {
    if (this.ended) return;
    this.ended = why;
    this.stopWatchdog();
    if (kill) this.child.kill('SIGKILL');
    this.socket.destroy();
    const [head, ...behind] = this.waiting.splice(0);
    head?.reject(why);
    for (const w of behind) w.reject(new NotStartedError(why));
  }
}

/** A JSON reply, or its failure as the error it stands for. */
function readReply(body: Uint8Array, limits: ModelLimits): Frame<HostReply> {
  const frame = readJsonFrame<HostReply>(body);
  const reply = frame.header;
  if (reply.ok) return frame;
  if (reply.kind === 'format') throw rebuiltError(reply.walk ?? { name: 'Error', message: reply.error });
  throw reply.kind === 'onnxruntime' ? new ModelRunFailure(reply.error) : new ModelLimitError(reply.kind, limits, reply.error);
}

/** A request the process never began on (it ended first, for `cause`): it may be sent to another. */
export class NotStartedError extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

/** onnxruntime refused a request (a model it cannot load, inputs it cannot run): the process is fine. */
export class ModelRunFailure extends Error {}

/** The process ended without being asked to (a crash: most often past its memory cap), or could not start. */
export class ModelProcessError extends Error {
  constructor(
    message: string,
    readonly signal: string | null = null,
  ) {
    super(message);
  }
}

/**
 * Starts the script under /bin/sh, which lowers RLIMIT_DATA to the cap (in KiB) and execs Node
 * (same pid, so the kill reaches it). A hard limit already lower is kept (ulimit cannot raise it).
 */
function spawnCapped(script: string, limits: ModelLimits): ChildProcess {
  const settings = JSON.stringify({ maxOutputBytes: limits.maxOutputBytes });
  const stdio: Array<'ignore' | 'inherit' | 'pipe'> = ['ignore', 'ignore', 'inherit', 'pipe'];
  const env = { ...process.env, ORT_DISABLE_TELEMETRY: '1' };
  if (process.platform !== 'linux') return spawn(process.execPath, [script, settings], { stdio, env });
  const kib = limits.memoryMb * 1024;
  return spawn('/bin/sh', ['-c', `ulimit -d ${kib} 2>/dev/null; exec "$0" "$@"`, process.execPath, script, settings], { stdio, env });
}

/** The built entry beside this module (dist), else the package's dist copy (src, as the tests run). */
export function hostScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'model-host-main.js'), path.resolve(here, '../../dist/serving/model-host-main.js')];
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) throw new Error('dist/serving/model-host-main.js is missing: run npm run build (models run in processes started from it)');
  return found;
}
