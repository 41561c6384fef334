import { describe, expect, it } from 'vitest';
import type { ModelVersion } from '../../src/registry/types.js';
import type { BatchOutput } from '../../src/serving/outputs.js';
import { COALESCE_MAX_ROWS, COALESCE_MAX_ROWS_EACH, RunCoalescer } from '../../src/serving/run-coalescer.js';

const version = (batch: number | null = null) =>
  ({ name: 'm', version: 'v1', signature: { inputs: [{ name: 'x', type: 'float32', shape: [batch, 2] }] } }) as unknown as ModelVersion;

class Fatal extends Error {}

/** A fake model process: each row's prediction is the sum of its values; a row holding -13 is refused (-666: the process dies); a run counts. */
function fakeRuns(options: { classifier?: boolean } = {}) {
  const calls: Array<{ rows: number; requests: number }> = [];
  const coalescer = new RunCoalescer(
    async (_v, matrix, n, k, requests) => {
      calls.push({ rows: n, requests });
      await new Promise((r) => setTimeout(r, 1));
      if (matrix.includes(-13)) throw new Error(`refused a run of ${n} rows`);
      if (matrix.includes(-666)) throw new Fatal('the process died');
      const predictions = Array.from({ length: n }, (_, r) => matrix[r * k] + matrix[r * k + 1]);
      const out: BatchOutput = {
        predictions,
        probabilities: options.classifier ? { a: predictions.map((p) => p / 100), b: predictions.map((p) => -p) } : null,
      };
      return out;
    },
    (e) => e instanceof Fatal,
  );
  return { calls, coalescer };
}

describe('RunCoalescer', () => {
  it('sends the small runs asked for in one turn as one run, and gives each its own rows', async () => {
    const { calls, coalescer } = fakeRuns({ classifier: true });
    const v = version();
    const answers = await Promise.all([
      coalescer.run(v, Float64Array.of(1, 2), 1, 2),
      coalescer.run(v, Float64Array.of(3, 4, 5, 6), 2, 2),
      coalescer.run(v, Float64Array.of(7, 8), 1, 2),
    ]);
    expect(calls).toEqual([{ rows: 4, requests: 3 }]);
    expect(answers.map((a) => a.predictions)).toEqual([[3], [7, 11], [15]]);
    expect({ ...answers[1].probabilities }).toEqual({ a: [0.07, 0.11], b: [-7, -11] });
  });

  it('does not wait for company: a lone run goes out in the turn it was asked for', async () => {
    const { calls, coalescer } = fakeRuns();
    const v = version();
    expect((await coalescer.run(v, Float64Array.of(1, 2), 1, 2)).predictions).toEqual([3]);
    expect((await coalescer.run(v, Float64Array.of(2, 2), 1, 2)).predictions).toEqual([4]);
    expect(calls).toEqual([
      { rows: 1, requests: 1 },
      { rows: 1, requests: 1 },
    ]);
  });

  it('keeps versions apart, and large runs and one-row models to themselves', async () => {
    const { calls, coalescer } = fakeRuns();
    const [a, b, one] = [version(), version(), version(1)];
    const big = new Float64Array((COALESCE_MAX_ROWS_EACH + 1) * 2);
    await Promise.all([
      coalescer.run(a, Float64Array.of(1, 1), 1, 2),
      coalescer.run(b, Float64Array.of(1, 1), 1, 2),
      coalescer.run(a, big, COALESCE_MAX_ROWS_EACH + 1, 2),
      coalescer.run(one, Float64Array.of(1, 1), 1, 2),
      coalescer.run(one, Float64Array.of(1, 1), 1, 2),
    ]);
    expect(calls.map((c) => c.rows).sort((x, y) => x - y)).toEqual([1, 1, 1, 1, COALESCE_MAX_ROWS_EACH + 1]);
  });

  it('shares a run among at most COALESCE_MAX_ROWS rows', async () => {
    const { calls, coalescer } = fakeRuns();
    const v = version();
    const n = COALESCE_MAX_ROWS + 5;
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => coalescer.run(v, Float64Array.of(i, 0), 1, 2)));
    expect(answers.map((a) => a.predictions[0])).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(calls).toEqual([
      { rows: COALESCE_MAX_ROWS, requests: COALESCE_MAX_ROWS },
      { rows: 5, requests: 5 },
    ]);
  });

  it('runs each request alone when a shared run fails on rows, so only the request that caused it fails, in its own words', async () => {
    const { calls, coalescer } = fakeRuns();
    const v = version();
    const answers = await Promise.allSettled([
      coalescer.run(v, Float64Array.of(1, 2), 1, 2),
      coalescer.run(v, Float64Array.of(-13, 0), 1, 2),
      coalescer.run(v, Float64Array.of(2, 2), 1, 2),
    ]);
    expect(answers.map((a) => (a.status === 'fulfilled' ? a.value.predictions : (a.reason as Error).message))).toEqual([[3], 'refused a run of 1 rows', [4]]);
    expect(calls).toEqual([
      { rows: 3, requests: 3 },
      { rows: 1, requests: 1 },
      { rows: 1, requests: 1 },
      { rows: 1, requests: 1 },
    ]);
  });

  it('fails every request of a shared run with a failure of the process, without running them again', async () => {
    const { calls, coalescer } = fakeRuns();
    const v = version();
    const answers = await Promise.allSettled([coalescer.run(v, Float64Array.of(1, 2), 1, 2), coalescer.run(v, Float64Array.of(-666, 0), 1, 2)]);
    expect(answers.map((a) => a.status === 'rejected' && a.reason instanceof Fatal)).toEqual([true, true]);
    expect(calls).toHaveLength(1);
  });
});
