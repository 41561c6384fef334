import { INLINE_ROW_STEPS, type InlineModels, type Timing } from './inline-models.js';
import { ModelHost, ModelProcessError, NotStartedError } from './model-host.js';
import type { ModelLimits } from './model-limits.js';
import type { ValueMeta } from './model-protocol.js';
import type { WireTensor } from './model-wire.js';

export interface PoolOptions {
  /** Model processes (at least 1; 2 or more so that one slow model never holds every run). */
  processes: number;
  /** onnxruntime intra-op threads per session (MODEL_THREADS). */
  threads: number;
  limits: ModelLimits;
  /** A model's bytes, checked against its key (sha256); read again for every process that loads it. */
  readModel: (key: string) => Promise<Uint8Array>;
  /** Told when a process ended (killed at a deadline, or crashed); the next job starts another. */
  onRestart?: (why: Error) => void;
  /** Models that may run on the server's own thread once timed (absent: every run goes to a process). */
  inline?: InlineModels;
  script?: string;
}

export interface PoolStats {
  loads: number;
  loadFailures: number;
  loadMsTotal: number;
  /** Processes started to replace one that ended under a job (killed at a deadline, or crashed). */
  restarts: number;
}

export interface PoolStatus {
  processes: number;
  running: number;
  busy: number;
  queued: number;
  restarts: number;
  /** onnxruntime-node's version, once a process has started. */
  version: string | null;
  /** Models run on the server's own thread (small runs only). */
  inline: number;
}

/** A model loaded in one process: its session number there, and its inputs and outputs by name. */
interface Session {
  id: number;
  inputs: ValueMeta[];
  outputs: ValueMeta[];
  inputIndex: Map<string, number>;
  outputIndex: Map<string, number>;
}

interface Slot {
  host: ModelHost | null;
  loaded: Map<string, Session>;
  nextId: number;
  /** The model of the jobs sent to the process ('' for housekeeping), or null when it has none. */
  key: string | null;
  /** Jobs sent to the process and not settled: all of the model `key`. */
  inFlight: number;
  /** Session numbers to release in the process before its next job. */
  releases: Set<number>;
}

/** Runs of one model sent to its process at once: the next waits in the socket, not for a wake-up. */
const PIPELINE = 4;

interface Job {
  key: string;
  work: (host: ModelHost, slot: Slot) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (e: unknown) => void;
}

