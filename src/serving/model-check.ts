import { modelInfo, type WalkRequest } from './model-bytes.js';
import { ModelHost, ModelProcessError, ModelRunFailure } from './model-host.js';
import { ModelLimitError, type ModelLimits } from './model-limits.js';
import type { HostReply, ValueMeta } from './model-protocol.js';
import type { Frame } from './model-wire.js';
import type { ExternalInitializer } from './onnx-external.js';
import type { ExternalTensor, OnnxModelInfo } from './onnx-proto.js';
import type { ZipMapReplacement } from './onnx-zipmap.js';

/** What onnxruntime reports of a model that passed its checks. */
export interface CheckedModel {
  inputs: ValueMeta[];
  outputs: ValueMeta[];
  /** Whether it also ran on a row of zeros (false: an input that is not numeric, or a run onnxruntime refused). */
  ran: boolean;
}

/**
 * Reads, loads and runs a model where it cannot harm the server (registration's checks). Each
 * method throws the reading's own error for bytes that are not what a model must be
 * (ExternalDataError, OnnxNestingError, ZipMapRewriteError, ExternalDataSpecError, or Error for
 * bytes that are no ModelProto), and ModelCheckError when the model went past a limit or
 * onnxruntime refused it.
 */
export interface ModelChecker {
  /** The ModelProto's header fields, and a tensor stored outside the file, if any. */
  examine(bytes: Uint8Array): Promise<{ info: OnnxModelInfo; external: ExternalTensor | null }>;
  /** Loads the model and runs it once on a row of zeros. */
  check(bytes: Uint8Array): Promise<CheckedModel>;
  /** The graph without its ZipMap outputs (see onnx-zipmap.ts), or null when it has none to take out. */
  removeZipMaps(bytes: Uint8Array): Promise<{ bytes: Uint8Array; replaced: ZipMapReplacement[] } | null>;
  /** The main graph's initializers stored beside the file. */
  externalInitializers(bytes: Uint8Array): Promise<ExternalInitializer[]>;
  /** The model with that data (in externalInitializers' order) inside. */
  inlineExternalData(bytes: Uint8Array, data: readonly Uint8Array[]): Promise<Uint8Array>;
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
 * Registration's checks, in a model process of their own (never one that serves): reading the
 * bytes and loading them are held to MODEL_LOAD_TIMEOUT_MS, the run on zeros to
 * MODEL_RUN_TIMEOUT_MS, all within MODEL_MEMORY_MB. A model that goes past a limit kills the
 * process; the next check starts another. Checks run one at a time; the process exits after
 * `idleMs` without one.
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

  async examine(bytes: Uint8Array): Promise<{ info: OnnxModelInfo; external: ExternalTensor | null }> {
    const { header } = await this.walk({ op: 'examine' }, [bytes]);
    if (!header.ok || !header.info) throw new Error('model check process: no model info in its reply');
    return { info: modelInfo(header.info), external: header.external ?? null };
  }

  async removeZipMaps(bytes: Uint8Array): Promise<{ bytes: Uint8Array; replaced: ZipMapReplacement[] } | null> {
    const { header, blobs } = await this.walk({ op: 'zipmap' }, [bytes]);
    const replaced = header.ok ? header.zipMaps : null;
    return replaced && blobs[0] ? { bytes: new Uint8Array(blobs[0]), replaced } : null;
  }

  async externalInitializers(bytes: Uint8Array): Promise<ExternalInitializer[]> {
    const { header } = await this.walk({ op: 'initializers' }, [bytes]);
    return (header.ok && header.initializers) || [];
  }

  async inlineExternalData(bytes: Uint8Array, data: readonly Uint8Array[]): Promise<Uint8Array> {
    const { blobs } = await this.walk({ op: 'inline' }, [bytes, ...data]);
    if (!blobs[0]) throw new Error('model check process: no model in its reply');
    return new Uint8Array(blobs[0]);
  }

  check(bytes: Uint8Array): Promise<CheckedModel> {
    return this.queued(async (host) => {
      const session = ++this.seq;
      let step: 'load' | 'run' = 'load';
      try {
        const loaded = await host.request({ op: 'load', session, threads: this.threads }, [bytes], 'load');
        step = 'run';
        const probe = await host.request({ op: 'probe', session }, [], 'run');
        const meta = loaded.header.ok ? loaded.header : null;
        return { inputs: meta?.inputs ?? [], outputs: meta?.outputs ?? [], ran: probe.header.ok && probe.header.ran === true };
      } catch (e) {
        throw checkError(step, e);
      } finally {
        if (host.alive) await host.request({ op: 'release', session }, [], 'load').catch(() => undefined);
      }
    });
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

  /** Reading the bytes is held to the load limit, as loading them is. */
  private walk(request: WalkRequest, blobs: Uint8Array[]): Promise<Frame<HostReply>> {
    return this.queued(async (host) => {
      try {
        return await host.request(request, blobs, 'load');
      } catch (e) {
        throw checkError('load', e);
      }
    });
  }

  /** Runs `work` on the process after the checks before it, starting the process if none runs. */
  private queued<T>(work: (host: ModelHost) => Promise<T>): Promise<T> {
    const next = this.tail.then(async () => {
      if (this.idle) clearTimeout(this.idle);
      if (!this.host?.alive) this.host = new ModelHost(this.limits, 'model check process', this.script);
      const host = this.host;
      try {
        await host.ready.catch((e: unknown) => {
          throw new ModelCheckError('load', e instanceof Error ? e : new Error(String(e)));
        });
        return await work(host);
      } finally {
        this.idle = setTimeout(() => void this.close(), this.idleMs).unref();
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** A limit, a crash or onnxruntime's refusal as a ModelCheckError at `step`; a reading's own error as it is. */
function checkError(step: 'load' | 'run', e: unknown): Error {
  if (e instanceof ModelLimitError || e instanceof ModelProcessError || e instanceof ModelRunFailure) return new ModelCheckError(step, e);
  return e instanceof Error ? e : new Error(String(e));
}
