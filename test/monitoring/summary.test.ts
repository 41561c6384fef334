import { fc, test } from '@fast-check/vitest';
import { mean, quantileSorted, sampleStandardDeviation } from 'simple-statistics';
import { describe, expect } from 'vitest';
import { summarizeSorted } from '../../src/monitoring/drift.js';

describe('summarizeSorted', () => {
  test.prop([fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }), { minLength: 2, maxLength: 3_000 })], { numRuns: 200 })(
    "gives exactly simple-statistics' answers on a plain array (the typed array read in place)",
    (values) => {
      const plain = [...values].sort((a, b) => a - b);
      const summary = summarizeSorted('f', Float64Array.from(plain));
      expect(summary).toEqual({
        feature: 'f',
        n: plain.length,
        mean: mean(plain),
        std: sampleStandardDeviation(plain),
        min: plain[0],
        max: plain[plain.length - 1],
        quantiles: {
          p05: quantileSorted(plain, 0.05),
          p25: quantileSorted(plain, 0.25),
          p50: quantileSorted(plain, 0.5),
          p75: quantileSorted(plain, 0.75),
          p95: quantileSorted(plain, 0.95),
        },
      });
    },
  );
});
