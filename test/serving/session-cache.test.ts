import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelPool } from '../../src/serving/model-pool.js';
import { SessionCache, type ModelSession } from '../../src/serving/session-cache.js';
import { fixture } from '../helpers.js';

/** Real ONNX files, keyed as the cache keys artifacts (by any string here). */
const FILES: Record<string, string> = {
  a: 'nba_points_v1.onnx',
  b: 'nba_points_v2.onnx',
  c: 'nba_win_predictor_v1.5.onnx',
  slow: 'hostile/loop-from-input.onnx',
};
const LIMITS = { runTimeoutMs: 10_000, loadTimeoutMs: 30_000, memoryMb: 1024, maxOutputBytes: 64 << 20 };

const pools: ModelPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

function cache(maxSize: number, ttlMs: number, clock: () => number) {
  const reads: string[] = [];
  const pool = new ModelPool({
    processes: 2,
    threads: 1,
    limits: LIMITS,
    readModel: async (key) => {
      reads.push(key);
      if (!FILES[key]) throw new Error(`no artifact ${key}`);
      return new Uint8Array(fs.readFileSync(fixture(FILES[key])));
    },
  });
  pools.push(pool);
  return { sessions: new SessionCache(pool, maxSize, ttlMs, clock), pool, reads };
}

/** One run of a 10-feature model (a, b) on a row of zeros. */
const run = (s: ModelSession) => s.run({ float_input: { type: 'float32', dims: [1, 10], data: new Float32Array(10) } }, ['variable']);
/** The loop model, looping `n` times (~1–2 µs each). */
const loop = (s: ModelSession, n: number) => s.run({ X: { type: 'float32', dims: [1, 1], data: Float32Array.of(n) } }, ['Y']);

describe('SessionCache over model processes', () => {
  it('loads a model once for concurrent first calls, and counts hits and misses', async () => {
    const { sessions, reads } = cache(5, 60_000, () => 0);
    await Promise.all([sessions.get('a'), sessions.use('a', run), sessions.get('a')]);
    expect(reads).toEqual(['a']);
    expect(sessions.snapshot()).toMatchObject({ size: 1, misses: 1, hits: 2, loads: 1, evictions: 0 });
    await sessions.close();
  });

  it('counts a run shared by several requests as a lookup of each: the first a miss, the rest hits', async () => {
    const { sessions } = cache(5, 60_000, () => 0);
    await sessions.use('a', run, 3);
    expect(sessions.snapshot()).toMatchObject({ misses: 1, hits: 2 });
    await sessions.use('a', run, 4);
    expect(sessions.snapshot()).toMatchObject({ misses: 1, hits: 6 });
    await sessions.close();
  });

  it('evicts the least recently used past its size, and releases a model in use only when its run ends', async () => {
    let now = 0;
    const { sessions, pool, reads } = cache(2, 60_000, () => now);
    await sessions.get('slow');
    now = 1;
    await sessions.get('b');
    now = 2;
    await sessions.get('slow'); // slow is now the most recently used: b goes first
    now = 3;
    const inUse = sessions.use('slow', (s) => loop(s, 200_000));
    await sessions.get('c'); // evicts b (least recently used), in the other process
    expect(sessions.has('b')).toBe(false);
    expect(pool.isLoaded('b')).toBe(false);
    expect(sessions.has('slow')).toBe(true);
    now = 4;
    expect(await sessions.unload('slow')).toBe(true); // evicted while its run goes on
    expect(sessions.has('slow')).toBe(false);
    expect(pool.isLoaded('slow')).toBe(true);
    expect((await inUse).Y.data[0]).toBe(200_000); // still ran: released after, not before
    expect(pool.isLoaded('slow')).toBe(false);
    await sessions.get('b');
    expect(reads).toEqual(['slow', 'b', 'c', 'b']);
    expect(sessions.snapshot()).toMatchObject({ size: 2, evictions: 2, loads: 4 });
    await sessions.close();
  });

  it('drops models unused for the TTL at the next call, and keeps those used since', async () => {
    let now = 0;
    const { sessions, reads } = cache(10, 1000, () => now);
    await sessions.get('a');
    now = 500;
    await sessions.get('b');
    now = 1200; // a unused for 1 200 ms, b for 700 ms
    await sessions.get('b');
    expect(sessions.has('a')).toBe(false);
    expect(sessions.has('b')).toBe(true);
    now = 2150; // b used at 1 200: 950 ms ago
    await sessions.get('c');
    expect(sessions.has('b')).toBe(true);
    now = 2300;
    await sessions.get('c');
    expect(sessions.has('b')).toBe(false);
    expect(reads).toEqual(['a', 'b', 'c']);
    expect(sessions.snapshot()).toMatchObject({ size: 1, evictions: 2 });
    await sessions.close();
  });

  it('reports models past the TTL as gone without a call to drop them (has, snapshot)', async () => {
    let now = 0;
    const { sessions } = cache(10, 1000, () => now);
    await sessions.get('a');
    now = 1500;
    expect(sessions.snapshot()).toMatchObject({ size: 0, evictions: 1 });
    expect(sessions.has('a')).toBe(false);
    await sessions.close();
  });

  it('releases a model past its TTL on its own timer, with no call to the cache at all', { timeout: 15_000 }, async () => {
    // Real clock, TTL 1 s: the sweep runs every min(TTL, 60 s) and the idle process drops the model.
    const { sessions, pool } = cache(5, 1000, () => performance.now());
    await sessions.use('a', run);
    expect(pool.isLoaded('a')).toBe(true);
    const deadline = Date.now() + 6000;
    while (pool.isLoaded('a') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(pool.isLoaded('a'), 'the model is still loaded 6 s after its 1 s TTL').toBe(false);
    await sessions.close();
  });

  it('does not keep a failed load: the next call tries again', async () => {
    const { sessions, reads } = cache(5, 60_000, () => 0);
    await expect(sessions.get('missing')).rejects.toThrow(/no artifact missing/);
    expect(sessions.has('missing')).toBe(false);
    await expect(sessions.use('missing', run)).rejects.toThrow(/no artifact missing/);
    expect(reads).toEqual(['missing', 'missing']);
    expect(sessions.snapshot()).toMatchObject({ size: 0, loadFailures: 2 });
    await sessions.close();
  });
});
