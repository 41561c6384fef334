import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { inlineRefusal, INLINE_MAX_MODEL_BYTES } from '../../src/serving/inline-graph.js';
import { INLINE_ROW_STEPS, InlineModels, type InlineOptions } from '../../src/serving/inline-models.js';
import { ModelRunFailure } from '../../src/serving/model-host.js';
import type { ModelLimits } from '../../src/serving/model-limits.js';
import { ModelPool } from '../../src/serving/model-pool.js';
import type { WireTensor } from '../../src/serving/model-wire.js';
import { fixture } from '../helpers.js';
import { chainGraph } from './hostile.js';

const LIMITS: ModelLimits = { runTimeoutMs: 10_000, loadTimeoutMs: 30_000, memoryMb: 1024, maxOutputBytes: 64 << 20 };
const FILES: Record<string, string> = {
  linear: 'nba_points_v1.onnx',
  classifier: 'nba_win_predictor_v1.5.onnx',
  trees: 'nba_points_v2.onnx',
  loop: 'hostile/loop-from-input.onnx',
};
/**
 * A budget a linear model's timed runs (1 024 rows: ~20–50 µs here) stay within even when the
 * test's process loses its core mid-run, as it does with CI's other tests on two cores.
 */
const ROOMY_US = 2_000;
const bytesOf = (key: string) => new Uint8Array(fs.readFileSync(fixture(FILES[key])));

const pools: ModelPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

function pool(maxMicros: number): { pool: ModelPool; inline: InlineModels; options: InlineOptions } {
  const options: InlineOptions = { maxMicros, limits: LIMITS };
  const inline = new InlineModels(options);
  const p = new ModelPool({ processes: 2, threads: 1, limits: LIMITS, readModel: async (key) => bytesOf(key), inline });
  pools.push(p);
  return { pool: p, inline, options };
}

/** n rows of 10 features, different per row. */
const rows = (n: number): Record<string, WireTensor> => ({
  float_input: { type: 'float32', dims: [n, 10], data: Float32Array.from({ length: n * 10 }, (_, i) => ((i * 7919) % 97) / 3 - 10) },
});

