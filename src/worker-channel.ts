import type { Worker } from 'node:worker_threads';

/**
 * Requests to a worker thread and their replies, matched by id (the prediction log's writer, the
 * drift comparisons). The thread is started on first use; it keeps the process alive only while
 * a request waits (so an idle server can exit, and a shutdown that awaits a request is not cut
 * short). If it fails or exits, every waiting request is rejected and the next one starts a new
 * thread.
 */
export class WorkerChannel<Request extends object, Reply extends { id: number }, Notice = never> {
  private thread: { worker: Worker; waiting: Map<number, Waiting<Reply, Notice>> } | null = null;
  private nextId = 0;

  constructor(
    private readonly start: () => Worker,
    /** Names the thread in the error a failure gives the waiting requests. */
    private readonly label: string,
  ) {}

  /**
   * Sends a request (moving the buffers in `transfer` to the thread); the thread's notices about
   * it (`{ id, notice }` before the reply) go to `onNotice`.
   */
  request(message: Request, onNotice?: (notice: Notice) => void, transfer: readonly ArrayBuffer[] = []): Promise<Reply> {
    const { worker, waiting } = this.started();
    const id = this.nextId++;
    worker.ref();
    return new Promise<Reply>((resolve, reject) => {
      waiting.set(id, { resolve, reject, onNotice });
      try {
        worker.postMessage({ id, ...message }, transfer);
      } catch (e) {
        // Not sent (a value that cannot be cloned): no reply will come, so nothing waits for one.
        waiting.delete(id);
        if (!waiting.size) worker.unref();
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** The running thread, forgotten here (the next request starts a new one): for the owner to close. */
  take(): Worker | null {
    const worker = this.thread?.worker ?? null;
    this.thread = null;
    return worker;
  }

  /** The number of requests waiting for this channel's thread. */
  get pending(): number {
    return this.thread?.waiting.size ?? 0;
  }

  private started(): { worker: Worker; waiting: Map<number, Waiting<Reply, Notice>> } {
    if (this.thread) return this.thread;
    const worker = this.start();
    // Each thread's own requests: when it fails or exits, only those are rejected. A thread that
    // failed emits 'exit' later, when a replacement may already be answering newer requests.
    const waiting = new Map<number, Waiting<Reply, Notice>>();
    worker.unref();
    worker.on('message', (m: Reply | { id: number; notice: Notice }) => {
      if ('notice' in m) {
        waiting.get(m.id)?.onNotice?.(m.notice);
        return;
      }
      const pending = waiting.get(m.id);
      waiting.delete(m.id);
      if (!waiting.size) worker.unref();
      pending?.resolve(m);
    });
    const fail = (message: string) => {
      if (this.thread?.worker === worker) this.thread = null;
      for (const { reject } of waiting.values()) reject(new Error(message));
      waiting.clear();
    };
    worker.on('error', (e) => fail(`${this.label} failed: ${e.message}`));
    worker.on('exit', (code) => fail(`${this.label} exited (code ${code})`));
    this.thread = { worker, waiting };
    return this.thread;
  }
}

interface Waiting<Reply, Notice> {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
  onNotice: ((notice: Notice) => void) | undefined;
}
