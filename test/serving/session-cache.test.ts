import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadOnnxRuntime } from '../../src/serving/runtime.js';
import { SessionCache, type OrtSession } from '../../src/serving/session-cache.js';
import { fixture } from '../helpers.js';

/** Real ONNX files, keyed as the cache keys artifacts (by any string here). */
const FILES: Record<string, string> = {
  a: 'nba_points_v1.onnx',
  b: 'nba_points_v2.onnx',
  c: 'nba_win_predictor_v1.5.onnx',
};

function cache(maxSize: number, ttlMs: number, clock: () => number) {
  const reads: string[] = [];
  const read = async (key: string) => {
    reads.push(key);
    if (!FILES[key]) throw new Error(`no artifact ${key}`);
    return new Uint8Array(fs.readFileSync(fixture(FILES[key])));
  };
  return { sessions: new SessionCache(loadOnnxRuntime, read, maxSize, ttlMs, 1, clock), reads };
}

/** Whether onnxruntime still runs the session (a released one throws). */
async function runs(session: OrtSession): Promise<boolean> {
  const ort = await loadOnnxRuntime();
  const name = session.inputNames[0];
  try {
    await session.run({ [name]: new ort.Tensor('float32', new Float32Array(10), [1, 10]) });
    return true;
  } catch {
    return false;
  }
}

describe('SessionCache', () => {
  it('loads a model once for concurrent first calls, and counts hits and misses', async () => {
    const { sessions, reads } = cache(5, 60_000, () => 0);
    const got = await Promise.all([sessions.get('a'), sessions.use('a', async (s) => s), sessions.get('a')]);
    expect(new Set(got).size).toBe(1);
    expect(reads).toEqual(['a']);
    expect(sessions.snapshot()).toMatchObject({ size: 1, misses: 1, hits: 2, loads: 1, evictions: 0 });
    await sessions.close();
  });

  it('evicts the least recently used past its size, and releases a session in use only when its run ends', async () => {
    let now = 0;
    const { sessions, reads } = cache(2, 60_000, () => now);
    const a = await sessions.get('a');
    now = 1;
    await sessions.get('b');
    now = 2;
    await sessions.get('a'); // a is now the most recently used: b goes first
    now = 3;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const inUse = sessions.use('a', async (s) => {
      await held;
      return runs(s);
    });
    await sessions.get('c'); // evicts b (least recently used)
    expect(sessions.has('b')).toBe(false);
    expect(sessions.has('a')).toBe(true);
    now = 4;
    expect(await sessions.unload('a')).toBe(true); // evicted while its run waits
    expect(sessions.has('a')).toBe(false);
    release();
    expect(await inUse).toBe(true); // still ran: released after, not before
    expect(await runs(a)).toBe(false);
    await sessions.get('b');
    expect(reads).toEqual(['a', 'b', 'c', 'b']);
    expect(sessions.snapshot()).toMatchObject({ size: 2, evictions: 2, loads: 4 });
    await sessions.close();
  });

  it('drops sessions unused for the TTL at the next call, and keeps those used since', async () => {
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

  it('reports sessions past the TTL as gone without a call to drop them (has, snapshot)', async () => {
    let now = 0;
    const { sessions } = cache(10, 1000, () => now);
    await sessions.get('a');
    now = 1500;
    expect(sessions.snapshot()).toMatchObject({ size: 0, evictions: 1 });
    expect(sessions.has('a')).toBe(false);
    await sessions.close();
  });

  it('releases a session past its TTL on its own timer, with no call to the cache at all', { timeout: 15_000 }, async () => {
    // Real clock, TTL 1 s (a load and a first run well inside it on a busy machine): the sweep runs every min(TTL, 60 s).
    const { sessions } = cache(5, 1000, () => performance.now());
    const a = await sessions.get('a');
    expect(await runs(a)).toBe(true);
    // Nothing touches the cache from here on: only the sweep can release the session.
    const deadline = Date.now() + 6000;
    while ((await runs(a)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await runs(a), 'the session still runs 6 s after its 1 s TTL').toBe(false);
    await sessions.close();
  });

  it('closes without pulling a session from under a run in progress', async () => {
    const { sessions } = cache(5, 60_000, () => 0);
    const a = await sessions.get('a');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const inUse = sessions.use('a', async (s) => {
      await held;
      return runs(s);
    });
    await sessions.close();
    release();
    expect(await inUse).toBe(true);
    expect(await runs(a)).toBe(false); // released once the run ended
  });

  it('does not keep a failed load: the next call tries again', async () => {
    const { sessions, reads } = cache(5, 60_000, () => 0);
    await expect(sessions.get('missing')).rejects.toThrow(/no artifact missing/);
    await new Promise((r) => setImmediate(r));
    expect(sessions.has('missing')).toBe(false);
    await expect(sessions.use('missing', async () => 1)).rejects.toThrow(/no artifact missing/);
    expect(reads).toEqual(['missing', 'missing']);
    expect(sessions.snapshot()).toMatchObject({ size: 0, loadFailures: 2 });
    await sessions.close();
  });
});