/** Runs until the model's timing (a job of its own after its first load) has been judged. */
async function untilJudged(inline: InlineModels, p: ModelPool, key: string, feeds: Record<string, WireTensor>, fetch: string): Promise<void> {
  for (let i = 0; i < 200 && inline.judgement(key) === 'untimed'; i++) {
    await p.run(key, feeds, [fetch]);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('inline models: which graphs may run on the server thread', () => {
  it('admits linear models and refuses trees, loops, large graphs and broken bytes, saying why', () => {
    expect(inlineRefusal(bytesOf('linear'))).toBeNull();
    expect(inlineRefusal(bytesOf('classifier'))).toBeNull();
    expect(inlineRefusal(chainGraph(200))).toBeNull();
    expect(inlineRefusal(bytesOf('trees'))).toBe('uses ai.onnx.ml.TreeEnsembleRegressor');
    expect(inlineRefusal(bytesOf('loop'))).toBe('uses Loop');
    expect(inlineRefusal(new Uint8Array(fs.readFileSync(fixture('hostile/constant-of-shape.onnx'))))).toBe('uses ConstantOfShape');
    expect(inlineRefusal(chainGraph(300))).toBe('has more than 256 nodes');
    expect(inlineRefusal(new Uint8Array(INLINE_MAX_MODEL_BYTES + 1))).toBe(`larger than ${INLINE_MAX_MODEL_BYTES} bytes`);
    expect(inlineRefusal(Uint8Array.of(0xff, 0xff, 0xff))).toBe('is not a well-formed model');
    expect(inlineRefusal(new Uint8Array(0))).toBe('has no graph');
  });
});

describe('inline models: a ModelPool runs small runs of a timed model on its own thread', () => {
  it('answers exactly what the model process answers, inline up to the largest size timed within budget and in a process beyond', async () => {
    const fast = pool(ROOMY_US);
    const slow = pool(0);
    await untilJudged(fast.inline, fast.pool, 'linear', rows(1), 'variable');
    expect(fast.inline.judgement('linear')).toBe('accepted');
    expect(fast.inline.has('linear')).toBe(true);
    expect(fast.pool.status().inline).toBe(1);
    const largest = INLINE_ROW_STEPS[INLINE_ROW_STEPS.length - 1];
    for (const n of [1, 7, 64, 65, 1000, largest + 1]) {
      const before = fast.inline.runs;
      const a = await fast.pool.run('linear', rows(n), ['variable']);
      expect(fast.inline.runs - before).toBe(n <= 1024 ? 1 : 0);
      const b = await slow.pool.run('linear', rows(n), ['variable']);
      expect(a.variable.dims).toEqual([n, 1]);
      expect(Array.from(a.variable.data as Float32Array)).toEqual(Array.from(b.variable.data as Float32Array));
    }
    expect(slow.inline.has('linear')).toBe(false);
    expect(slow.inline.runs).toBe(0);
    // Closing the pool closes the sessions held in the server too.
    await fast.pool.close();
    expect(fast.inline.size).toBe(0);
  });

  it('keeps a model in processes when its graph rules it out or its timed run is over the budget', async () => {
    const p = pool(ROOMY_US);
    await untilJudged(p.inline, p.pool, 'trees', rows(1), 'variable');
    expect(p.inline.refusal('trees')).toBe('it uses ai.onnx.ml.TreeEnsembleRegressor');
    const strict = pool(1);
    await untilJudged(strict.inline, strict.pool, 'linear', rows(1), 'variable');
    expect(strict.inline.refusal('linear')).toMatch(/^a run of 64 rows took \d+ µs$/);
    expect(strict.inline.has('linear')).toBe(false);
    await strict.pool.run('linear', rows(1), ['variable']);
    expect(strict.inline.runs).toBe(0);
  });

  it('fails a bad run inline in the words of the model process', async () => {
    const fast = pool(ROOMY_US);
    const slow = pool(0);
    await untilJudged(fast.inline, fast.pool, 'linear', rows(1), 'variable');
    const bad = { float_input: { type: 'float32', dims: [1, 3], data: new Float32Array(3) } };
    const inline = await fast.pool.run('linear', bad, ['variable']).catch((e: unknown) => e);
    const there = await slow.pool.run('linear', bad, ['variable']).catch((e: unknown) => e);
    expect(inline).toBeInstanceOf(ModelRunFailure);
    expect(there).toBeInstanceOf(ModelRunFailure);
    expect((inline as Error).message).toBe((there as Error).message);
    expect((inline as Error).message).toMatch(/dimensions/i);
    // The model still runs inline.
    expect(fast.inline.has('linear')).toBe(true);
  });

  it('sends a model whose runs overrun the budget back to the processes, and opens an evicted one again untimed', async () => {
    const changes: string[] = [];
    const { pool: p, inline, options } = pool(ROOMY_US);
    options.onChange = (key, on, why) => changes.push(`${key} ${on ? 'in' : 'out'}: ${why}`);
    await untilJudged(inline, p, 'linear', rows(1), 'variable');
    expect(inline.has('linear')).toBe(true);
    // Evicted and loaded again: inline again without another timing.
    p.release('linear');
    expect(inline.has('linear')).toBe(false);
    await p.run('linear', rows(1), ['variable']);
    expect(inline.has('linear')).toBe(true);
    // Overruns with runs within the budget between them (the thread losing its core now and then)
    // are let pass, however many: a budget of a thousandth of a µs makes every run overrun.
    for (let i = 0; i < 6; i++) {
      options.maxMicros = 0.001;
      await p.run('linear', rows(1), ['variable']);
      await p.run('linear', rows(1), ['variable']);
      options.maxMicros = 1e9;
      await p.run('linear', rows(1), ['variable']);
    }
    expect(inline.has('linear')).toBe(true);
    // Three in a row send it back.
    options.maxMicros = 0.001;
    await p.run('linear', rows(1), ['variable']);
    await p.run('linear', rows(1), ['variable']);
    expect(inline.has('linear')).toBe(true);
    await p.run('linear', rows(1), ['variable']);
    expect(inline.has('linear')).toBe(false);
    expect(inline.refusal('linear')).toMatch(/^3 runs in a row took over 4 × MODEL_INLINE_MAX_US/);
    const runs = inline.runs;
    expect((await p.run('linear', rows(1), ['variable'])).variable.dims).toEqual([1, 1]);
    expect(inline.runs).toBe(runs);
    expect(changes.map((c) => c.split(':')[0])).toEqual(['linear in', 'linear in', 'linear out']);
  });
});
