import type { ModelPool } from './model-pool.js';
import { ModelLoadError } from './model-pool.js';
import type { WireTensor } from './model-wire.js';

export interface CacheStats {
  size: number;
  maxSize: number;
  hits: number;
  misses: number;
  loads: number;
  loadFailures: number;
  evictions: number;
  loadMsTotal: number;
}

/** A model as a run sees it: feeds in, the outputs named in `fetches` out, run in a model process. */
export interface ModelSession {
  run(feeds: Readonly<Record<string, WireTensor>>, fetches: readonly string[]): Promise<Record<string, WireTensor>>;
}

interface Entry {
  session: ModelSession;
  lastUsed: number;
  /** Runs in progress: an evicted model is released only when the last one ends. */
  inflight: number;
  evicted: boolean;
}

type Pool = Pick<ModelPool, 'run' | 'load' | 'release' | 'stats'>;

/**
 * The models being served, by artifact: least recently used dropped past `maxSize`, unused ones
 * after `ttlMs`, and dropped from the model processes with them (a process loads a model on its
 * first run of it: see ModelPool). Keyed by the artifact's sha256, so two versions with the same
 * bytes share one, and loaded from bytes checked against it, so what is served is always what was
 * registered. A model process refuses a model that stores a tensor outside its file (one
 * registered before register_model did): onnxruntime would read the file it names.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  /** The key set last: the last in the Map's order while it is there. */
  private newest: string | null = null;
  private readonly counts = { hits: 0, misses: 0, evictions: 0 };
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly pool: Pool,
    private readonly maxSize: number,
    private readonly ttlMs: number,
    private readonly clock: () => number = () => performance.now(),
  ) {
    // Idle models are dropped even when no call comes to drop them (their memory is returned).
    this.sweep = setInterval(() => this.expire(this.clock()), Math.min(ttlMs, 60_000)).unref();
  }

  /**
   * Runs `fn` with the model, keeping it (even if evicted meanwhile) until `fn` settles. `lookups`:
   * the calls this one use serves (a run shared by several requests counts as each of them).
   */
  async use<T>(key: string, fn: (session: ModelSession) => Promise<T>, lookups = 1): Promise<T> {
    const entry = this.entry(key, lookups);
    entry.inflight++;
    try {
      return await fn(entry.session);
    } catch (e) {
      this.forgetFailed(key, entry, e);
      throw e;
    } finally {
      entry.inflight--;
      if (entry.evicted && entry.inflight === 0) this.pool.release(key);
    }
  }

  /** Loads the model into a model process unless one has it (deploys and health checks). */
  async get(key: string): Promise<void> {
    const entry = this.entry(key);
    try {
      await this.pool.load(key);
    } catch (e) {
      this.forgetFailed(key, entry, e);
      throw e;
    }
  }

  has(key: string): boolean {
    this.expire(this.clock());
    return this.entries.has(key);
  }

  async unload(key: string): Promise<boolean> {
    if (!this.entries.has(key)) return false;
    this.evict(key);
    return true;
  }

  snapshot(): CacheStats {
    this.expire(this.clock());
    const { loads, loadFailures, loadMsTotal } = this.pool.stats;
    return { ...this.counts, loads, loadFailures, loadMsTotal, size: this.entries.size, maxSize: this.maxSize };
  }

  /** Forgets every model (the pool's close ends the processes that hold them). */
  async close(): Promise<void> {
    clearInterval(this.sweep);
    this.entries.clear();
  }

  private entry(key: string, lookups = 1): Entry {
    const now = this.clock();
    this.expire(now);
    const hit = this.entries.get(key);
    if (hit) {
      this.counts.hits += lookups;
      hit.lastUsed = now;
      // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
      // Not when it is the newest already (a server with one hot model): each delete leaves a
      // dead slot in the Map's table until it is rebuilt, a new table in the young generation.
      if (key !== this.newest) {
        this.entries.delete(key);
        this.entries.set(key, hit);
        this.newest = key;
      }
      return hit;
    }
    // The first lookup misses; the others of a shared run would have found the entry it made.
    this.counts.misses++;
    this.counts.hits += lookups - 1;
    const pool = this.pool;
    const entry: Entry = { session: { run: (feeds, fetches) => pool.run(key, feeds, fetches) }, lastUsed: now, inflight: 0, evicted: false };
    this.entries.set(key, entry);
    this.newest = key;
    while (this.entries.size > this.maxSize) this.evict(this.entries.keys().next().value as string);
    return entry;
  }

  /** A model that failed to load is not kept: the next call loads it again (the file may have been fixed). */
  private forgetFailed(key: string, entry: Entry, e: unknown): void {
    if (e instanceof ModelLoadError && this.entries.get(key) === entry) this.entries.delete(key);
  }

  /** Drops models unused for the TTL: the Map is in order of last use, so only its oldest few are looked at. */
  private expire(now: number): void {
    const cutoff = now - this.ttlMs;
    for (const [key, entry] of this.entries) {
      if (entry.lastUsed >= cutoff) break;
      this.evict(key);
    }
  }

  private evict(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.counts.evictions++;
    entry.evicted = true;
    if (entry.inflight === 0) this.pool.release(key);
  }
}
