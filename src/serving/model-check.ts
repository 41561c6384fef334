import type { ValueMeta } from './model-protocol.js';
import { ModelHost } from './model-host.js';
import type { ModelLimits } from './model-limits.js';

/** What onnxruntime reports of a model that passed its checks. */
export interface CheckedModel {
  inputs: ValueMeta[];
  outputs: ValueMeta[];
  /** Whether it also ran on a row of zeros (false: an input that is not numeric, or a run onnxruntime refused). */
  ran: boolean;
}

/** Loads a model where it cannot harm the server, and tells what it is (registration's check). */
export interface ModelChecker {
  check(bytes: Uint8Array): Promise<CheckedModel>;
}

/** A check failed at this step: the cause is a ModelLimitError, a ModelProcessError or a ModelRunFailure. */
export class ModelCheckError extends Error {
  constructor(
    readonly step: 'load' | 'run',
    override readonly cause: Error,
  ) {
    super(cause.message);
  }
}

/**
 * Registration's checks, in a model process of their own (never one that serves): load the bytes
 * (MODEL_LOAD_TIMEOUT_MS), run them once on a row of zeros (MODEL_RUN_TIMEOUT_MS), within
 * MODEL_MEMORY_MB, then release them. A model that goes past a limit kills the process; the next
 * check starts another. Checks run one at a time; the process exits after `idleMs` without one.
 */
export class ModelChecks implements ModelChecker {
  private host: ModelHost | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private idle: NodeJS.Timeout | null = null;
  private seq = 0;

  constructor(
    private readonly limits: ModelLimits,
    private readonly threads = 1,
    private readonly idleMs = 30_000,
    private readonly script?: string,
  ) {}

  check(bytes: Uint8Array): Promise<CheckedModel> {
    const next = this.tail.then(() => this.checkNow(bytes));
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** The process's pid while one runs (tests read its memory). */
  get pid(): number | undefined {
    return this.host?.alive ? this.host.pid : undefined;
  }

  async close(): Promise<void> {
    if (this.idle) clearTimeout(this.idle);
    this.host?.kill();
    this.host = null;
  }

  private async checkNow(bytes: Uint8Array): Promise<CheckedModel> {
    if (this.idle) clearTimeout(this.idle);
    if (!this.host?.alive) this.host = new ModelHost(this.limits, 'model check process', this.script);
    const host = this.host;
    const session = ++this.seq;
    let step: 'load' | 'run' = 'load';
    try {
      await host.ready;
      const loaded = await host.request({ op: 'load', session, threads: this.threads }, [bytes], 'load');
      step = 'run';
      const probe = await host.request({ op: 'probe', session }, [], 'run');
      const meta = loaded.header.ok ? loaded.header : null;
      return { inputs: meta?.inputs ?? [], outputs: meta?.outputs ?? [], ran: probe.header.ok && probe.header.ran === true };
    } catch (e) {
      throw new ModelCheckError(step, e instanceof Error ? e : new Error(String(e)));
    } finally {
      if (host.alive) await host.request({ op: 'release', session }, [], 'load').catch(() => undefined);
      this.idle = setTimeout(() => void this.close(), this.idleMs).unref();
    }
  }
}
