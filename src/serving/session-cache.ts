import { ExternalDataError, findExternalTensor } from './onnx-proto.js';
import type { OnnxRuntime } from './runtime.js';

export type OrtSession = Awaited<ReturnType<OnnxRuntime['InferenceSession']['create']>>;

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

interface Entry {
  session: Promise<OrtSession>;
  /** The session once loaded: a run need not wait a turn for the promise. */
  loaded: OrtSession | null;
  lastUsed: number;
  /** Runs in progress: an evicted session is released only when the last one ends. */
  inflight: number;
  evicted: boolean;
}

/**
 * onnxruntime sessions by artifact, loaded lazily, least recently used evicted past `maxSize`,
 * unused ones dropped after `ttlMs`. Concurrent first calls share one load. Keyed by the
 * artifact's sha256, so two versions with the same bytes share a session, and loaded from bytes
 * checked against it, so what is served from memory is always what was registered.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  private readonly stats: Omit<CacheStats, 'size' | 'maxSize'> = { hits: 0, misses: 0, loads: 0, loadFailures: 0, evictions: 0, loadMsTotal: 0 };

  constructor(
    private readonly runtime: () => Promise<OnnxRuntime>,
    /** The artifact's bytes, checked against its sha256: a damaged file is never loaded. */
    private readonly readArtifact: (sha256: string) => Promise<Uint8Array>,
    private readonly maxSize: number,
    private readonly ttlMs: number,
    /** onnxruntime intra-op threads per session (see MODEL_THREADS). */
    private readonly threads = 1,
    private readonly clock: () => number = () => performance.now(),
  ) {
    // Idle sessions are dropped even when no call comes to drop them (their memory is returned).
    this.sweep = setInterval(() => this.expire(this.clock()), Math.min(ttlMs, 60_000)).unref();
  }

  private readonly sweep: NodeJS.Timeout;

  /** Runs `fn` with the session, keeping it alive (even if evicted meanwhile) until `fn` settles. */
  async use<T>(key: string, fn: (session: OrtSession) => Promise<T>): Promise<T> {
    const entry = this.entry(key);
    entry.inflight++;
    try {
      return await fn(entry.loaded ?? (await entry.session));
    } finally {
      entry.inflight--;
      if (entry.evicted && entry.inflight === 0) release(entry);
    }
  }

  /** Loads (or finds) the session, for warming and health checks. */
  async get(key: string): Promise<OrtSession> {
    return this.entry(key).session;
  }

  private entry(key: string): Entry {
    const now = this.clock();
    this.expire(now);
    const hit = this.entries.get(key);
    if (hit) {
      this.stats.hits++;
      hit.lastUsed = now;
      // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    this.stats.misses++;
    const entry: Entry = { session: this.load(key), loaded: null, lastUsed: now, inflight: 0, evicted: false };
    entry.session.then(
      (session) => {
        entry.loaded = session;
      },
      // A failed load is not kept: the next call tries again (the file may have been fixed).
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    this.entries.set(key, entry);
    while (this.entries.size > this.maxSize) this.evict(this.entries.keys().next().value as string);
    return entry;
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
    return { ...this.stats, size: this.entries.size, maxSize: this.maxSize };
  }

  /** Releases every session; one a run is still using is released when that run ends. */
  async close(): Promise<void> {
    clearInterval(this.sweep);
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) e.evicted = true;
    await Promise.allSettled(all.filter((e) => e.inflight === 0).map(async (e) => (await e.session).release()));
  }

  private async load(key: string): Promise<OrtSession> {
    const started = this.clock();
    try {
      const ort = await this.runtime();
      const bytes = await this.readArtifact(key);
      // register_model refuses such models; one registered before it did must not be loaded
      // either: onnxruntime would read the file it names (relative to our working directory).
      const external = findExternalTensor(bytes);
      if (external) throw new ExternalDataError(external);
      // One session per model, run from one event loop: onnxruntime's default pool spins a
      // thread per core between runs, which on a small machine takes a core from the server.
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: this.threads, interOpNumThreads: 1 });
      this.stats.loads++;
      this.stats.loadMsTotal += this.clock() - started;
      return session;
    } catch (e) {
      this.stats.loadFailures++;
      throw e;
    }
  }

  /** Drops sessions unused for the TTL: the Map is in order of last use, so only its oldest few are looked at. */
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
    this.stats.evictions++;
    entry.evicted = true;
    if (entry.inflight === 0) release(entry);
  }
}

function release(entry: Entry): void {
  entry.session.then((s) => s.release()).catch(() => undefined);
}
