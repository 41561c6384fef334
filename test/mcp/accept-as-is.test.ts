import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { AppContext } from '../../src/context.js';
import { allTools } from '../../src/mcp/tools/index.js';
import { hostileValue } from '../hostile-values.js';
import { call, connect, errorCode, NBA_POINTS_FEATURES, ok, registerDemoVersions, testApp, text } from '../helpers.js';

/**
 * A tool's acceptAsIs lets arguments skip zod (see ToolDefinition.acceptAsIs). The one rule: it
 * never accepts what the tool's input schema refuses, and what it accepts is what zod would
 * have handed the handler.
 */
const skipping = allTools.filter((t) => t.acceptAsIs);
const batchPredict = allTools.find((t) => t.name === 'batch_predict')!;
const predict = allTools.find((t) => t.name === 'predict')!;

/** A valid batch_predict call with array rows: what acceptAsIs exists for. */
const validCall = fc.record({
  name: fc.constantFrom('nba_points', 'a', 'x'.repeat(128)),
  rows: fc.array(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 5 }),
  version: fc.option(fc.constantFrom('v1', '1', 'v1.5'), { nil: undefined }),
  routing_key: fc.option(fc.constantFrom('user-1', 'k'.repeat(256)), { nil: undefined }),
});

/** One way to break a valid call, at the schema's edges (or none). */
const corruption = fc.oneof(
  fc.constant(null),
  fc.record({
    field: fc.constantFrom('name', 'version', 'routing_key', 'rows'),
    value: fc.constantFrom('', 'x'.repeat(129), 'k'.repeat(257), '-lead', 'has space', 'é', 1, null, [], 'not rows'),
  }),
  fc.record({
    field: fc.constant('rows'),
    value: fc.constantFrom(
      Array.from({ length: 10_001 }, () => [0.5]),
      [Array(10_001).fill(1)],
      [[1, 2, , 4]],
      [{ a: 1 }],
      [[]],
    ),
  }),
  fc.record({
    field: fc.constant('value'),
    value: fc.constantFrom(Infinity, -Infinity, Number.NaN, '1', null, undefined, true, [1]),
    row: fc.nat(),
    at: fc.nat(),
  }),
  fc.record({ field: fc.constant('unknown key'), value: hostileValue }),
);

function corrupt(call: Record<string, unknown>, c: { field: string; value: unknown; row?: number; at?: number } | null): Record<string, unknown> {
  const out: Record<string, unknown> = { ...call, rows: (call.rows as number[][]).map((r) => [...r]) };
  for (const key of ['version', 'routing_key']) if (out[key] === undefined) delete out[key];
  if (!c) return out;
  if (c.field === 'unknown key') out.rowz = c.value;
  else if (c.field === 'value') {
    const rows = out.rows as unknown[][];
    const row = rows[(c.row ?? 0) % rows.length];
    row[(c.at ?? 0) % row.length] = c.value;
  } else out[c.field] = c.value;
  return out;
}

it('only predict and batch_predict skip zod (a tool that adds acceptAsIs adds its own property test here)', () => {
  expect(skipping.map((t) => t.name).sort()).toEqual(['batch_predict', 'predict']);
});

