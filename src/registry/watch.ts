import { createHash } from 'node:crypto';

/** How often the watch looks at the store's change token while someone listens. */
export const WATCH_INTERVAL_MS = 1000;
/** The versions a listing of the registry's resources names (the first ones, by model and registration). */
export const LISTED_VERSIONS = 500;

/**
 * Tells listeners when the registry's model versions or their stages changed, by this server or
 * by another one sharing the store: each tick it reads the store's change token (cheap; it also
 * moves on traffic writes, and on SQLite on any commit of another connection), and only when the
 * token moved it reads the versions again and compares them with what it saw last. It runs only
 * while someone listens.
 */
export class RegistryWatch {
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  private token: number | null = null;
  private seen: string | null = null;
  private looking: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: {
      /** The store's change token (ChangeFeed.token). */
      token(): number;
      /** The model names, and the first LISTED_VERSIONS versions with their stages, in a stable order. */
      versions(): Promise<Array<{ name: string; version: string; stage: string }>>;
    },
    private readonly onError: (e: unknown) => void,
    private readonly intervalMs = WATCH_INTERVAL_MS,
  ) {}

  /** Calls `listener` after each change; returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    if (!this.timer) {
      void this.check();
      this.timer = setInterval(() => void this.check(), this.intervalMs).unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Looks now (after a write here), instead of at the next tick; one look at a time. */
  check(): Promise<void> {
    this.looking = this.looking.then(() => this.look()).catch(this.onError);
    return this.looking;
  }

  close(): void {
    this.listeners.clear();
    this.stop();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.token = null;
    this.seen = null;
  }

  private async look(): Promise<void> {
    if (!this.listeners.size) return;
    const token = this.source.token();
    if (token === this.token && this.seen !== null) return;
    this.token = token;
    const versions = await this.source.versions();
    const seen = createHash('sha256')
      .update(versions.map((v) => `${v.name}\u0000${v.version}\u0000${v.stage}`).join('\n'))
      .digest('base64');
    const changed = this.seen !== null && seen !== this.seen;
    this.seen = seen;
    if (changed) for (const listener of [...this.listeners]) listener();
  }
}
