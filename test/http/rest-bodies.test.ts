import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHttpServer } from '../../src/http/server.js';
import { NBA_POINTS_FEATURES } from '../helpers.js';
import { scoringServer } from './scoring-server.js';

/**
 * Every REST body form, and every way a body can be wrong, in process: each request is sent with
 * a Content-Length (the plain node:http path answers it) and chunked (only Express takes that),
 * and both answers must be the same, whole: status, code and the message word for word.
 */

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** A request with its body sized, chunked, or none at all (no Content-Length, no Transfer-Encoding). */
function send(url: string, path: string, body: string | undefined, framing: 'sized' | 'chunked', method = 'POST'): Promise<Reply> {
  const u = new URL(url);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (body !== undefined)
    Object.assign(headers, framing === 'chunked' ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(Buffer.byteLength(body)) });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const row = [1, 1, 4.7, 4.0, 2.6, 2.6, 5.2, 1.4, 8.0, 111.8];
/** nba_points v1's prediction for `row`; v2's. */
const V1 = -0.5237617492675781;
const V2 = 4.573450088500977;
const named = Object.fromEntries(NBA_POINTS_FEATURES.map((c, i) => [c, row[i]]));
const twoByColumn = Object.fromEntries(NBA_POINTS_FEATURES.map((c, i) => [c, [row[i], row[i]]]));
const split = { columns: NBA_POINTS_FEATURES, data: [row] };
/** Sent as 1e400, a number JSON.parse reads as Infinity: a value no model takes. */
const HUGE = 1.2345e300;
const hugeRow = [1, HUGE, ...row.slice(2)];

const INV_TAKES = "one of dataframe_split, dataframe_records, instances or inputs: MLflow's scoring formats";
const PREDICT_TAKES = 'named features {"feature": number, …}, {"features": row, "version"?} or {"rows": [row, …], "version"?}';
const ROW_FORMS = 'a row is an object of feature name → number, or an array of numbers in signature order';
const refused = (message: string) => ({ status: 400, body: { error_code: 'BAD_REQUEST', message } });
const badInvocation = (problem: string) => refused(`invalid request body: ${problem} (${INV_TAKES}).`);
const badPredict = (problem: string) => refused(`invalid request body: ${problem} (${PREDICT_TAKES}).`);
const predictions = (...p: number[]) => ({ status: 200, body: { predictions: p } });

