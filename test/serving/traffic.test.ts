import { describe, expect, it } from 'vitest';
import type { Stage } from '../../src/registry/types.js';
import { stickyBucket } from '../../src/serving/sticky.js';
import { defaultTraffic, pickerFor, pickVersion, validateWeights, weightOf } from '../../src/serving/traffic.js';
import { modelVersion } from '../versions.js';

/** The traffic rules in process: what configure_traffic refuses, and where a request is routed. */

const version = (label: string, stage: Stage) => modelVersion({ name: 'nba_win', version: label, stage });

const versions = [version('v1', 'production'), version('v2', 'staging'), version('v3', 'none'), version('v0', 'archived')];

describe('a version weight', () => {
  it('is the split weight, else 0, and never a name on Object.prototype', () => {
    expect(weightOf({ v1: 0.8, v2: 0.2 }, 'v2')).toBe(0.2);
    expect(weightOf({ v1: 1 }, 'v2')).toBe(0);
    expect(weightOf({ v1: 1 }, 'constructor')).toBe(0);
    expect(weightOf(null, 'v1')).toBe(0);
    expect(weightOf(undefined, 'v1')).toBe(0);
  });
});

describe('the default split', () => {
  it('sends everything to production, at random, set by nobody', () => {
    expect(defaultTraffic(versions)).toEqual({ weights: { v1: 1 }, routing: 'random', updatedAt: null });
  });

  it('is nothing when no version is in production', () => {
    expect(defaultTraffic([version('v1', 'staging'), version('v2', 'archived')])).toBeNull();
  });
});

describe('validating weights', () => {
  const refusal = (weights: Record<string, number>) => {
    try {
      validateWeights('nba_win', versions, weights);
    } catch (e) {
      const { code, message } = e as { code: string; message: string };
      return { code, message };
    }
    throw new Error('weights accepted');
  };

  it('keeps the positive weights, sorted by version label', () => {
    const split = validateWeights('nba_win', versions, { v3: 0.25, v1: 0.5, v2: 0.25 });
    expect(Object.entries(split)).toEqual([
      ['v1', 0.5],
      ['v2', 0.25],
      ['v3', 0.25],
    ]);
    expect(Object.entries(validateWeights('nba_win', versions, { v2: 0, v1: 1 }))).toEqual([['v1', 1]]);
  });

  it('accepts a sum within the tolerance of 1 and refuses one just outside it', () => {
    expect(validateWeights('nba_win', versions, { v1: 0.7, v2: 0.3 + 5e-10 })).toEqual({ v1: 0.7, v2: 0.3 + 5e-10 });
    expect(validateWeights('nba_win', versions, { v1: 0.7, v2: 0.3 - 5e-10 })).toEqual({ v1: 0.7, v2: 0.3 - 5e-10 });
    expect(refusal({ v1: 0.7, v2: 0.3 + 2e-9 }).code).toBe('invalid_argument');
    expect(refusal({ v1: 0.7, v2: 0.3 - 2e-9 }).code).toBe('invalid_argument');
  });

  it('refuses an empty split with an example of one', () => {
    expect(refusal({})).toEqual({ code: 'invalid_argument', message: 'weights is empty: give at least one version, e.g. {"v2": 0.2, "v1": 0.8}.' });
  });

  it('refuses an unknown version, listing the versions there are', () => {
    expect(refusal({ v1: 0.5, v9: 0.5 })).toEqual({ code: 'not_found', message: 'nba_win has no version "v9" (versions: v1, v2, v3, v0).' });
  });

  it('refuses an archived version and says to promote it first', () => {
    expect(refusal({ v1: 0.5, v0: 0.5 })).toEqual({
      code: 'failed_precondition',
      message: 'nba_win v0 is archived and cannot take traffic; promote it to staging first.',
    });
  });

  it('refuses a negative or non-finite weight, naming the version', () => {
    expect(refusal({ v1: 1.5, v2: -0.5 })).toEqual({ code: 'invalid_argument', message: 'weight of v2 is -0.5; weights must be ≥ 0.' });
    expect(refusal({ v1: Number.NaN })).toEqual({ code: 'invalid_argument', message: 'weight of v1 is NaN; weights must be ≥ 0.' });
    expect(refusal({ v1: Infinity })).toEqual({ code: 'invalid_argument', message: 'weight of v1 is Infinity; weights must be ≥ 0.' });
  });

  it('refuses weights that do not sum to 1, giving the sum to 12 digits', () => {
    expect(refusal({ v1: 0.1, v2: 0.2 })).toEqual({
      code: 'invalid_argument',
      message: 'weights sum to 0.3, not 1; scale them so they add up to exactly 1 (within 1e-9).',
    });
    expect(refusal({ v1: 0.8, v2: 0.8 }).message).toMatch(/^weights sum to 1\.6, not 1;/);
  });
});

describe('sticky routing', () => {
  it('puts the same key in the same bucket, in [0, 1)', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const buckets = keys.map((k) => stickyBucket('nba_win', k));
    expect(keys.map((k) => stickyBucket('nba_win', k))).toEqual(buckets);
    expect(Math.min(...buckets)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...buckets)).toBeLessThan(1);
    // Spread evenly: a fifth of the keys, give or take, in each fifth of [0, 1).
    for (let f = 0; f < 5; f++) {
      const share = buckets.filter((b) => b >= f / 5 && b < (f + 1) / 5).length / keys.length;
      expect(share).toBeGreaterThan(0.17);
      expect(share).toBeLessThan(0.23);
    }
  });

  it('depends on the model, and keeps the model name and the key apart', () => {
    expect(stickyBucket('nba_win', 'user-1')).not.toBe(stickyBucket('nba_points', 'user-1'));
    expect(stickyBucket('ab', 'c')).not.toBe(stickyBucket('a', 'bc'));
  });
});

describe('picking a version', () => {
  // Built inside each test: Stryker counts only what a test runs as covered by it.
  const quarter = () => pickerFor({ weights: { v1: 0.25, v2: 0.75 }, routing: 'random', updatedAt: null });

  it('accumulates the weights in label order', () => {
    const picker = quarter();
    expect(picker.labels).toEqual(['v1', 'v2']);
    expect(Array.from(picker.bounds)).toEqual([0.25, 1]);
  });

  it('sends a bucket to the first version whose cumulative weight is above it', () => {
    const picker = quarter();
    expect(pickVersion(picker, 0)).toBe('v1');
    expect(pickVersion(picker, 0.2499)).toBe('v1');
    expect(pickVersion(picker, 0.25)).toBe('v2');
    expect(pickVersion(picker, 0.9999)).toBe('v2');
  });

  it('sends a bucket above a sum just short of 1 to the last version', () => {
    const short = pickerFor({ weights: { a: 0.5, b: 0.5 - 1e-10, c: 0 }, routing: 'random', updatedAt: null });
    expect(pickVersion(short, 0.99999999999)).toBe('c');
  });
});
