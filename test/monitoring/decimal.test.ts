import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { nearestDecimal } from '../../src/monitoring/decimal.js';

/** nearestDecimal on the digits of m (16 to 19 of them) and a scale: the parser's split. */
function viaSplit(m: bigint, scale: number): number {
  const digits = m.toString();
  return nearestDecimal(Number(digits.slice(0, 15)), digits.length - 15, Number(digits.slice(15) || '0'), scale);
}

const text = (m: bigint, scale: number) => `${m}e${scale}`;
const mantissa = fc.bigInt({ min: 10n ** 15n, max: 10n ** 19n - 1n });

describe('nearestDecimal: the double Number() gives for 16 to 19 digits × 10^(-22…0)', () => {
  test.prop([mantissa, fc.integer({ min: -22, max: 0 })], { numRuns: 20_000 })('random mantissas and scales', (m, scale) => {
    expect(Object.is(viaSplit(m, scale), Number(text(m, scale))), text(m, scale)).toBe(true);
  });

  test.prop([fc.integer({ min: 54, max: 63 }), fc.bigInt({ min: 0n, max: 2n ** 52n - 1n }), fc.constantFrom(-1n, 0n, 1n), fc.integer({ min: 0, max: 3 })], {
    numRuns: 20_000,
  })('halfway cases (ties to even), their neighbours and binade edges, as integers and as decimals with zeros after them', (k, c, offset, zeros) => {
    // Doubles in [2^k, 2^(k+1)) are 2^(k-52) apart: 2^k + c·2^(k-52) + 2^(k-53) is halfway between two.
    const half = 2n ** BigInt(k) + c * 2n ** BigInt(k - 52) + 2n ** BigInt(k - 53) + offset;
    for (const m of [half, 2n ** BigInt(k) + offset, 2n ** BigInt(k + 1) - 1n + offset]) {
      const scaled = m * 10n ** BigInt(zeros);
      if (scaled < 10n ** 15n || scaled >= 10n ** 19n) continue;
      expect(Object.is(viaSplit(scaled, -zeros), Number(text(scaled, -zeros))), text(scaled, -zeros)).toBe(true);
    }
  });

  it('refuses what it does not cover (the caller then asks Number())', () => {
    expect(nearestDecimal(123456789012345, 2, 67, -23)).toBeNaN();
    expect(nearestDecimal(123456789012345, 2, 67, 1)).toBeNaN();
    expect(nearestDecimal(123456789012345, 5, 67, -3)).toBeNaN();
  });
});