describe('REST bodies over both paths', () => {
  let server: RunningHttpServer;

  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ server, close } = await scoringServer());
  });
  afterAll(() => close());

  /** The answer, the same sized and chunked but for the ids and latency of each prediction ('': an empty body). */
  async function answer(path: string, body: unknown): Promise<Reply> {
    const text = body === '' ? '' : JSON.stringify(body).replaceAll(String(HUGE), '1e400');
    const sized = await send(server.url, path, text, 'sized');
    const chunked = await send(server.url, path, text, 'chunked');
    const unique = ({ status, body: { prediction_id: _p, batch_id: _b, latency_ms: _l, ...rest } }: Reply) => ({ status, body: rest });
    expect(unique(chunked)).toEqual(unique(sized));
    return sized;
  }

  it.each<[string, unknown, Reply]>([
    ['an empty body', '', refused(`invalid request body: the body is empty; send ${INV_TAKES} as JSON (Content-Type: application/json).`)],
    ['an array', [row], refused(`invalid request body: expected a JSON object (${INV_TAKES}); got an array.`)],
    ['{}', {}, refused(`invalid request body: expected one of dataframe_split, dataframe_records, instances or inputs (MLflow's scoring formats); it is {}.`)],
    [
      'five keys of no format',
      { a: 1, b: 1, c: 1, d: 1, e: 1 },
      refused(
        `invalid request body: expected one of dataframe_split, dataframe_records, instances or inputs (MLflow's scoring formats); it has "a", "b", "c", "d", "e".`,
      ),
    ],
    [
      'six keys of no format, one long',
      { a: 1, b: 1, c: 1, d: 1, ['x'.repeat(60)]: 1, f: 1 },
      refused(
        `invalid request body: expected one of dataframe_split, dataframe_records, instances or inputs (MLflow's scoring formats); it has "a", "b", "c", "d", "${'x'.repeat(50)}", ….`,
      ),
    ],
    [
      'two formats',
      { inputs: [row], dataframe_records: [named] },
      refused('invalid request body: it has dataframe_records and inputs; send exactly one of dataframe_split, dataframe_records, instances or inputs.'),
    ],
    [
      'three formats',
      { inputs: [row], instances: [row], dataframe_split: split },
      refused(
        'invalid request body: it has dataframe_split and instances and inputs; send exactly one of dataframe_split, dataframe_records, instances or inputs.',
      ),
    ],
    ['dataframe_split', { dataframe_split: split }, predictions(V1)],
    ['dataframe_split with its index and params', { dataframe_split: { ...split, index: [7] }, params: { a: 1 } }, predictions(V1)],
    ['dataframe_split with params only', { dataframe_split: { columns: NBA_POINTS_FEATURES, data: [row, row] }, params: null }, predictions(V1, V1)],
    [
      'dataframe_split with a key it does not take',
      { dataframe_split: { ...split, dtypes: [] } },
      badInvocation('dataframe_split: Unrecognized key: "dtypes"'),
    ],
    ['dataframe_split beside a key it does not take', { dataframe_split: split, extra: 1 }, badInvocation('Unrecognized key: "extra"')],
    [
      'dataframe_split with a column not a string',
      { dataframe_split: { columns: [1], data: [[1]] } },
      badInvocation('dataframe_split.columns.0: expected string, received number'),
    ],
    [
      'dataframe_split with columns not a list',
      { dataframe_split: { columns: 'is_home', data: [[1]] } },
      badInvocation('dataframe_split.columns: expected array, received string'),
    ],
    [
      'dataframe_split with one column not a string',
      { dataframe_split: { columns: ['is_home', 1], data: [[1, 2]] } },
      badInvocation('dataframe_split.columns.1: expected string, received number'),
    ],
    [
      'dataframe_split with one row not a list',
      { dataframe_split: { columns: NBA_POINTS_FEATURES, data: [row, 5] } },
      badInvocation('dataframe_split.data.1: expected array, received number'),
    ],
    ['dataframe_records of lists, not named records', { dataframe_records: [row] }, badInvocation('dataframe_records.0: expected record, received array')],
    [
      'dataframe_split with a row not a list',
      { dataframe_split: { columns: NBA_POINTS_FEATURES, data: [5] } },
      badInvocation('dataframe_split.data.0: expected array, received number'),
    ],
    [
      'dataframe_split with data not a list',
      { dataframe_split: { columns: NBA_POINTS_FEATURES, data: { 0: row } } },
      badInvocation('dataframe_split.data: expected array, received object'),
    ],
    ['dataframe_split without data', { dataframe_split: { columns: NBA_POINTS_FEATURES } }, badInvocation('dataframe_split.data: required (expected array)')],
    ['dataframe_split null', { dataframe_split: null }, badInvocation('dataframe_split: expected object, received null')],
    ['dataframe_split a string', { dataframe_split: 'x' }, badInvocation('dataframe_split: expected object, received string')],
    [
      'dataframe_split with a short row',
      { dataframe_split: { columns: NBA_POINTS_FEATURES, data: [row, [1, 2]] } },
      refused('dataframe_split: a row has 2 values for 10 columns.'),
    ],
    [
      'dataframe_split with a long row',
      { dataframe_split: { columns: NBA_POINTS_FEATURES, data: [[...row, 1]] } },
      refused('dataframe_split: a row has 11 values for 10 columns.'),
    ],
    // Well-formed dataframe_split and tensor rows skip zod: the model's own check names the value.
    [
      'dataframe_split with a value too large',
      { dataframe_split: { columns: NBA_POINTS_FEATURES, data: [row, hugeRow] } },
      refused('row 1: feature "days_rest" is Infinity, not a finite number.'),
    ],
    [
      'dataframe_split with its index and a value too large',
      { dataframe_split: { ...split, data: [hugeRow], index: [0] } },
      refused('row 0: feature "days_rest" is Infinity, not a finite number.'),
    ],
    [
      'dataframe_split with params and a value too large',
      { dataframe_split: { ...split, data: [hugeRow] }, params: {} },
      refused('row 0: feature "days_rest" is Infinity, not a finite number.'),
    ],
    ['instances with a value too large', { instances: [row, hugeRow] }, refused('row 1: feature "days_rest" is Infinity, not a finite number.')],
    ['inputs with params and a value too large', { inputs: [hugeRow], params: {} }, refused('row 0: feature "days_rest" is Infinity, not a finite number.')],
    [
      'a named row with a value too large',
      { instances: [{ ...named, days_rest: HUGE }] },
      badInvocation(`instances.0: "days_rest": expected number, received Infinity (${ROW_FORMS})`),
    ],
    [
      'dataframe_records with a value too large',
      { dataframe_records: [{ ...named, days_rest: HUGE }] },
      badInvocation('dataframe_records.0.days_rest: expected number, received Infinity'),
    ],
    ['dataframe_records', { dataframe_records: [named, named] }, predictions(V1, V1)],
    [
      'dataframe_records with a string value',
      { dataframe_records: [{ ...named, is_home: 'x' }] },
      badInvocation('dataframe_records.0.is_home: expected number, received string'),
    ],
    ['dataframe_records not a list', { dataframe_records: named }, badInvocation('dataframe_records: expected array, received object')],
    ['dataframe_records with params', { dataframe_records: [named], params: {} }, predictions(V1)],
    ['instances as rows', { instances: [row, row] }, predictions(V1, V1)],
    ['instances as named columns', { instances: twoByColumn }, predictions(V1, V1)],
    ['inputs as rows', { inputs: [row] }, predictions(V1)],
    ['inputs as named columns', { inputs: twoByColumn }, predictions(V1, V1)],
    ['inputs as named rows', { inputs: [named, row] }, predictions(V1, V1)],
    ['instances with params', { instances: [row], params: { x: 1 } }, predictions(V1)],
    ['inputs with params', { inputs: [row], params: 'p' }, predictions(V1)],
    ['named columns of unequal length', { inputs: { ...twoByColumn, is_home: [1] } }, refused('inputs: every named column needs the same number of values.')],
    [
      'a first named column shorter',
      { inputs: Object.fromEntries(NBA_POINTS_FEATURES.map((c, i) => [c, i === 0 ? [row[i]] : [row[i], row[i]]])) },
      refused('inputs: every named column needs the same number of values.'),
    ],
    ['no named columns', { inputs: {} }, refused('no rows to score.')],
    ['no rows', { instances: [] }, refused('no rows to score.')],
    ['a string in a row', { inputs: [[...row.slice(0, 9), 'x']] }, badInvocation(`inputs.0: position 9: expected number, received string (${ROW_FORMS})`)],
    [
      'a string in a named row',
      { instances: [{ ...named, days_rest: 'x' }] },
      badInvocation(`instances.0: "days_rest": expected number, received string (${ROW_FORMS})`),
    ],
    ['a row that is a number', { instances: [row, 3] }, badInvocation(`instances.1: number is not a row (${ROW_FORMS})`)],
    ['inputs a string', { inputs: 'x' }, badInvocation('inputs: expected record, received string')],
    ['instances a number', { instances: 2 }, badInvocation('instances: expected record, received number')],
    ['a string in a named column', { inputs: { is_home: ['x'] } }, badInvocation('inputs.is_home.0: expected number, received string')],
    ['a named column not a list', { instances: { is_home: 1 } }, badInvocation('instances.is_home: expected array, received number')],
    ['instances beside a key they do not take', { instances: [row], extra: 1 }, badInvocation('Unrecognized key: "extra"')],
    ['named rows beside a key they do not take', { inputs: [named], extra: 1 }, badInvocation('Unrecognized key: "extra"')],
    ['named columns beside a key they do not take', { inputs: twoByColumn, extra: 1 }, badInvocation('Unrecognized key: "extra"')],
  ])('/invocations: %s', async (_what, body, expected) => {
    expect(await answer('/invocations/nba_points', body)).toEqual(expected);
  });

  it('/invocations: one row over the limit is refused naming the limit, the limit itself is scored', async () => {
    expect(await answer('/invocations/nba_points', { dataframe_records: Array.from({ length: 10_001 }, () => named) })).toEqual(
      refused('at most 10000 rows per request; got 10001.'),
    );
    const atLimit = await answer('/invocations/nba_points', { instances: Array.from({ length: 10_000 }, () => row) });
    expect(atLimit.status).toBe(200);
    expect(atLimit.body.predictions).toHaveLength(10_000);
  });

  const one = (version: string, prediction: number) => ({
    status: 200,
    body: expect.objectContaining({ name: 'nba_points', version, prediction, probabilities: null }) as unknown,
  });
  const batch = (version: string, ...p: number[]) => ({
    status: 200,
    body: expect.objectContaining({
      name: 'nba_points',
      rows: p.length,
      served: [expect.objectContaining({ version, rows: p.length })],
      predictions: p,
    }) as unknown,
  });

  it.each<[string, string, unknown, unknown]>([
    ['named features', '', named, one('v1', V1)],
    ['a row as features', '', { features: row }, one('v1', V1)],
    ['named features under features, and a version', '', { features: named, version: 'v2' }, one('v2', V2)],
    ['the query version over the body one', '?version=v1', { features: row, version: 'v2' }, one('v1', V1)],
    ['rows, named and positional', '', { rows: [row, named] }, batch('v1', V1, V1)],
    ['rows and a version', '', { rows: [row], version: 'v2' }, batch('v2', V2)],
    ['an empty body', '', '', refused(`invalid request body: the body is empty; send ${PREDICT_TAKES} as JSON (Content-Type: application/json).`)],
    ['an array', '', [row], refused(`invalid request body: expected a JSON object (${PREDICT_TAKES}); got an array.`)],
    ['no rows', '', { rows: [] }, badPredict('rows: Too small: expected array to have >=1 items')],
    [
      'rows not a list of rows',
      '',
      { rows: row },
      badPredict(`${[0, 1, 2, 3, 4].map((i) => `rows.${i}: number is not a row (${ROW_FORMS})`).join('; ')}; and 5 more`),
    ],
    ['a row that is a number', '', { rows: [row, 5] }, badPredict(`rows.1: number is not a row (${ROW_FORMS})`)],
    ['rows beside a key they do not take', '', { rows: [row], extra: 1 }, badPredict('Unrecognized key: "extra"')],
    ['features beside a key they do not take', '', { features: row, rows_n: 1 }, badPredict('Unrecognized key: "rows_n"')],
    ['a version not a string', '', { features: row, version: 5 }, badPredict('version: expected string, received number')],
    ['features a string', '', { features: 'row' }, badPredict(`features: string is not a row (${ROW_FORMS})`)],
    ['a named feature not a number', '', { ...named, is_home: 'yes' }, badPredict('is_home: expected number, received string')],
  ])('/api/v1/predict: %s', async (_what, query, body, expected) => {
    expect(await answer(`/api/v1/predict/nba_points${query}`, body)).toEqual(expected);
  });

  it('/api/v1/predict: a batch over the limit is refused naming the limit', async () => {
    expect(await answer('/api/v1/predict/nba_points', { rows: Array.from({ length: 10_001 }, () => row) })).toEqual(
      badPredict('rows: Too big: expected array to have <=10000 items'),
    );
  });

  it('/api/v1/outcomes: an empty body, a wrong field in either form and a body of no form are refused naming what it takes', async () => {
    const takes = '[{"prediction_id", "actual"}, …] or {"outcomes"?, "csv_path"?, "reason"?, "dry_run"?}';
    expect(await answer('/api/v1/outcomes/nba_points', '')).toEqual(
      refused(`invalid request body: the body is empty; send ${takes} as JSON (Content-Type: application/json).`),
    );
    expect(await answer('/api/v1/outcomes/nba_points', { reason: 5 })).toEqual(
      refused(`invalid request body: reason: expected string, received number (${takes}).`),
    );
    expect(await answer('/api/v1/outcomes/nba_points', [{ prediction_id: 'p1' }])).toEqual(
      refused(`invalid request body: 0.actual: required (Invalid input) (${takes}).`),
    );
    const dry = await answer('/api/v1/outcomes/nba_points', { outcomes: [{ prediction_id: 'nobody', actual: 1 }], dry_run: true });
    expect(dry).toMatchObject({ status: 200, body: { dry_run: true } });
  });

  it('/api/v1/models/{name}/performance: a query parameter that is wrong or unknown is refused naming it', async () => {
    const get = (q: string) => send(server.url, `/api/v1/models/nba_points/performance?${q}`, undefined, 'sized', 'GET');
    expect(await get('last_n=x')).toEqual(refused('invalid query: last_n: last_n must be a number.'));
    expect(await get('foo=1')).toEqual(refused('invalid query: Unrecognized key: "foo".'));
    expect(await get('last_n=10')).toMatchObject({ status: 200, body: { name: 'nba_points' } });
  });
});
