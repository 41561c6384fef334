import type { Worker } from 'node:worker_threads';

/**
 * Requests to a worker thread and their replies, matched by id (the prediction log's writer, the
 * drift comparisons). The thread is started on first use; it keeps the process alive only while
 * a request waits (so an idle server can exit, and a shutdown that awaits a request is not cut
 * short). If it fails or exits, every waiting request is rejected and the next one starts a new
 * thread.
 */
export class WorkerChannel<Request extends object, Reply extends { id: number }> {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly start: () => Worker,
    /** Names the thread in the error a failure gives the waiting requests. */
    private readonly label: string,
  ) {}

  request(message: Request): Promise<Reply> {
    const worker = this.started();
    const id = this.nextId++;
    worker.ref();
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, ...message });
    });
  }

  /** The running thread, forgotten here (the next request starts a new one): for the owner to close. */
  take(): Worker | null {
    const worker = this.worker;
    this.worker = null;
    return worker;
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = this.start();
    worker.unref();
    worker.on('message', (m: Reply) => {
      const pending = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (!this.waiting.size) worker.unref();
      pending?.resolve(m);
    });
    const fail = (message: string) => {
      if (this.worker === worker) this.worker = null;
      for (const { reject } of this.waiting.values()) reject(new Error(message));
      this.waiting.clear();
    };
    worker.on('error', (e) => fail(`${this.label} failed: ${e.message}`));
    worker.on('exit', (code) => fail(`${this.label} exited (code ${code})`));
    this.worker = worker;
    return worker;
  }
}
