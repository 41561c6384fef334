import { describe, expect, it } from 'vitest';
import { columnsOf } from '../../src/performance/columns.js';
import { compareSplit } from '../../src/performance/compare.js';
import type { StoredOutcome } from '../../src/performance/ports.js';
import type { ModelVersion } from '../../src/registry/types.js';
import { meanVar, welchTest } from '../../src/performance/stats.js';

const version = (label: string, stage: ModelVersion['stage']) =>
  ({ version: label, stage, signature: { inputs: [], outputs: [], task: 'regression' } }) as unknown as ModelVersion;
const versions = new Map([
  ['v1', version('v1', 'production')],
  ['v2', version('v2', 'staging')],
]);
const outcome = (v: string, day: number, error: number): StoredOutcome => ({
  version: v,
  predictedAt: Date.UTC(2026, 10, day),
  predicted: 10 + error,
  actual: 10,
  predictedLabel: null,
  actualLabel: null,
  pActual: null,
  brier: null,
  pPositive: null,
});

describe('compareSplit', () => {
  it('compares the variants over the period all of them were served, with the production version as control', () => {
    // v1 alone on days 1–9 with large errors, then both from day 10 on.
    const window = [
      ...[10, 11, 12, 13].flatMap((d) => [outcome('v1', d, 1 + (d % 2)), outcome('v2', d, 1 + ((d + 1) % 2))]),
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => outcome('v1', d, 40 + d)),
    ].sort((a, b) => b.predictedAt - a.predictedAt);
    const c = compareSplit({ v2: 0.5, v1: 0.5 }, versions, columnsOf(window), { alpha: 0.05, power: 0.8, confidence: 0.95 })!;
    expect([c.metric, c.control, c.since]).toEqual(['mae', 'v1', '2026-11-10T00:00:00.000Z']);
    expect(c.variants.map((v) => [v.version, v.n])).toEqual([
      ['v2', 4],
      ['v1', 4],
    ]);
    const t = welchTest(meanVar([2, 1, 2, 1]), meanVar([1, 2, 1, 2]), 0.95)!;
    expect(c.challengers[0]).toMatchObject({ version: 'v2', difference: t.difference, pValue: t.pValue, verdict: 'not yet' });
    expect(c.challengers[0].outcomesNeeded).toBeGreaterThan(0);
  });

  it('says worse when the challenger errs significantly more, and needs no more outcomes once it has enough', () => {
    const window = Array.from({ length: 200 }, (_, i) => outcome(i % 2 ? 'v2' : 'v1', 10 + (i % 5), i % 2 ? 5 + (i % 7) : 1 + (i % 3)));
    const c = compareSplit({ v1: 0.5, v2: 0.5 }, versions, columnsOf(window), { alpha: 0.05, power: 0.8, confidence: 0.95, minEffect: 1 })!;
    expect(c.challengers[0]).toMatchObject({ verdict: 'worse', outcomesNeeded: 0 });
    expect(c.challengers[0].difference).toBeGreaterThan(0);
  });

  it('has no period while a variant has no outcome, and no comparison for a split of one version', () => {
    const c = compareSplit({ v1: 0.8, v2: 0.2 }, versions, columnsOf([outcome('v1', 1, 1), outcome('v1', 2, 2)]), {
      alpha: 0.05,
      power: 0.8,
      confidence: 0.95,
    })!;
    expect([c.since, c.challengers[0].verdict, c.challengers[0].pValue]).toEqual([null, 'not yet', null]);
    expect(compareSplit({ v1: 1 }, versions, columnsOf([]), { alpha: 0.05, power: 0.8, confidence: 0.95 })).toBeNull();
  });
});
