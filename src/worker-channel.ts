import type { Worker } from 'node:worker_threads';

/**
 * Requests to a worker thread and their replies, matched by id (the prediction log's writer, the
 * drift comparisons). The thread is started on first use; it keeps the process alive only while
 * a request waits (so an idle server can exit, and a shutdown that awaits a request is not cut
 * short). If it fails or exits, every waiting request is rejected and the next one starts a new
 * thread.
 */
export class WorkerChannel<Request extends object, Reply extends { id: number }> {
  private thread: { worker: Worker; waiting: Map<number, Waiting<Reply>> } | null = null;
  private nextId = 0;

  constructor(
    private readonly start: () => Worker,
    /** Names the thread in the error a failure gives the waiting requests. */
    private readonly label: string,
  ) {}

  request(message: Request): Promise<Reply> {
    const { worker, waiting } = this.started();
    const id = this.nextId++;
    worker.ref();
    return new Promise<Reply>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      try {
        worker.postMessage({ id, ...message });
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

  private started(): { worker: Worker; waiting: Map<number, Waiting<Reply>> } {
    if (this.thread) return this.thread;
    const worker = this.start();
    // Each thread's own requests: when it fails or exits, only those are rejected. A thread that
    // failed emits 'exit' later, when a replacement may already be answering newer requests.
    const waiting = new Map<number, Waiting<Reply>>();
    worker.unref();
    worker.on('message', (m: Reply) => {
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

interface Waiting<Reply> {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
}