/** A model failed to load in a process (onnxruntime refused it, or it went past a limit): the cause says which. */
export class ModelLoadError extends Error {
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * Runs models in a few processes (ModelHost). A job waits in one queue, first come first served,
 * for a process: an idle one, preferring one that has its model loaded (a process loads a model
 * on its first job for it), or one already running that model with fewer than PIPELINE runs sent
 * (they run one after the other there; never behind another model's). One model runs in at most
 * all but one of the processes at once, so a model that runs until its deadline — however many
 * calls ask for it — leaves a process to every other model. A process killed at a deadline or
 * crashed is replaced at once, with nothing loaded (its models load again as jobs need them), and
 * the jobs it had not begun go back to the queue. A model that fails to load in one process while
 * another holds it (its file damaged since) runs only where it is loaded, as long as it is: the
 * loaded session serves what was registered. A model InlineModels holds answers the runs it takes
 * on the server's thread instead, without the queue.
 */
export class ModelPool {
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private readonly perModel: number;
  /** Models that failed to load in a process while another held them: run only where loaded. */
  private readonly pinned = new Set<string>();
  private version: string | null = null;
  private started = false;
  private closed = false;
  readonly stats: PoolStats = { loads: 0, loadFailures: 0, loadMsTotal: 0, restarts: 0 };

  constructor(private readonly options: PoolOptions) {
    const n = Math.max(1, options.processes);
    this.slots = Array.from({ length: n }, () => ({ host: null, loaded: new Map(), nextId: 1, key: null, inFlight: 0, releases: new Set() }));
    this.perModel = Math.max(1, n - 1);
  }

  /** Runs the model on the feeds (by input name); answers the outputs named in `fetches`. */
  run(key: string, feeds: Readonly<Record<string, WireTensor>>, fetches: readonly string[]): Promise<Record<string, WireTensor>> {
    // A model held inline answers here when the run is within its timed size (null otherwise).
    const inline = this.options.inline;
    if (inline) {
      try {
        const out = inline.run(key, feeds, fetches);
        if (out) return Promise.resolve(out);
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
    const work = async (host: ModelHost, slot: Slot) => runOn(host, await this.loadOn(host, slot, key), feeds, fetches);
    // The common case without the queue: nothing waits, and a process that has the model takes it.
    const slot = this.queue.length ? null : this.slotFor(key, true);
    return slot ? this.start(slot, key, work) : this.enqueue(key, work);
  }

  /** Loads the model in a process unless one has it. */
  async load(key: string): Promise<void> {
    if (this.slots.some((s) => s.host?.alive && s.loaded.has(key))) return;
    await this.enqueue(key, (host, slot) => this.loadOn(host, slot, key));
  }

  /** Drops the model from every process (at once where idle, else before the process's next job). */
  release(key: string): void {
    this.options.inline?.release(key);
    this.pinned.delete(key);
    for (const slot of this.slots) {
      const session = slot.loaded.get(key);
      if (!session) continue;
      slot.loaded.delete(key);
      slot.releases.add(session.id);
    }
    this.pump();
  }

  status(): PoolStatus {
    return {
      processes: this.slots.length,
      running: this.slots.filter((s) => s.host?.alive).length,
      busy: this.slots.filter((s) => s.inFlight > 0).length,
      queued: this.queue.length,
      restarts: this.stats.restarts,
      version: this.version,
      inline: this.options.inline?.size ?? 0,
    };
  }

  /** Whether a running process holds the model (and has not been told to release it). */
  isLoaded(key: string): boolean {
    return this.slots.some((s) => s.host?.alive && s.loaded.has(key));
  }

  /** The pids of the running processes (tests and benchmarks read their memory). */
  pids(): number[] {
    return this.slots.flatMap((s) => (s.host?.alive && s.host.pid !== undefined ? [s.host.pid] : []));
  }

  /** Ends every process; queued jobs fail. */
  async close(): Promise<void> {
    this.closed = true;
    const why = new ModelProcessError('model processes are shutting down');
    for (const job of this.queue.splice(0)) job.reject(why);
    for (const slot of this.slots) slot.host?.kill(why);
    this.options.inline?.close();
  }

  /** Queues a job (at the front: one a process ended before beginning). */
  private enqueue<T>(key: string, work: (host: ModelHost, slot: Slot) => Promise<T>, front = false): Promise<T> {
    if (this.closed) return Promise.reject(new ModelProcessError('model processes are shutting down'));
    this.startAll();
    return new Promise<T>((resolve, reject) => {
      const job = { key, work, resolve: resolve as (v: unknown) => void, reject };
      if (front) this.queue.unshift(job);
      else this.queue.push(job);
      this.pump();
    });
  }

  /**
   * Starts every process with the first job (a start takes ~0.1–0.3 s): the process that would
   * serve another model while one runs long is then ready, not started in the middle of traffic.
   */
  private startAll(): void {
    if (this.started) return;
    this.started = true;
    for (const slot of this.slots) slot.host ??= new ModelHost(this.options.limits, 'model process', this.options.script);
  }

  /** Starts every queued job a process may take, in order; then housekeeping on idle processes. */
  private pump(): void {
    for (let i = 0; i < this.queue.length;) {
      const job = this.queue[i];
      if (this.pinned.has(job.key) && !this.isLoaded(job.key)) this.pinned.delete(job.key);
      const slot = this.slotFor(job.key, this.pinned.has(job.key));
      if (!slot) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.start(slot, job.key, job.work).then(job.resolve, job.reject);
    }
    for (const slot of this.slots) {
      if (!slot.inFlight && slot.releases.size && slot.host?.alive) this.start(slot, '', async () => undefined).catch(() => undefined);
    }
  }

  /**
   * The process that takes a job of `key` now, or null: one running it that has it loaded and room
   * in its pipeline; else an idle one (if the model runs in fewer than `perModel`), preferring one
   * that has it loaded, then one running, then any (`loadedOnly`: only one that has it loaded).
   */
  private slotFor(key: string, loadedOnly: boolean): Slot | null {
    let idle: Slot | null = null;
    let rank = 0;
    let running = 0;
    let pipeline: Slot | null = null;
    for (const s of this.slots) {
      if (s.inFlight && s.key === key) {
        running++;
        if (s.inFlight < PIPELINE && s.loaded.has(key) && !s.releases.size && s.host?.alive && (!pipeline || s.inFlight < pipeline.inFlight)) pipeline = s;
      } else if (!s.inFlight) {
        const r = s.host?.alive ? (s.loaded.has(key) ? 3 : 2) : loadedOnly ? 0 : 1;
        if (r > rank && (!loadedOnly || r === 3)) [idle, rank] = [s, r];
      }
    }
    if (idle && running < this.perModel && (rank === 3 || !pipeline)) return idle;
    return pipeline;
  }

  /** Runs `work` on the slot's process (started first if it has none alive), releasing what waits to be released first. */
  private async start<T>(slot: Slot, key: string, work: (host: ModelHost, slot: Slot) => Promise<T>): Promise<T> {
    slot.key = key;
    slot.inFlight++;
    try {
      const host = slot.host?.alive && slot.host.isReady ? slot.host : await this.hostOf(slot);
      for (const id of slot.releases) await host.request({ op: 'release', session: id }, [], 'load');
      slot.releases.clear();
      return await work(host, slot);
    } catch (e) {
      if (this.closed) throw e;
      // The model did not load here but another process holds it: the job waits for that one.
      if (e instanceof ModelLoadError && this.isLoaded(key)) this.pinned.add(key);
      // The process ended before it began on this job: another one takes it.
      else if (!(e instanceof NotStartedError)) throw e;
    } finally {
      if (--slot.inFlight === 0) slot.key = null;
      if (slot.host && !slot.host.alive) this.replace(slot);
      if (this.queue.length || this.slots.some((s) => s.releases.size)) this.pump();
    }
    return this.enqueue(key, work, true);
  }

  /**
   * A process that ended under a job (killed at its deadline, or crashed) is replaced at once, so
   * the next job does not wait for a start; its models load again as jobs need them.
   */
  private replace(slot: Slot): void {
    this.options.onRestart?.(slot.host?.failure ?? new ModelProcessError('the model process ended'));
    slot.loaded.clear();
    slot.releases.clear();
    slot.host = null;
    if (this.closed) return;
    this.stats.restarts++;
    slot.host = new ModelHost(this.options.limits, 'model process', this.options.script);
  }

  /** The slot's process, started if it has none alive. */
  private async hostOf(slot: Slot): Promise<ModelHost> {
    if (!slot.host?.alive) {
      slot.host = new ModelHost(this.options.limits, 'model process', this.options.script);
      slot.loaded.clear();
      slot.releases.clear();
    }
    const host = slot.host;
    const version = await host.ready;
    this.version ??= version;
    return host;
  }

  private async loadOn(host: ModelHost, slot: Slot, key: string): Promise<Session> {
    const have = slot.loaded.get(key);
    if (have) return have;
    const started = performance.now();
    try {
      const bytes = await this.options.readModel(key);
      const id = slot.nextId++;
      const reply = await host.request({ op: 'load', session: id, threads: this.options.threads }, [bytes], 'load');
      const inputs = (reply.header.ok && reply.header.inputs) || [];
      const outputs = (reply.header.ok && reply.header.outputs) || [];
      const session: Session = { id, inputs, outputs, inputIndex: indexOf(inputs), outputIndex: indexOf(outputs) };
      slot.loaded.set(key, session);
      this.stats.loads++;
      this.stats.loadMsTotal += performance.now() - started;
      const inline = this.options.inline;
      inline?.loaded(
        key,
        bytes,
        () => this.timeInProcess(key, inline),
        () => this.isLoaded(key),
      );
      // Jobs of this model waiting in the queue may now join this process's pipeline.
      if (this.queue.length) this.pump();
      return session;
    } catch (e) {
      this.stats.loadFailures++;
      throw new ModelLoadError(e);
    }
  }

  /** Times the model in a process at each of INLINE_ROW_STEPS until one is over the inline budget (a job of its own). */
  private timeInProcess(key: string, inline: InlineModels): Promise<Timing[]> {
    const stopPast = 10 * inline.maxMicros;
    return this.enqueue(key, async (host, slot) => {
      const session = (await this.loadOn(host, slot, key)).id;
      const timings: Timing[] = [];
      for (const rows of INLINE_ROW_STEPS) {
        const reply = await host.request({ op: 'time', session, rows, stopPast }, [], 'load');
        timings.push({ rows, micros: reply.header.ok ? (reply.header.micros ?? null) : null });
        if (!inline.within(timings[timings.length - 1])) break;
      }
      return timings;
    });
  }
}

const indexOf = (values: readonly ValueMeta[]) => new Map(values.map((v, i) => [v.name, i]));

/** One run on a loaded session, tensors by name in and out. */
async function runOn(
  host: ModelHost,
  s: Session,
  feeds: Readonly<Record<string, WireTensor>>,
  fetches: readonly string[],
): Promise<Record<string, WireTensor>> {
  const inputs: Array<{ index: number; tensor: WireTensor }> = [];
  for (const name in feeds) {
    const index = s.inputIndex.get(name);
    if (index === undefined) throw new Error(`the model has no input "${name}"`);
    inputs.push({ index, tensor: feeds[name] });
  }
  const wanted = fetches.map((name) => {
    const index = s.outputIndex.get(name);
    if (index === undefined) throw new Error(`the model has no output "${name}"`);
    return index;
  });
  const out: Record<string, WireTensor> = {};
  for (const { index, tensor } of await host.run(s.id, inputs, wanted)) out[s.outputs[index].name] = tensor;
  return out;
}
