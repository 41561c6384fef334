import { ModelRunFailure } from './model-host.js';
import { ModelLimitError, type ModelLimits } from './model-limits.js';
import type { WireTensor } from './model-wire.js';
import { openSession, OutputTooLargeError, runSession, type OrtSession } from './ort-session.js';
import { onnxruntimeMessage } from './runtime.js';

/** Runs of at most this many rows may go inline; a model is timed at this size before it may. */
export const INLINE_MAX_ROWS = 64;
/**
 * A run this many times over the budget is an overrun; OVERRUNS of them within RECENT runs send
 * the model back to the processes for good. One alone may be a garbage collection or the thread
 * losing its core inside the run; a model whose runs do take that long overruns every time.
 */
const OVERRUN = 4;
const OVERRUNS = 3;
const RECENT = 100;

interface Held {
  session: OrtSession;
  runs: number;
  /** The run numbers of the latest overruns (at most OVERRUNS). */
  overruns: number[];
}

export interface InlineOptions {
  /** The longest a timed run of INLINE_MAX_ROWS rows may take for its model to run inline, µs (0: none does). */
  maxMicros: number;
  limits: ModelLimits;
  /** Told when a model runs inline, and when one is sent back to the processes. */
  onChange?: (key: string, inline: boolean, why: string) => void;
}

/**
 * Models the server runs on its own thread: a round trip to a model process costs two wake-ups
 * (~60–100 µs) where such a model's run costs ~10–40 µs. Only a model whose graph makes every
 * run of a size take about the same time (inline-graph.ts), and whose runs of INLINE_MAX_ROWS
 * rows its process timed within the budget (run-timing.ts), runs here, and only runs of at most
 * that many rows: the time any such run can hold the event loop is about the budget. A run that
 * overruns it anyway sends the model back to the processes, where deadlines hold. Everything
 * else runs in processes (ModelPool).
 */
export class InlineModels {
  private readonly held = new Map<string, Held>();
  /**
   * Each model judged: its timed run (µs) when it may run here, else why not. A model is timed
   * once per server, not once per process that loads it, nor again after an eviction.
   */
  private readonly judged = new Map<string, number | string>();
  /** Runs answered here. */
  runs = 0;

  constructor(private readonly options: InlineOptions) {}

  get enabled(): boolean {
    return this.options.maxMicros > 0;
  }

  get maxMicros(): number {
    return this.options.maxMicros;
  }

  /** The model's judgement: 'untimed', 'refused', or 'accepted' (held, or to open again after an eviction). */
  judgement(key: string): 'untimed' | 'refused' | 'accepted' {
    const j = this.judged.get(key);
    return j === undefined ? 'untimed' : typeof j === 'string' ? 'refused' : 'accepted';
  }

  /** Why the model does not run here, once it was refused. */
  refusal(key: string): string | null {
    const j = this.judged.get(key);
    return typeof j === 'string' ? j : null;
  }

  has(key: string): boolean {
    return this.held.has(key);
  }

  get size(): number {
    return this.held.size;
  }

  /** Refuses the model for good (its graph, its timing): runs stay in processes. */
  refuse(key: string, why: string): void {
    this.judged.set(key, why);
  }

  /** Records the model's timed run (µs; null: its timed runs failed): within the budget, it may run here. */
  judge(key: string, micros: number | null): void {
    if (micros !== null && micros <= this.options.maxMicros) this.judged.set(key, micros);
    else this.refuse(key, micros === null ? 'its timed runs failed' : `a run of ${INLINE_MAX_ROWS} rows took ${Math.round(micros)} µs`);
  }

  /** Opens an accepted model here (its bytes as registered); answers whether it runs here. */
  open(key: string, bytes: Uint8Array): boolean {
    const micros = this.judged.get(key);
    if (typeof micros !== 'number') return false;
    if (this.held.has(key)) return true;
    try {
      this.held.set(key, { session: openSession(bytes, 1), runs: 0, overruns: [] });
    } catch (e) {
      this.refuse(key, `it did not load in the server: ${onnxruntimeMessage(e)}`);
      return false;
    }
    this.options.onChange?.(key, true, `a run of ${INLINE_MAX_ROWS} rows took ${Math.round(micros)} µs`);
    return true;
  }

  /**
   * Runs the model here when it is held and the run has at most INLINE_MAX_ROWS rows, else
   * answers null (the caller sends it to a process). Fails as the process would: ModelRunFailure
   * with onnxruntime's words, ModelLimitError past the output limit.
   */
  run(key: string, feeds: Readonly<Record<string, WireTensor>>, fetches: readonly string[]): Record<string, WireTensor> | null {
    const held = this.held.get(key);
    if (!held) return null;
    const list: Array<{ name: string; tensor: WireTensor }> = [];
    for (const name in feeds) {
      const tensor = feeds[name];
      if ((tensor.dims[0] ?? 1) > INLINE_MAX_ROWS) return null;
      list.push({ name, tensor });
    }
    const started = performance.now();
    let tensors: WireTensor[];
    try {
      tensors = runSession(held.session, list, fetches, this.options.limits.maxOutputBytes);
    } catch (e) {
      if (e instanceof OutputTooLargeError) throw new ModelLimitError('output', this.options.limits, e.message);
      throw new ModelRunFailure(e instanceof Error ? e.message : String(e));
    } finally {
      const micros = (performance.now() - started) * 1000;
      held.runs++;
      if (micros > OVERRUN * this.options.maxMicros) this.overran(key, held, micros);
    }
    this.runs++;
    const out: Record<string, WireTensor> = {};
    fetches.forEach((name, i) => (out[name] = tensors[i]));
    return out;
  }

  /** Closes the model's session here (evicted, or demoted); its judgement is kept. */
  release(key: string): void {
    const held = this.held.get(key);
    if (!held) return;
    this.held.delete(key);
    held.session.session.dispose();
  }

  private overran(key: string, held: Held, micros: number): void {
    held.overruns.push(held.runs);
    if (held.overruns.length > OVERRUNS) held.overruns.shift();
    if (held.overruns.length < OVERRUNS || held.runs - held.overruns[0] >= RECENT) return;
    const why = `${OVERRUNS} of its last ${RECENT} runs took over ${OVERRUN} × MODEL_INLINE_MAX_US (${this.options.maxMicros} µs), the last ${Math.round(micros)} µs`;
    this.release(key);
    this.refuse(key, why);
    this.options.onChange?.(key, false, why);
  }
}