describe('batch_predict acceptAsIs', () => {
  const tool = batchPredict;
  const schema = z.object(tool.input).strict();

  test.prop([validCall, corruption], { numRuns: 600 })('accepts only arguments the input schema accepts, unchanged', (call, c) => {
    const args = corrupt(call, c);
    const parsed = schema.safeParse(args);
    if (tool.acceptAsIs?.(args)) {
      expect(parsed.success, JSON.stringify(args).slice(0, 300)).toBe(true);
      expect(parsed.data).toEqual(args);
    }
    // And it takes every valid call of its form (else it would skip nothing).
    if (c === null) expect(tool.acceptAsIs?.(args)).toBe(true);
  });

  test.prop([fc.dictionary(fc.string({ maxLength: 12 }), hostileValue, { maxKeys: 5 })], { numRuns: 200 })('refuses whatever else zod refuses', (args) => {
    if (tool.acceptAsIs?.(args)) expect(schema.safeParse(args).success).toBe(true);
  });

  it('accepts a typical call of the form it is for (else it would never skip anything)', () => {
    expect(tool.acceptAsIs?.(tool.example)).toBe(true);
  });

  it('accepts no in-process row that zod refuses (an own iterator hiding a bad value is read by index)', () => {
    for (const row of exoticRows()) {
      const args = { name: 'nba_points', rows: [[1, 2], row] };
      if (tool.acceptAsIs?.(args)) expect(schema.safeParse(args).success).toBe(true);
    }
  });
});

/** A valid predict call: named features (names up to the schema's 256 characters) or an array. */
// fast-check's strings include "__proto__", which zod drops from a record (and acceptAsIs leaves to zod): not a valid call's name.
const featureName = fc
  .oneof(fc.constantFrom('is_home', 'days_rest', 'x'.repeat(256), 'constructor', 'toString', '0', 'é'), fc.string({ maxLength: 12 }))
  .filter((k) => k !== '__proto__');
const validPredict = fc.record({
  name: fc.constantFrom('nba_points', 'a', 'x'.repeat(128)),
  features: fc.oneof(
    fc.dictionary(featureName, fc.double({ noNaN: true, noDefaultInfinity: true }), { minKeys: 1, maxKeys: 12 }),
    fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 12 }),
  ),
  version: fc.option(fc.constantFrom('v1', '1', 'v1.5'), { nil: undefined }),
  routing_key: fc.option(fc.constantFrom('user-1', 'k'.repeat(256)), { nil: undefined }),
});

const nullProtoRow = Object.assign(Object.create(null) as Record<string, number>, { a: 1, b: 2 });

/** Values only an in-process client can send (JSON makes none of them), each of which zod reads otherwise than a plain loop would. */
function exoticRows(): unknown[] {
  // Strings by index, numbers by its own iterator.
  const iterates = ['x', 'y'];
  Object.defineProperty(iterates, Symbol.iterator, {
    value: function* () {
      yield* [1, 2];
    },
  });
  class Row extends Array<number> {}
  const hidden = { b: 2, zzz: 5 };
  Object.defineProperty(hidden, 'a', { value: 1, enumerable: false });
  const ctor = { a: 1 };
  Object.defineProperty(ctor, 'constructor', { value: Map, enumerable: false });
  return [
    iterates,
    Row.from([1, 2]),
    hidden,
    ctor,
    new Proxy({ a: 1 }, {}),
    new Proxy([1, 2], {}),
    new Proxy(new Map(), { getPrototypeOf: () => Object.prototype }),
  ];
}
/** One way to break a valid predict call, at the schema's edges (or none; or a form zod takes and acceptAsIs leaves to it). */
const predictCorruption = fc.oneof(
  fc.constant(null),
  fc.record({
    field: fc.constantFrom('name', 'version', 'routing_key'),
    value: fc.constantFrom('', 'x'.repeat(129), 'k'.repeat(257), '-lead', 'has space', 1, null),
  }),
  fc.record({
    field: fc.constant('features'),
    value: fc.constantFrom(
      Array(10_001).fill(1),
      [1, , 3],
      [1, Number.NaN],
      { a: Infinity },
      { a: '1' },
      { ['k'.repeat(257)]: 1 },
      Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`f${i}`, i])),
      JSON.parse('{"__proto__": 1, "a": 2}') as unknown,
      { a: 1, [Symbol('s')]: 2 },
      nullProtoRow,
      new Date(0),
      new Map([['a', 1]]),
      '{"a": 1}',
      '[1, 2]',
      null,
      {},
    ),
  }),
  fc.record({ field: fc.constant('unknown key'), value: hostileValue }),
);

