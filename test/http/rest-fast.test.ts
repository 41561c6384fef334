import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHttpServer } from '../../src/http/server.js';
import { NBA_POINTS_FEATURES } from '../helpers.js';
import { scoringServer } from './scoring-server.js';

/**
 * The scoring routes answered on plain node:http (src/http/rest-fast.ts) answer as the Express
 * routes do: each request is sent to a path the plain path takes and, the same in all else, to
 * one only Express takes (a trailing slash, which Express's routing accepts), and the two answers
 * must be the same: status, Content-Type, WWW-Authenticate and body.
 */

const TOKEN = 'a-test-token-of-enough-length';
const row = [1, 1, 4.7, 4.0, 2.6, 2.6, 5.2, 1.4, 8.0, 111.8];
const columns = NBA_POINTS_FEATURES;

interface Reply {
  status: number;
  type: string | undefined;
  auth: string | undefined;
  body: string;
}

function send(url: string, path: string, headers: Record<string, string>, body: string | Buffer): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path, method: 'POST', headers: { 'content-length': String(Buffer.byteLength(body)), ...headers }, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], auth: res.headers['www-authenticate'], body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const JSON_TYPE = { 'content-type': 'application/json' };

describe.each([
  ['without a token', {}],
  ['with a token', { MLOPS_MCP_TOKEN: TOKEN }],
])('REST scoring on node:http answers as Express does, %s', (_label, env: Record<string, string>) => {
  let server: RunningHttpServer;
  const auth: Record<string, string> = env.MLOPS_MCP_TOKEN ? { authorization: `Bearer ${TOKEN}` } : {};

  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ server, close } = await scoringServer(env));
  });
  afterAll(() => close());

  /** The same request on the plain path and on Express's (a trailing slash on the path, before any query). */
  async function both(path: string, headers: Record<string, string>, body: string | Buffer): Promise<[Reply, Reply]> {
    const [route, query] = path.split('?');
    const viaExpress = `${route}/${query === undefined ? '' : `?${query}`}`;
    const fast = await send(server.url, path, headers, body);
    const slow = await send(server.url, viaExpress, headers, body);
    return [fast, slow];
  }

  const split = JSON.stringify({ dataframe_split: { columns, data: [row] } });
  it.each([
    ['a single-row inputs body', '/invocations/nba_points', JSON.stringify({ inputs: [row] })],
    ['a dataframe_split body', '/invocations/nba_points', split],
    ['the /api/v1 invocations route', '/api/v1/models/nba_points/invocations', split],
    ['named features on /api/v1/predict', '/api/v1/predict/nba_points', JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, row[i]])))],
    ['malformed JSON', '/invocations/nba_points', '{"inputs": [[1, 2'],
    ['a JSON string, not an object', '/invocations/nba_points', '"inputs"'],
    ['only whitespace', '/invocations/nba_points', '   \n'],
    ['a byte-order mark before the object', '/invocations/nba_points', `\ufeff${split}`],
    ['an empty object', '/invocations/nba_points', '{}'],
    ['an array', '/invocations/nba_points', '[1, 2]'],
    ['a "__proto__" key', '/invocations/nba_points', '{"dataframe_records": [{"__proto__": 1}]}'],
    ['an escaped "__proto__" key', '/invocations/nba_points', '{"dataframe_records": [{"\\u005f_proto__": 1}]}'],
    ['a value of the wrong type in inputs', '/invocations/nba_points', JSON.stringify({ inputs: [[...row.slice(0, 9), 'x']] })],
    ['a row of the wrong width', '/invocations/nba_points', JSON.stringify({ inputs: [[1, 2]] })],
    ['an unknown column', '/invocations/nba_points', JSON.stringify({ dataframe_split: { columns: ['nope'], data: [[1]] } })],
    ['two formats', '/invocations/nba_points', JSON.stringify({ inputs: [row], instances: [row] })],
    ['an unknown model', '/invocations/nobody', split],
    ['an unknown version', '/invocations/nba_points?version=v9', split],
    ['a version asked for', '/invocations/nba_points?version=v1', split],
    ['a model with nothing in production', '/invocations/nba_win_predictor', JSON.stringify({ inputs: [row.slice(2)] })],
    ['too many rows', '/invocations/nba_points', JSON.stringify({ inputs: Array.from({ length: 10_001 }, () => row) })],
    ['a bad body on /api/v1/predict', '/api/v1/predict/nba_points', JSON.stringify({ features: { is_home: 'yes' } })],
  ])('%s', async (_what, path, body) => {
    const [fast, slow] = await both(path, { ...JSON_TYPE, ...auth }, body);
    if (fast.status === 200) {
      expect(Object.keys(JSON.parse(fast.body) as object)).toEqual(Object.keys(JSON.parse(slow.body) as object));
      expect({ ...fast, body: '' }).toEqual({ ...slow, body: '' });
      if (!path.includes('/predict/')) expect(fast.body).toBe(slow.body);
    } else {
      expect(fast).toEqual(slow);
    }
    expect(fast.type).toBe('application/json; charset=utf-8');
  });

  it.each([
    ['a foreign Host', { ...JSON_TYPE, host: 'evil.example.com' }, 403],
    ['a foreign Host with a port', { ...JSON_TYPE, host: 'evil.example.com:80' }, 403],
    ['an unparsable Host', { ...JSON_TYPE, host: 'a b' }, 403],
    ['a foreign Origin', { ...JSON_TYPE, origin: 'http://evil.example.com' }, 403],
    ['an allowed Origin', { ...JSON_TYPE, origin: 'http://localhost:1' }, 200],
    ['a charset that is not UTF-8', { 'content-type': 'application/json; charset=latin1' }, 415],
    ['Content-Type text/plain', { 'content-type': 'text/plain' }, 400],
    ['Content-Type with another parameter', { 'content-type': 'application/json; foo=bar' }, 200],
    ['Content-Type in capitals', { 'content-type': 'Application/JSON; charset=UTF-8' }, 200],
  ])('%s', async (_what, headers: Record<string, string>, status) => {
    const [fast, slow] = await both('/invocations/nba_points', { ...headers, ...auth }, split);
    expect(fast).toEqual(slow);
    expect(fast.status).toBe(env.MLOPS_MCP_TOKEN && status === 200 ? 200 : status === 415 ? 500 : status);
  });

  it('a body over the limit is refused with 413', async () => {
    const [fast, slow] = await both('/invocations/nba_points', { ...JSON_TYPE, ...auth }, Buffer.alloc(4 * 1024 * 1024 + 1, ' '));
    expect(fast).toEqual(slow);
    expect(fast.status).toBe(413);
    expect(JSON.parse(fast.body)).toMatchObject({ error_code: 'REQUEST_LIMIT_EXCEEDED' });
  });

  it('a body of exactly the limit is read', async () => {
    const body = Buffer.alloc(4 * 1024 * 1024, ' ');
    Buffer.from(split).copy(body);
    const [fast, slow] = await both('/invocations/nba_points', { ...JSON_TYPE, ...auth }, body);
    expect(fast).toEqual(slow);
    expect(fast.status).toBe(200);
  });

  it('a token is asked for when one is set', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-of-some-length', 'Basic abc', `bearer ${TOKEN}`]) {
      const headers: Record<string, string> = { ...JSON_TYPE, ...(authorization ? { authorization } : {}) };
      const [fast, slow] = await both('/invocations/nba_points', headers, split);
      expect(fast).toEqual(slow);
      const accepted = !env.MLOPS_MCP_TOKEN || authorization === `bearer ${TOKEN}`;
      expect(fast.status).toBe(accepted ? 200 : 401);
      if (!accepted) expect(fast.auth).toBe('Bearer realm="mlops-mcp"');
    }
  });
});
