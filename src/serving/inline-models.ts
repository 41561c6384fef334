import { inlineRefusal } from './inline-graph.js';
import { ModelRunFailure } from './model-host.js';
import { ModelLimitError, type ModelLimits } from './model-limits.js';
import type { WireTensor } from './model-wire.js';
import { openSession, OutputTooLargeError, runSession, type OrtSession } from './ort-session.js';
import { onnxruntimeMessage } from './runtime.js';

/**
 * The sizes a model is timed at, in order, until one is over the budget: it then runs inline
 * for runs of at most the largest size within it (a run of fewer rows costs no more).
 */
export const INLINE_ROW_STEPS = [64, 1024, 16_384] as const;

/** A timed run: its rows, and how long it took (null: it failed). */
export interface Timing {
  rows: number;
  micros: number | null;
}

/**
 * A run this many times over the budget is an overrun; OVERRUNS of them in a row send the model
 * back to the processes for good. A model whose runs do take that long overruns every time; one
 * that does not overruns when the thread loses its core inside a run, which on a saturated
 * machine happens now and then, never several runs in a row (3–5 isolated overruns in ~150 000
 * runs of 1 000 rows under wrk, two of them 479 runs apart).
 */
const OVERRUN = 4;
const OVERRUNS = 3;

interface Accepted {
  rows: number;
  micros: number;
}

interface Held {
  session: OrtSession;
  /** Runs of at most this many rows run here. */
  rows: number;
  /** Overruns since the last run within the budget. */
  overrunsInARow: number;
}

export interface InlineOptions {
  /** The longest a timed run may take for its model to run inline at that size, µs (0: none does). */
  maxMicros: number;
  limits: ModelLimits;
  /** Told when a model runs inline, and when one is sent back to the processes. */
  onChange?: (key: string, inline: boolean, why: string) => void;
}

/**
 * Models the server runs on its own thread: a round trip to a model process costs two wake-ups
 * (~60–100 µs) where such a model's run costs ~10–40 µs. Only a model whose graph makes every
 * run of a size take about the same time (inline-graph.ts), and whose runs of 64 rows its process
 * timed within the budget (run-timing.ts), runs here, and only runs of at most the largest size
 * timed within it (INLINE_ROW_STEPS): the time any such run can hold the event loop is about
 * the budget. Runs that overrun it anyway send the model back to the processes, where deadlines
 * hold. Everything else runs in processes (ModelPool).
 */
export class InlineModels {
  private readonly held = new Map<string, Held>();
  /**
   * Each model judged: the largest run it may run here and its time, else why not. A model is
   * timed once per server, not once per process that loads it, nor again after an eviction.
   */
  private readonly judged = new Map<string, Accepted | string>();
  /** Models being timed. */
  private readonly timing = new Set<string>();
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

  /**
   * A process has loaded the model (`bytes`, as registered): opens it here too if it was accepted
   * before (evicted since); else, unless its graph rules it out, has it timed (`time`: in a
   * process, a job of its own, so a model that fails its timing fails nobody's call) and opens
   * it here if within the budget and a process still holds it (`stillLoaded`; evicted meanwhile:
   * opened when next loaded).
   */
  loaded(key: string, bytes: Uint8Array, time: () => Promise<Timing[]>, stillLoaded: () => boolean): void {
    if (!this.enabled || this.held.has(key) || this.timing.has(key)) return;
    const judged = this.judgement(key);
    if (judged === 'accepted') this.open(key, bytes);
    if (judged !== 'untimed') return;
    const refusal = inlineRefusal(bytes);
    if (refusal) return this.refuse(key, `it ${refusal}`);
    this.timing.add(key);
    time()
      .then(
        (timings) => {
          this.judge(key, timings);
          if (stillLoaded()) this.open(key, bytes);
        },
        (e: unknown) => this.refuse(key, `its timing failed: ${e instanceof Error ? e.message : String(e)}`),
      )
      .finally(() => this.timing.delete(key));
  }

  /** Whether a timed run is within the budget (the pool times the next size only then). */
  within(t: Timing): boolean {
    return t.micros !== null && t.micros <= this.options.maxMicros;
  }

  /** Records the model's timed runs (INLINE_ROW_STEPS in order): the largest within the budget is what it may run here. */
  judge(key: string, timings: readonly Timing[]): void {
    const fit = timings.filter((t) => this.within(t)).at(-1);
    if (fit) this.judged.set(key, { rows: fit.rows, micros: fit.micros as number });
    else if (timings[0]?.micros == null) this.refuse(key, 'its timed runs failed');
    else this.refuse(key, `a run of ${timings[0].rows} rows took ${Math.round(timings[0].micros)} µs`);
  }

  /** Opens an accepted model here (its bytes as registered); answers whether it runs here. */
  open(key: string, bytes: Uint8Array): boolean {
    const accepted = this.judged.get(key);
    if (accepted === undefined || typeof accepted === 'string') return false;
    if (this.held.has(key)) return true;
    try {
      this.held.set(key, { session: openSession(bytes, 1), rows: accepted.rows, overrunsInARow: 0 });
    } catch (e) {
      this.refuse(key, `it did not load in the server: ${onnxruntimeMessage(e)}`);
      return false;
    }
    this.options.onChange?.(key, true, `runs of up to ${accepted.rows} rows (timed: ${Math.round(accepted.micros)} µs)`);
    return true;
  }

  /**
   * Runs the model here when it is held and the run is no larger than it was timed at, else
   * answers null (the caller sends it to a process). Fails as the process would: ModelRunFailure
   * with onnxruntime's words, ModelLimitError past the output limit.
   */
  run(key: string, feeds: Readonly<Record<string, WireTensor>>, fetches: readonly string[]): Record<string, WireTensor> | null {
    const held = this.held.get(key);
    if (!held) return null;
    const list: Array<{ name: string; tensor: WireTensor }> = [];
    for (const name in feeds) {
      const tensor = feeds[name];
      if ((tensor.dims[0] ?? 1) > held.rows) return null;
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
      if (micros <= OVERRUN * this.options.maxMicros) held.overrunsInARow = 0;
      else this.overran(key, held, micros);
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

  /** Closes every session here (the server is stopping). */
  close(): void {
    for (const key of [...this.held.keys()]) this.release(key);
  }

  private overran(key: string, held: Held, micros: number): void {
    if (++held.overrunsInARow < OVERRUNS) return;
    const why = `${OVERRUNS} runs in a row took over ${OVERRUN} × MODEL_INLINE_MAX_US (${this.options.maxMicros} µs), the last ${Math.round(micros)} µs`;
    this.release(key);
    this.refuse(key, why);
    this.options.onChange?.(key, false, why);
  }
}