describe('predict acceptAsIs', () => {
  const tool = predict;
  const schema = z.object(tool.input).strict();

  test.prop([validPredict, predictCorruption], { numRuns: 600 })('accepts only arguments the input schema accepts, unchanged', (call, c) => {
    const args: Record<string, unknown> = { ...call };
    for (const key of ['version', 'routing_key']) if (args[key] === undefined) delete args[key];
    if (c?.field === 'unknown key') args.featurez = c.value;
    else if (c) args[c.field] = c.value;
    const parsed = schema.safeParse(args);
    if (tool.acceptAsIs?.(args)) {
      expect(parsed.success, String(JSON.stringify(args)).slice(0, 300)).toBe(true);
      expect(parsed.data).toEqual(args);
    }
    if (c === null) expect(tool.acceptAsIs?.(args)).toBe(true);
  });

  test.prop([fc.dictionary(fc.string({ maxLength: 12 }), hostileValue, { maxKeys: 5 })], { numRuns: 200 })('refuses whatever else zod refuses', (args) => {
    if (tool.acceptAsIs?.(args)) expect(schema.safeParse(args).success).toBe(true);
  });

  it('accepts no in-process value that zod refuses or reads otherwise (iterators, subclasses, non-enumerable keys, getters, proxies)', () => {
    for (const features of exoticRows()) {
      const args = { name: 'nba_points', features };
      // In the dispatcher's order: acceptAsIs reads first.
      const accepted = tool.acceptAsIs?.(args);
      const parsed = schema.safeParse(args);
      if (accepted) {
        expect(parsed.success).toBe(true);
        expect(parsed.data).toEqual(args);
      }
    }
    expect(tool.acceptAsIs?.({ name: 'nba_points', features: new Proxy({ a: 1 }, {}) })).toBe(false);
  });

  it('leaves to zod the rows zod changes or refuses: an own __proto__ key (dropped), a symbol key, JSON text', () => {
    for (const features of [JSON.parse('{"__proto__": 1, "a": 2}') as unknown, { a: 1, [Symbol('s')]: 2 }, '{"a": 1}']) {
      expect(tool.acceptAsIs?.({ name: 'nba_points', features })).toBe(false);
    }
    expect(tool.acceptAsIs?.({ name: 'nba_points', features: nullProtoRow })).toBe(true);
    expect(tool.acceptAsIs?.(tool.example)).toBe(true);
  });
});

