import { fc } from '@fast-check/vitest';

/**
 * Hostile values for the argument sweeps (test/mcp/fuzz.test.ts in process, the HTTP sweep in
 * test/e2e/http-limits.test.ts over the wire): keys that pollute prototypes or break paths,
 * strings from empty to 1 MB with NUL and emoji, extreme numbers, deep nesting, and arrays at and
 * over the tools' limits.
 */
export const hostileKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  '',
  'a\u0000b',
  '名前',
  '🙂',
  'x'.repeat(300),
  '$ref',
  '../../etc',
);
export const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', 'nba_points', 'v1', 'v1.5', 'production', '../../etc/passwd', '/etc/passwd', 'a\u0000b', '__proto__', 'models:/x/1', 'NaN', '1e309'),
  fc.constant('y'.repeat(1_000_000)),
);
export const hostileNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 2 ** 53 + 1, 1e-320, 0.5));

/** Deep nesting, objects with hostile keys, and arrays at and over the limits. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(hostileKey, fc.string({ maxLength: 10 })), tie('value'), { maxKeys: 4 }),
    fc.constantFrom(
      Array.from({ length: 10_001 }, () => [1, 2]),
      Array.from({ length: 10_000 }, () => Array(10).fill(0)),
      Array(10).fill(1),
      JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}') as unknown,
      Array.from({ length: 200 }, () => ({})).reduce((inner: unknown) => ({ a: inner }), {}),
    ),
  ),
})).value;
