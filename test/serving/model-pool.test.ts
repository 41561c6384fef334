import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelLimitError, type ModelLimits } from '../../src/serving/model-limits.js';
import { ModelLoadError, ModelPool } from '../../src/serving/model-pool.js';
import { fixture } from '../helpers.js';
import { chainGraph, residentMiB } from './hostile.js';

const FILES: Record<string, string> = {
  a: 'nba_points_v1.onnx',
  loop: 'hostile/loop-from-input.onnx',
  expand: 'hostile/expand-from-input.onnx',
};
const pools: ModelPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

const readFixture = async (key: string) => new Uint8Array(fs.readFileSync(fixture(FILES[key])));

function pool(limits: Partial<ModelLimits> = {}, extra: Record<string, Uint8Array> = {}, readModel = readFixture): ModelPool {
  const p = new ModelPool({
    processes: 2,
    threads: 1,
    limits: { runTimeoutMs: 10_000, loadTimeoutMs: 30_000, memoryMb: 1024, maxOutputBytes: 64 << 20, ...limits },
    readModel: async (key) => extra[key] ?? readModel(key),
  });
  pools.push(p);
  return p;
}

const row = (n = 1) => ({ float_input: { type: 'float32', dims: [n, 10], data: new Float32Array(10 * n) } });
const x = (v: number) => ({ X: { type: 'float32', dims: [1, 1], data: Float32Array.of(v) } });
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('ModelPool: models in processes of their own, held to their limits', () => {
  it('stops a run at MODEL_RUN_TIMEOUT_MS for real: the error names the limit, the process is killed, the next run gets a fresh one', async () => {
    const models = pool({ runTimeoutMs: 800 });
    // Both processes started, each with one of the models.
    await Promise.all([models.run('a', row(), ['variable']), models.run('loop', x(1), ['Y'])]);
    const both = models.pids();
    expect(both).toHaveLength(2);
    const started = performance.now();
    const hostile = models.run('loop', x(1e12), ['Y']).catch((e: unknown) => e);
    // Meanwhile the other process answers the other model, more than once.
    for (let i = 0; i < 5; i++) expect((await models.run('a', row(), ['variable'])).variable.dims).toEqual([1, 1]);
    const e = await hostile;
    const took = performance.now() - started;
    expect(e).toBeInstanceOf(ModelLimitError);
    expect((e as ModelLimitError).limit).toBe('run_time');
    expect((e as Error).message).toBe('ran longer than MODEL_RUN_TIMEOUT_MS (800 ms)');
    expect(took).toBeGreaterThanOrEqual(800);
    expect(took).toBeLessThan(3000);
    // The process that ran the loop is gone (a 10^12-iteration loop would otherwise run for hours).
    await new Promise((r) => setTimeout(r, 100));
    expect(both.filter(alive)).toHaveLength(1);
    // It was replaced at once, holding nothing: whatever it held loads again on demand.
    expect(models.status()).toMatchObject({ running: 2, restarts: 1 });
    expect(models.isLoaded('loop')).toBe(false);
    expect((await models.run('loop', x(3), ['Y'])).Y.data[0]).toBe(3);
  });

  it('keeps a process for every other model however many calls a slow one gets', async () => {
    const models = pool({ runTimeoutMs: 1500 });
    await models.run('a', row(), ['variable']);
    const hostile = Array.from({ length: 6 }, () => models.run('loop', x(1e12), ['Y']).catch((e: unknown) => e));
    const waits: number[] = [];
    const until = performance.now() + 1200;
    while (performance.now() < until) {
      const t = performance.now();
      await models.run('a', row(), ['variable']);
      waits.push(performance.now() - t);
    }
    // The six calls of the slow model take their turns in one process, each to its deadline.
    expect(Math.max(...waits), `waits ${waits.map((w) => w.toFixed(1)).join(' ')}`).toBeLessThan(500);
    expect(waits.length).toBeGreaterThan(10);
    const first = await hostile[0];
    expect(first).toBeInstanceOf(ModelLimitError);
    await models.close();
    for (const h of hostile) expect(await h).toBeInstanceOf(Error);
  }, 30_000);

  it('queues runs of one model in its process, and sends those a killed process never began to another', async () => {
    const models = pool({ runTimeoutMs: 800 });
    await models.run('loop', x(1), ['Y']);
    const hostile = models.run('loop', x(1e12), ['Y']).catch((e: unknown) => e);
    const behind = [2, 3, 4].map((v) => models.run('loop', x(v), ['Y']));
    expect(await hostile).toBeInstanceOf(ModelLimitError);
    // They waited behind it in its process, and ran in the one that replaced it.
    expect((await Promise.all(behind)).map((r) => r.Y.data[0])).toEqual([2, 3, 4]);
    expect(models.status().restarts).toBe(1);
  });

  it('refuses memory past MODEL_MEMORY_MB in the model process, which survives and gives it back', async () => {
    const models = pool({ memoryMb: 512 });
    await models.run('expand', x(1), ['Y']);
    const [pid] = models.pids();
    const e = await models.run('expand', x(2 ** 28), ['Y']).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ModelLimitError);
    expect((e as ModelLimitError).limit).toBe('memory');
    expect((e as Error).message).toMatch(/MODEL_MEMORY_MB \(512 MiB\)/);
    expect(models.pids()).toContain(pid);
    expect(residentMiB(pid)).toBeLessThan(300);
    // Within the cap it runs, and its buffers go back to the system after the run (no arena).
    expect((await models.run('expand', x(2 ** 25), ['Y'])).Y.data[0]).toBe(2 ** 25);
    expect(residentMiB(pid)).toBeLessThan(300);
  });

  it('refuses outputs past MODEL_MAX_OUTPUT_MB', async () => {
    const models = pool({ maxOutputBytes: 1024 });
    await models.run('a', row(10), ['variable']);
    const e = await models.run('a', row(1000), ['variable']).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ModelLimitError);
    expect((e as ModelLimitError).limit).toBe('output');
    expect((e as Error).message).toMatch(/MODEL_MAX_OUTPUT_MB/);
  });

  it('stops a load at MODEL_LOAD_TIMEOUT_MS', async () => {
    const models = pool({ loadTimeoutMs: 150 }, { big: chainGraph(40_000) });
    await models.run('a', row(), ['variable']);
    const e = await models.run('big', x(1), ['Y']).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ModelLoadError);
    expect((e as ModelLoadError).cause).toBeInstanceOf(ModelLimitError);
    expect((e as Error).message).toMatch(/MODEL_LOAD_TIMEOUT_MS \(150 ms\)/);
    expect((await models.run('a', row(), ['variable'])).variable.dims).toEqual([1, 1]);
  });

  it('runs a model whose file went bad only in the process that holds it, until none does', async () => {
    let damaged = false;
    let reads = 0;
    const models = pool({}, {}, async (key) => {
      if (key !== 'a') return readFixture(key);
      reads++;
      if (damaged) throw new Error('artifact 465ac1ba1946 no longer matches its sha256');
      return readFixture(key);
    });
    const before = (await models.run('a', row(), ['variable'])).variable.data[0];
    damaged = true;
    // The process holding `a` is the first idle one, so it takes a ~0.3 s run of another model;
    // `a` waits for it rather than loading its damaged file in the other process.
    for (let round = 0; round < 2; round++) {
      const busy = models.run('loop', x(1e5), ['Y']);
      expect((await models.run('a', row(), ['variable'])).variable.data[0]).toBe(before);
      expect((await busy).Y.data[0]).toBe(1e5);
    }
    // One failed load pins it: the second round read nothing.
    expect(reads).toBe(2);
    expect(models.stats.loadFailures).toBe(1);
    // Once no process holds it, its load fails as it is.
    models.release('a');
    const e = await models.run('a', row(), ['variable']).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ModelLoadError);
    expect((e as Error).message).toMatch(/no longer matches its sha256/);
  });
});