describe('batch_predict with rows that skip zod, through a real client', () => {
  let app: AppContext;
  let client: Client;
  beforeAll(async () => {
    app = (await testApp()).app;
    client = await connect(app);
    await registerDemoVersions(client);
  });
  afterAll(async () => {
    await client.close();
    await app.close();
  });

  it('scores array rows, and a row of the wrong width is still an error naming the row', async () => {
    const rows = [
      [1, 2, 24.1, 6.2, 5, 27.4, 5.8, 6.1, 34.5, 112.3],
      [0, 1, 20, 5, 4, 21, 4, 4, 30, 110],
    ];
    const b = await ok<{ rows: number; predictions: number[] }>(client, 'batch_predict', { name: 'nba_points', rows, version: 'v1' });
    expect(b.rows).toBe(2);
    expect(b.predictions).toHaveLength(2);
    const single = await ok<{ prediction: number }>(client, 'predict', { name: 'nba_points', features: rows[1], version: 'v1' });
    expect(b.predictions[1]).toBeCloseTo(single.prediction, 9);

    const short = await call(client, 'batch_predict', { name: 'nba_points', rows: [rows[0], [1, 2, 3]], version: 'v1' });
    expect(errorCode(short)).toBe('invalid_argument');
    expect(text(short)).toMatch(/row 1: expected 10 feature values/);
  });

  it('predict: named rows that skip zod score as before; an own __proto__ key (which zod would drop) is refused naming it; so is a bad value', async () => {
    const named = {
      is_home: 0,
      days_rest: 1,
      season_avg_points: 20,
      season_avg_rebounds: 5,
      season_avg_assists: 4,
      last5_avg_points: 21,
      last5_avg_rebounds: 4,
      last5_avg_assists: 4,
      minutes_avg: 30,
      opponent_def_rating: 110,
    };
    const byName = await ok<{ prediction: number }>(client, 'predict', { name: 'nba_points', features: named, version: 'v1' });
    const byPosition = await ok<{ prediction: number }>(client, 'predict', { name: 'nba_points', features: Object.values(named), version: 'v1' });
    expect(byName.prediction).toBe(byPosition.prediction);
    const withProto = JSON.parse(`{"__proto__": 5, ${JSON.stringify(named).slice(1)}`) as Record<string, number>;
    expect(Object.hasOwn(withProto, '__proto__')).toBe(true);
    const proto = await call(client, 'predict', { name: 'nba_points', features: withProto, version: 'v1' });
    expect(errorCode(proto)).toBe('invalid_argument');
    expect(text(proto)).toMatch(/^invalid_argument: "__proto__" is not accepted as a key \(in features\)/);
    const bad = await call(client, 'predict', { name: 'nba_points', features: { ...named, minutes_avg: '30' }, version: 'v1' });
    expect(errorCode(bad)).toBe('invalid_argument');
    expect(text(bad)).toMatch(/"minutes_avg": expected number, received string \(a row is an object of feature name/);
  });

  it('predict: a getter that answers a number to the check and a string to the handler is still refused naming the feature (toMatrix checks every value it reads)', async () => {
    let reads = 0;
    const features = [0, 1, 20, 5, 4, 21, 4, 4, 30];
    const row = Object.fromEntries(NBA_POINTS_FEATURES.slice(1).map((f, i) => [f, features[i]]));
    Object.defineProperty(row, 'is_home', { enumerable: true, get: () => (reads++ === 0 ? 1 : 'x') });
    const r = await call(client, 'predict', { name: 'nba_points', features: row, version: 'v1' });
    expect(errorCode(r)).toBe('invalid_argument');
    expect(text(r)).toMatch(/feature "is_home" is string, not a finite number/);
  });

  it('a failed predict of an in-process Proxy row is logged, and later predictions still reach the log', async () => {
    const bad = await call(client, 'predict', { name: 'nba_points', features: new Proxy({ is_home: 1 }, {}), version: 'v1' });
    expect(errorCode(bad)).toBe('invalid_argument');
    await ok(client, 'predict', { name: 'nba_points', features: [1, 2, 24.1, 6.2, 5, 27.4, 5.8, 6.1, 34.5, 112.3], version: 'v1' });
    await app.predictionLog.flush();
    const status = app.predictionLog.status();
    expect(status.lastFlushFailed, String(status.lastError)).toBe(false);
    expect(status.failedFlushes).toBe(0);
    expect(status.pending).toBe(0);
  });

  it('a non-finite value or an unknown argument goes through zod and is refused there', async () => {
    const unknown = await call(client, 'batch_predict', { name: 'nba_points', rows: [[1]], rowz: 1 });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toMatch(/rowz/);
    // zod's union alone said "Invalid input": the message names the row's bad entry and what a row is.
    const named = await call(client, 'batch_predict', { name: 'nba_points', rows: [[1], { is_home: 'yes' }] });
    expect(errorCode(named)).toBe('invalid_argument');
    expect(text(named)).toMatch(
      /rows\.1: "is_home": expected number, received string \(a row is an object of feature name → number, or an array of numbers in signature order\)/,
    );
    const neither = await call(client, 'batch_predict', { name: 'nba_points', rows: [[1, null]] });
    expect(text(neither)).toMatch(/rows\.0: position 1: expected number, received null /);
  });
});
