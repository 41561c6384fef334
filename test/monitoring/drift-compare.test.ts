import { describe, expect, it } from 'vitest';
import type { PValueCorrection } from '../../src/monitoring/correction.js';
import { compareToReference, prepareReference, summarizeSorted, toReferenceFeatures } from '../../src/monitoring/drift.js';
import { compareFeature } from '../../src/monitoring/feature-compare.js';

/** What a drift run refuses, and where its verdicts turn: at the threshold and the dataset share. */

const range = (from: number, n: number) => Float64Array.from({ length: n }, (_, i) => from + i);

function refusal(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    const { code, message } = e as { code: string; message: string };
    return { code, message };
  }
  throw new Error('no refusal');
}

const compare = async (ref: Float64Array, cur: Float64Array) => compareFeature(ref, cur);
const options = (threshold = 0.05, datasetDriftShare = 0.5, correction: PValueCorrection = 'none') => ({ threshold, correction, datasetDriftShare });

describe('a feature summary', () => {
  it('of a single value has no spread, and every quantile is the value', () => {
    expect(summarizeSorted('pts', Float64Array.of(7))).toEqual({
      feature: 'pts',
      n: 1,
      mean: 7,
      std: 0,
      min: 7,
      max: 7,
      quantiles: { p05: 7, p25: 7, p50: 7, p75: 7, p95: 7 },
    });
  });
});

describe('preparing a reference', () => {
  it('keeps the values sorted with their summary', () => {
    const ref = prepareReference('pts', Float64Array.of(3, 1, 2));
    expect(Array.from(ref.sorted)).toEqual([1, 2, 3]);
    expect(ref.summary).toMatchObject({ feature: 'pts', n: 3, mean: 2, std: 1, min: 1, max: 3 });
  });

  it('refuses a feature whose mean overflows, saying its range and what to do', () => {
    expect(refusal(() => prepareReference('big', Float64Array.of(1.7e308, 1.7e308)))).toEqual({
      code: 'invalid_argument',
      message:
        'feature "big" has values too large to summarise (from 1.7e+308 to 1.7e+308: its mean or spread overflows a 64-bit float). Scale the feature, or leave it out of the data.',
    });
  });

  it("fails with the first failing column's error, whichever answered first", async () => {
    const columns = {
      features: new Map([
        ['slow', range(0, 2)],
        ['fast', range(0, 2)],
        ['fine', range(0, 2)],
      ]),
      rows: 2,
      ignored: 0,
    };
    const prepare = async (feature: string, values: Float64Array) => {
      if (feature === 'fine') return prepareReference(feature, values);
      await new Promise((r) => setTimeout(r, feature === 'slow' ? 30 : 0));
      throw new Error(`${feature} failed`);
    };
    await expect(toReferenceFeatures(columns, prepare)).rejects.toThrow('slow failed');
    const ok = await toReferenceFeatures(
      {
        ...columns,
        features: new Map([
          ['a', range(0, 2)],
          ['b', range(5, 3)],
        ]),
      },
      async (f, v) => prepareReference(f, v),
    );
    expect(ok.map((r) => [r.feature, r.summary.n])).toEqual([
      ['a', 2],
      ['b', 3],
    ]);
  });
});

describe('comparing to a reference', () => {
  it('refuses current data without a reference feature', async () => {
    const reference = [prepareReference('pts', range(0, 10)), prepareReference('reb', range(0, 10))];
    await expect(compareToReference(reference, new Map([['pts', range(0, 10)]]), options(), compare)).rejects.toMatchObject({
      code: 'invalid_argument',
      message: 'current data has no feature "reb".',
    });
  });

  it('needs two rows on each side, and takes exactly two', async () => {
    const two = [prepareReference('pts', range(0, 2))];
    const one = [prepareReference('pts', range(0, 1))];
    await expect(compareToReference(one, new Map([['pts', range(0, 5)]]), options(), compare)).rejects.toMatchObject({
      code: 'invalid_argument',
      message: 'too few rows for feature "pts": 1 in the reference, 5 in the current data; the KS test needs at least 2 on each side.',
    });
    await expect(compareToReference(two, new Map([['pts', range(0, 1)]]), options(), compare)).rejects.toMatchObject({
      message: 'too few rows for feature "pts": 2 in the reference, 1 in the current data; the KS test needs at least 2 on each side.',
    });
    const result = await compareToReference(two, new Map([['pts', range(0, 2)]]), options(), compare);
    expect(result.features.map((f) => [f.feature, f.nRef, f.nCur])).toEqual([['pts', 2, 2]]);
  });

  it('calls a feature drifted only when its p-value is below the threshold, not at it', async () => {
    const reference = [prepareReference('pts', range(0, 100))];
    const current = new Map([['pts', range(20, 100)]]);
    const { features } = await compareToReference(reference, current, options(), compare);
    const p = features[0].pValueAdjusted;
    expect(p).toBeGreaterThan(0);
    const at = await compareToReference(reference, current, options(p), compare);
    expect(at.features[0].driftDetected).toBe(false);
    const above = await compareToReference(reference, current, options(p * (1 + 1e-12)), compare);
    expect(above.features[0].driftDetected).toBe(true);
  });

  it('calls the dataset drifted at the share, not below it, and keeps each feature sorted and charted', async () => {
    const names = ['a', 'b', 'c', 'd'];
    const reference = names.map((f) => prepareReference(f, range(0, 100)));
    // Two of four features moved far: a drifted share of exactly 0.5.
    const current = new Map(names.map((f, i) => [f, i < 2 ? range(500, 100).reverse() : range(0, 100)]));
    const at = await compareToReference(reference, current, options(0.05, 0.5), compare);
    expect(at.features.map((f) => f.driftDetected)).toEqual([true, true, false, false]);
    expect([at.driftedShare, at.datasetDrift]).toEqual([0.5, true]);
    const below = await compareToReference(reference, current, options(0.05, 0.51), compare);
    expect([below.driftedShare, below.datasetDrift]).toEqual([0.5, false]);
    expect([...at.sortedCurrent.keys()]).toEqual(names);
    expect(Array.from(at.sortedCurrent.get('a')!.subarray(0, 3))).toEqual([500, 501, 502]);
    expect([...at.curves.keys()]).toEqual(names);
  });

  it('calls no dataset drifted when no feature was compared', async () => {
    const none = await compareToReference([], new Map(), options(0.05, 0), compare);
    expect([none.features, none.driftedShare, none.datasetDrift]).toEqual([[], 0, false]);
  });
});
