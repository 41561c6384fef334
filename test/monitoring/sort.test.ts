import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { sortedCopy } from '../../src/monitoring/sort.js';

/** Bit for bit: -0 and +0 told apart. */
function sameBits(a: Float64Array, b: Float64Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length * 2);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

const value = fc.oneof(
  fc.double({ noNaN: true }),
  fc.constantFrom(0, -0, Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, -Infinity, Infinity, 1, -1, 0.1),
  fc.integer({ min: -5, max: 5 }).map((k) => k / 4), // many ties
);

describe('sortedCopy', () => {
  test.prop([fc.array(value, { minLength: 0, maxLength: 6_000 })], { numRuns: 200 })('gives exactly what Float64Array.prototype.sort gives', (values) => {
    const input = Float64Array.from(values);
    const before = Float64Array.from(input);
    expect(sameBits(sortedCopy(input), Float64Array.from(input).sort())).toBe(true);
    expect(sameBits(input, before)).toBe(true); // a copy: the input is left as it was
  });

  it('sorts 100 000 values as the built-in sort does, NaN included', () => {
    const values = Float64Array.from({ length: 100_000 }, (_, i) => Math.sin(i) * 10 ** ((i % 41) - 20));
    values[7] = -0;
    values[8] = 0;
    expect(sameBits(sortedCopy(values), Float64Array.from(values).sort())).toBe(true);
    values[9] = Number.NaN;
    expect(sameBits(sortedCopy(values), Float64Array.from(values).sort())).toBe(true);
  });
});
