import { fc } from '@fast-check/vitest';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config.js';
import { tempDir } from '../helpers.js';
import { hostileKey, hostileString, hostileValue } from '../hostile-values.js';
import { spawnHttp, type SpawnedHttp } from './spawn.js';

// Issue 8, item 4 ("HTTP abuse"): caps, expiry, body and batch limits, id isolation between
// sessions, slow clients, and Host/Origin checks before the body — all against the built server.

const PROTOCOL = '2025-06-18';
const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'limits', version: '1' } },
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with exactly the headers given (the SDK client would always set them right). */
function request(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'POST', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

interface RpcMessage {
  jsonrpc: '2.0';
  id?: number | string | null;
  result?: { structuredContent?: Record<string, unknown>; isError?: boolean; tools?: unknown[] };
  error?: { code: number; message: string };
}

/** The JSON-RPC messages of a reply: an SSE stream (one per data: line) or a JSON body. */
function messages(body: string): RpcMessage[] {
  const trimmed = body.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return [JSON.parse(trimmed)].flat() as RpcMessage[];
  return body
    .split('\n')
    .filter((l) => l.startsWith('data:') && l.slice(5).trim() !== '')
    .map((l) => JSON.parse(l.slice(5)) as RpcMessage);
}

const sessionHeaders = (sid: string) => ({ ...mcpHeaders, 'mcp-session-id': sid, 'mcp-protocol-version': PROTOCOL });

/** initialize + notifications/initialized over raw HTTP; the session id. */
async function openSession(url: string): Promise<string> {
  const r = await request(`${url}/mcp`, { headers: mcpHeaders, body: initialize });
  expect(r.status, r.body).toBe(200);
  const sid = r.headers['mcp-session-id'];
  expect(typeof sid).toBe('string');
  const done = await request(`${url}/mcp`, {
    headers: sessionHeaders(sid as string),
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  expect(done.status).toBe(202);
  return sid as string;
}

/** Opens a session's standalone SSE stream (GET /mcp), resolving once it is answered: the request (destroy it to close the stream) and the status. */
function openStream(url: string, headers: Record<string, string>): Promise<{ stream: http.ClientRequest; status: number }> {
  return new Promise((resolve, reject) => {
    const stream = http.request(`${url}/mcp`, { method: 'GET', headers: { ...headers, accept: 'text/event-stream' } }, (res) => {
      res.resume();
      resolve({ stream, status: res.statusCode ?? 0 });
    });
    stream.on('error', reject);
    stream.end();
  });
}

const closeSession = (url: string, sid: string) => request(`${url}/mcp`, { method: 'DELETE', headers: sessionHeaders(sid) });

/** initialize (declaring form elicitation: it can be asked for approval) + initialized, as `auth` headers say; the session id. */
async function openSessionAs(url: string, auth: Record<string, string>): Promise<string> {
  const init = JSON.parse(initialize) as { params: { capabilities: Record<string, unknown> } };
  init.params.capabilities = { elicitation: { form: {} } };
  const r = await request(`${url}/mcp`, { headers: { ...mcpHeaders, ...auth }, body: JSON.stringify(init) });
  expect(r.status, r.body).toBe(200);
  const sid = r.headers['mcp-session-id'] as string;
  const done = await request(`${url}/mcp`, {
    headers: { ...sessionHeaders(sid), ...auth },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  expect(done.status).toBe(202);
  return sid;
}

/** Starts a tools/call answered as a stream, and resolves with its first message (an approval question, say) while it stays under way; destroy `call` to end it. */
function startCall(
  url: string,
  headers: Record<string, string>,
  name: string,
  args: Record<string, unknown>,
): Promise<{ call: http.ClientRequest; first: RpcMessage & { method?: string } }> {
  return new Promise((resolve, reject) => {
    const call = http.request(`${url}/mcp`, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        const [first] = messages(text);
        if (first) resolve({ call, first });
      });
    });
    call.on('error', (e) => (call.destroyed ? undefined : reject(e)));
    call.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }));
  });
}

/** A POST that sends its headers (here a declared length) and no body; resolves with the reply or 'no reply' after waitMs. */
function headersOnly(url: string, headers: Record<string, string>, waitMs: number): Promise<Reply | 'no reply'> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers });
    const timer = setTimeout(() => {
      req.destroy();
      resolve('no reply');
    }, waitMs);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.flushHeaders();
  });
}

/**
 * A raw socket that writes `first`, then `drip` every `everyMs` (nothing if drip is empty), and
 * resolves when the server closes it: what it answered and how long after connecting.
 */
function slowClient(url: string, first: string, drip: string, everyMs = 150): Promise<{ answer: string; afterMs: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(first);
      if (drip) timer = setInterval(() => socket.writable && socket.write(drip), everyMs);
    });
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (answer += d));
    // A write racing the server's close may fail; the close is what we wait for.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer, afterMs: Date.now() - started });
    });
    // Never hang the test: a socket still open after 10 s is a failure, not a pass.
    setTimeout(() => {
      if (!socket.destroyed) {
        clearInterval(timer);
        socket.destroy();
        reject(new Error(`still connected after 10 s; got ${JSON.stringify(answer)}`));
      }
    }, 10_000).unref();
  });
}

const home = () => path.join(tempDir(), 'home');

describe('HTTP sessions are capped (MLOPS_MCP_MAX_SESSIONS=2)', () => {
  let server: SpawnedHttp;
  beforeAll(async () => {
    server = await spawnHttp([], { MLOPS_MCP_HOME: home(), MLOPS_MCP_MAX_SESSIONS: '2' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('answers a third initialize with 503 and a JSON-RPC error, and opens one again once a session is closed', async () => {
    const a = await openSession(server.url);
    const b = await openSession(server.url);
    const third = await request(`${server.url}/mcp`, { headers: mcpHeaders, body: initialize });
    expect(third.status).toBe(503);
    expect(third.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(third.body)).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32000, message: expect.stringContaining('Too many open sessions') },
      id: null,
    });

    expect((await closeSession(server.url, a)).status).toBe(200);
    // The closed session is gone, and its slot is free.
    expect(
      (await request(`${server.url}/mcp`, { headers: sessionHeaders(a), body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) })).status,
    ).toBe(404);
    const c = await openSession(server.url);
    const tools = messages(
      (await request(`${server.url}/mcp`, { headers: sessionHeaders(c), body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) })).body,
    );
    expect(tools[0].result?.tools?.length).toBeGreaterThan(5);
    for (const sid of [b, c]) expect((await closeSession(server.url, sid)).status).toBe(200);
  });

  it('holds the cap against initializes that arrive at once', async () => {
    // The cap is checked before a session exists; concurrent initializes must not all slip through.
    const replies = await Promise.all(Array.from({ length: 8 }, () => request(`${server.url}/mcp`, { headers: mcpHeaders, body: initialize })));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 503, 503, 503, 503, 503, 503]);
    for (const r of replies.filter((x) => x.status === 200)) expect((await closeSession(server.url, r.headers['mcp-session-id'] as string)).status).toBe(200);
    // Both slots are free again.
    for (const sid of [await openSession(server.url), await openSession(server.url)]) await closeSession(server.url, sid);
  });
});

const tokens = { viewer: 'viewer-token-aaaaaaaaaaaaaaaa', alice: 'alice-token-bbbbbbbbbbbbbbbbb' };

/** A server on a fresh home with two tokens (viewer: read, alice: admin) and room for 4 sessions. */
function spawnWithTwoTokens(args: string[], env: Record<string, string> = {}): Promise<SpawnedHttp> {
  const dir = tempDir();
  const file = path.join(dir, 'tokens.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      tokens: [
        { name: 'viewer', role: 'read', token: tokens.viewer },
        { name: 'alice', role: 'admin', token: tokens.alice },
      ],
    }),
  );
  return spawnHttp(args, { MLOPS_MCP_HOME: path.join(dir, 'home'), MLOPS_MCP_TOKENS_FILE: file, MLOPS_MCP_MAX_SESSIONS: '4', ...env });
}

describe('sessions are shared out by token at the cap (MLOPS_MCP_MAX_SESSIONS=4, two tokens)', () => {
  let server: SpawnedHttp;
  beforeAll(async () => {
    server = await spawnWithTwoTokens([]);
  });
  afterAll(async () => {
    await server.stop();
  });

  const as = (token: string) => ({ ...mcpHeaders, authorization: `Bearer ${token}` });
  const open = async (token: string) => {
    const r = await request(`${server.url}/mcp`, { headers: as(token), body: initialize });
    expect(r.status, r.body).toBe(200);
    return r.headers['mcp-session-id'] as string;
  };
  const headersOf = (token: string, sid: string) => ({ ...as(token), 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' });
  const alive = async (token: string, sid: string) =>
    (await request(`${server.url}/mcp`, { headers: headersOf(token, sid), body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) })).status ===
    200;

  it('at the cap, takes a place from a token past its share of half, so another token still gets in, and recycles its own past its share', async () => {
    // The viewer fills the cap.
    const viewer: string[] = [];
    for (let i = 0; i < 4; i++) viewer.push(await open(tokens.viewer));
    // A fifth from the viewer, at the cap and past its share: its own least recently active session goes.
    viewer.push(await open(tokens.viewer));
    expect(await Promise.all(viewer.map((sid) => alive(tokens.viewer, sid)))).toEqual([false, true, true, true, true]);
    // Alice, under her share, takes places from the viewer (past its share) until both hold two.
    const alice = [await open(tokens.alice), await open(tokens.alice)];
    expect(await Promise.all(alice.map((sid) => alive(tokens.alice, sid)))).toEqual([true, true]);
    expect((await Promise.all(viewer.map((sid) => alive(tokens.viewer, sid)))).filter(Boolean)).toHaveLength(2);
    // Now both hold their share: a third for alice recycles her own oldest.
    alice.push(await open(tokens.alice));
    expect(await Promise.all(alice.map((sid) => alive(tokens.alice, sid)))).toEqual([false, true, true]);
    for (const sid of alice.slice(1)) await request(`${server.url}/mcp`, { method: 'DELETE', headers: headersOf(tokens.alice, sid) });
    for (const sid of viewer) await request(`${server.url}/mcp`, { method: 'DELETE', headers: headersOf(tokens.viewer, sid) });
  });

  it('does not let a token keep every place by holding an idle GET stream on each session', async () => {
    // The attack: a read token opens the cap's worth of sessions, each holding an open GET stream.
    const viewer: string[] = [];
    for (let i = 0; i < 4; i++) viewer.push(await open(tokens.viewer));
    const streams: Array<{ stream: http.ClientRequest; status: number }> = [];
    for (const sid of viewer) streams.push(await openStream(server.url, headersOf(tokens.viewer, sid)));
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200, 200]);
    try {
      // Another token still gets in, twice (its share); the viewer keeps the two it used last.
      const alice = [await open(tokens.alice), await open(tokens.alice)];
      expect(await Promise.all(alice.map((sid) => alive(tokens.alice, sid)))).toEqual([true, true]);
      expect(await Promise.all(viewer.map((sid) => alive(tokens.viewer, sid)))).toEqual([false, false, true, true]);
      for (const sid of alice) await request(`${server.url}/mcp`, { method: 'DELETE', headers: headersOf(tokens.alice, sid) });
    } finally {
      for (const s of streams) s.stream.destroy();
    }
  });
});

describe('at the cap, a session with a call under way keeps its place (MLOPS_MCP_MAX_SESSIONS=4, two tokens, MLOPS_MCP_APPROVAL=elicit)', () => {
  let server: SpawnedHttp;
  beforeAll(async () => {
    server = await spawnWithTwoTokens(['--demo'], { MLOPS_MCP_APPROVAL: 'elicit' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('takes the next one of a token past its share, never the one waiting on a person', async () => {
    const alice = { authorization: `Bearer ${tokens.alice}` };
    const sessions: string[] = [];
    for (let i = 0; i < 4; i++) sessions.push(await openSessionAs(server.url, alice));
    // Alice's first session asks a person to approve a promotion: a call under way, for minutes.
    const { call, first } = await startCall(server.url, { ...sessionHeaders(sessions[0]), ...alice }, 'promote_model', {
      name: 'nba_points',
      version: 'v2',
      target_stage: 'production',
    });
    expect(first.method).toBe('elicitation/create');
    try {
      // The others are used after it: the waiting one is alice's least recently active.
      for (const sid of sessions.slice(1))
        await request(`${server.url}/mcp`, { headers: { ...sessionHeaders(sid), ...alice }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }) });
      const viewer = await request(`${server.url}/mcp`, { headers: { ...mcpHeaders, authorization: `Bearer ${tokens.viewer}` }, body: initialize });
      expect(viewer.status).toBe(200);
      const alive = async (sid: string) =>
        (await request(`${server.url}/mcp`, { headers: { ...sessionHeaders(sid), ...alice }, body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping' }) }))
          .status === 200;
      expect(await Promise.all(sessions.map(alive))).toEqual([true, false, true, true]);
    } finally {
      call.destroy();
    }
  });
});

describe('one token (MLOPS_MCP_TOKEN), MLOPS_MCP_MAX_SESSIONS=2', () => {
  it("refuses a session past the cap without closing another client's (all clients share the one token)", async () => {
    const token = 'single-token-cccccccccccccccccc';
    const server = await spawnHttp([], { MLOPS_MCP_HOME: home(), MLOPS_MCP_TOKEN: token, MLOPS_MCP_MAX_SESSIONS: '2' });
    try {
      const headers = { ...mcpHeaders, authorization: `Bearer ${token}` };
      const opened = [];
      for (let i = 0; i < 3; i++) opened.push(await request(`${server.url}/mcp`, { headers, body: initialize }));
      expect(opened.map((r) => r.status)).toEqual([200, 200, 503]);
      for (const r of opened.slice(0, 2)) {
        const list = await request(`${server.url}/mcp`, {
          headers: { ...headers, 'mcp-session-id': r.headers['mcp-session-id'] as string, 'mcp-protocol-version': '2025-06-18' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        });
        expect(list.status).toBe(200);
      }
    } finally {
      await server.stop();
    }
  });
});

describe('at the cap, a quiet session gives its place (MLOPS_MCP_MAX_SESSIONS=1, MLOPS_MCP_SESSION_RECLAIM_SECONDS=2, MLOPS_MCP_APPROVAL=elicit)', () => {
  let server: SpawnedHttp;
  beforeAll(async () => {
    server = await spawnHttp(['--demo'], {
      MLOPS_MCP_HOME: home(),
      MLOPS_MCP_MAX_SESSIONS: '1',
      MLOPS_MCP_SESSION_RECLAIM_SECONDS: '2',
      MLOPS_MCP_APPROVAL: 'elicit',
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  const tryInitialize = () => request(`${server.url}/mcp`, { headers: mcpHeaders, body: initialize });
  /** Polls initialize until one is admitted (every other answer a 503): how long after `since` it was, and the new session. */
  const admittedAfter = async (since: number): Promise<{ afterMs: number; sid: string }> => {
    while (Date.now() - since < 15_000) {
      const r = await tryInitialize();
      if (r.status === 200) return { afterMs: Date.now() - since, sid: r.headers['mcp-session-id'] as string };
      expect(r.status).toBe(503);
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error('no new session within 15 s');
  };
  const gone = async (sid: string) =>
    (await request(`${server.url}/mcp`, { headers: sessionHeaders(sid), body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) })).status === 404;

  it(
    'refuses a new session while the one open was used within the reclaim time or has a call under way, and reclaims it once quiet',
    { timeout: 40_000 },
    async () => {
      const a = await openSessionAs(server.url, {});
      // Used a moment ago (well inside 2 s): not reclaimed.
      expect((await tryInitialize()).status).toBe(503);

      // A call under way (waiting on a person's approval) past the reclaim time: still not reclaimed.
      const { call, first } = await startCall(server.url, sessionHeaders(a), 'promote_model', {
        name: 'nba_points',
        version: 'v2',
        target_stage: 'production',
      });
      expect(first.method).toBe('elicitation/create');
      await new Promise((r) => setTimeout(r, 2500));
      expect((await tryInitialize()).status).toBe(503);

      // The call ended (its end counts as use): a new session takes the place once the session has
      // been quiet for the reclaim time, and not before.
      call.destroy();
      const endedAt = Date.now();
      const b = await admittedAfter(endedAt);
      expect(b.afterMs).toBeGreaterThanOrEqual(1500);
      expect(b.sid).not.toBe(a);
      expect(await gone(a)).toBe(true);

      // A session that only holds an open GET stream is quiet: it gives its place after the reclaim time too.
      await request(`${server.url}/mcp`, { headers: sessionHeaders(b.sid), body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
      const { stream, status } = await openStream(server.url, sessionHeaders(b.sid));
      expect(status).toBe(200);
      const ended = new Promise<void>((resolve) => stream.once('close', () => resolve()));
      try {
        const c = await admittedAfter(Date.now());
        expect(c.afterMs).toBeGreaterThanOrEqual(1500);
        expect(await gone(b.sid)).toBe(true);
        await ended; // the server closed the stream with its session
        await closeSession(server.url, c.sid);
      } finally {
        stream.destroy();
      }
    },
  );
});

describe('idle HTTP sessions expire (MLOPS_MCP_SESSION_IDLE_SECONDS=1, MLOPS_MCP_MAX_SESSIONS=1)', () => {
  let server: SpawnedHttp;
  beforeAll(async () => {
    server = await spawnHttp([], { MLOPS_MCP_HOME: home(), MLOPS_MCP_MAX_SESSIONS: '1', MLOPS_MCP_SESSION_IDLE_SECONDS: '1' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('closes an unused session and its transport, forgets its id, and frees its slot', async () => {
    const sid = await openSession(server.url);
    // The session's standalone SSE stream: it ends when the server closes the transport.
    const streamEnded = new Promise<{ status: number; atMs: number }>((resolve, reject) => {
      const req = http.request(
        `${server.url}/mcp`,
        { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': PROTOCOL } },
        (res) => {
          res.resume();
          res.on('close', () => resolve({ status: res.statusCode ?? 0, atMs: Date.now() }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    const lastUse = Date.now();
    // The cap is 1 and the session counts toward it while open.
    expect((await request(`${server.url}/mcp`, { headers: mcpHeaders, body: initialize })).status).toBe(503);

    const ended = await Promise.race([streamEnded, new Promise<'open'>((r) => setTimeout(() => r('open'), 4000))]);
    expect(ended, 'the SSE stream of an idle session is still open after 4 s').not.toBe('open');
    const { status, atMs } = ended as { status: number; atMs: number };
    expect(status).toBe(200);
    // Idle 1 s, swept every second: gone between 1 and ~2 s after its last use.
    expect(atMs - lastUse).toBeGreaterThanOrEqual(900);

    const stale = await request(`${server.url}/mcp`, { headers: sessionHeaders(sid), body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    expect(stale.status).toBe(404);
    expect(JSON.parse(stale.body)).toMatchObject({ error: { code: -32001 } });
    // No longer counted: with a cap of 1, a new session opens.
    const fresh = await openSession(server.url);
    expect(fresh).not.toBe(sid);
    await closeSession(server.url, fresh);
  });
});

// The argument sweep of test/mcp/fuzz.test.ts runs in process, where messages are objects; this
// one sends hostile bodies as bytes, through the HTTP server, express's JSON parser and the
// SDK's transport, inside a real session.
const HTTP_FUZZ_RUNS = Number(process.env.HTTP_FUZZ_RUNS ?? 150);
const TOOL_NAMES = [
  'predict',
  'batch_predict',
  'register_model',
  'promote_model',
  'configure_ab_test',
  'detect_drift',
  'set_drift_reference',
  'get_model',
  'no_such_tool',
  '__proto__',
];

/** A JSON-RPC message (or not quite one) as the bytes a client could send. */
const hostileBody: fc.Arbitrary<string> = fc.oneof(
  // A tools/call with hostile arguments.
  fc
    .record({ id: fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), name: fc.constantFrom(...TOOL_NAMES), args: hostileValue })
    .map(({ id, name, args }) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } })),
  // An envelope with any of its parts wrong or missing.
  fc
    .record(
      {
        jsonrpc: fc.constantFrom('2.0', '1.0', 2, null),
        id: fc.oneof(
          fc.integer(),
          fc.double(),
          fc.string({ maxLength: 8 }),
          fc.constant(null),
          fc.array(fc.integer(), { maxLength: 2 }),
          fc.dictionary(hostileKey, fc.integer(), { maxKeys: 2 }),
        ),
        method: fc.oneof(
          fc.constantFrom(
            'tools/call',
            'tools/list',
            'ping',
            'initialize',
            'resources/read',
            'prompts/get',
            'completion/complete',
            'notifications/cancelled',
            'rpc.discover',
            '',
          ),
          hostileString,
          fc.integer(),
        ),
        params: hostileValue,
        result: hostileValue,
      },
      { requiredKeys: [] },
    )
    .map((m) => JSON.stringify(m)),
  // Batches of such envelopes, and bytes that are not JSON-RPC at all.
  fc
    .array(fc.record({ jsonrpc: fc.constant('2.0'), id: fc.integer(), method: fc.constantFrom('ping', 'tools/list', 'nope') }), { maxLength: 5 })
    .map((b) => JSON.stringify(b)),
  fc.constantFrom(
    '',
    'null',
    '[]',
    '{}',
    '"x"',
    '1e999',
    '{"jsonrpc":"2.0","id":1,"method":"ping"',
    '\u0000',
    '{"__proto__":{"polluted":1},"jsonrpc":"2.0","id":1,"method":"ping"}',
  ),
  fc.string({ maxLength: 60 }),
);

describe('HTTP limits on one default server (--demo)', () => {
  let server: SpawnedHttp;
  beforeAll(async () => {
    server = await spawnHttp(['--demo'], { MLOPS_MCP_HOME: home() });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('answers a chunked body over 4 MiB (no Content-Length) with a JSON 413, and keeps serving', async () => {
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = http.request(`${server.url}/mcp`, { method: 'POST', headers: mcpHeaders });
      let answered = false;
      req.on('response', (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      // The server may close while we still write; only an error before any answer fails.
      req.on('error', (e) => !answered && reject(e));
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (!answered && sent < 6 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (!answered) req.end();
      };
      pump();
      expect(req.getHeader('content-length')).toBeUndefined();
    });
    expect(reply.status).toBe(413);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(reply.body)).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32600, message: expect.stringMatching(/^Request body over 4 MiB: send fewer rows/) },
      id: null,
    });

    expect((await request(`${server.url}/healthz`, { method: 'GET' })).status).toBe(200);
    await closeSession(server.url, await openSession(server.url));
  });

  it('refuses a JSON-RPC batch over 100 messages inside a session too, and the session keeps working', async () => {
    const sid = await openSession(server.url);
    const batch = JSON.stringify(Array.from({ length: 101 }, (_, i) => ({ jsonrpc: '2.0', id: i + 1, method: 'tools/list' })));
    const refused = await request(`${server.url}/mcp`, { headers: sessionHeaders(sid), body: batch });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32600, message: expect.stringContaining('101 messages is over the limit of 100') },
      id: null,
    });
    const after = messages(
      (await request(`${server.url}/mcp`, { headers: sessionHeaders(sid), body: JSON.stringify({ jsonrpc: '2.0', id: 200, method: 'tools/list' }) })).body,
    );
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id: 200 });
    await closeSession(server.url, sid);
  });

  it('gives two sessions that use the same JSON-RPC ids at once only their own answers', async () => {
    // nba_points v1 (production) is a linear regression: the fixture manifest gives its exact formula.
    const manifest = JSON.parse(fs.readFileSync(path.join(packageRoot, 'fixtures', 'models.json'), 'utf8')) as {
      models: Array<{ name: string; file: string; linear?: { intercept: number; coefficients: number[] } }>;
    };
    const { intercept, coefficients } = manifest.models.find((m) => m.file === 'nba_points_v1.onnx')!.linear!;
    const expected = (x: number[]) => intercept + x.reduce((s, v, i) => s + v * coefficients[i], 0);
    // Client A's players score 10-15 season points, B's 25-30: every (client, id) pair has its own answer.
    const features = (client: 'A' | 'B', id: number) => {
      const pts = (client === 'A' ? 10 : 25) + id / 10;
      return [id % 2, 1, pts, 5, 4, pts + 1, 5, 4, 30, 112];
    };
    const ids = Array.from({ length: 50 }, (_, i) => i + 1);
    const values = ids.flatMap((id) => [expected(features('A', id)), expected(features('B', id))]);
    expect(new Set(values.map((v) => v.toFixed(3))).size).toBe(100);

    const sessions = { A: await openSession(server.url), B: await openSession(server.url) };
    const calls = (['A', 'B'] as const).flatMap((client) =>
      ids.map(async (id) => {
        const body = JSON.stringify({
          jsonrpc: '2.0',
          id,
          method: 'tools/call',
          params: { name: 'predict', arguments: { name: 'nba_points', version: 'v1', features: features(client, id) } },
        });
        const r = await fetch(`${server.url}/mcp`, { method: 'POST', headers: sessionHeaders(sessions[client]), body });
        return { client, id, status: r.status, replies: messages(await r.text()) };
      }),
    );
    const answers = await Promise.all(calls);
    for (const { client, id, status, replies } of answers) {
      expect(status, `${client} ${id}`).toBe(200);
      // Exactly one answer on this request's stream: its own id, its own features' prediction.
      expect(replies, `${client} ${id}`).toHaveLength(1);
      expect(replies[0].id).toBe(id);
      expect(replies[0].result?.isError, `${client} ${id}`).toBeFalsy();
      const prediction = replies[0].result?.structuredContent?.prediction as number;
      expect(Math.abs(prediction - expected(features(client, id))), `${client} ${id}: ${prediction}`).toBeLessThan(1e-3);
    }
    for (const sid of Object.values(sessions)) await closeSession(server.url, sid);
  });

  it('refuses a foreign Host or Origin with 403 before reading the body', async () => {
    // 50 MB declared: were the body parser first it would answer 413, not 403.
    const host = await headersOnly(`${server.url}/mcp`, { ...mcpHeaders, host: 'evil.example.com', 'content-length': String(50 * 1024 * 1024) }, 2000);
    expect(host).not.toBe('no reply');
    expect((host as Reply).status).toBe(403);
    expect(JSON.parse((host as Reply).body)).toMatchObject({ jsonrpc: '2.0', error: { message: 'Invalid Host: evil.example.com' } });

    // 3 MiB declared (under the limit) and never sent: a handler that read the body would wait forever.
    const origin = await headersOnly(
      `${server.url}/mcp`,
      { ...mcpHeaders, origin: 'http://evil.example.com', 'content-length': String(3 * 1024 * 1024) },
      2000,
    );
    expect(origin).not.toBe('no reply');
    expect((origin as Reply).status).toBe(403);
    expect(JSON.parse((origin as Reply).body)).toMatchObject({ error: { message: 'Origin not allowed: http://evil.example.com' } });

    // The control: the same request from an allowed origin waits for its body.
    const allowed = await headersOnly(`${server.url}/mcp`, { ...mcpHeaders, origin: server.url, 'content-length': String(3 * 1024 * 1024) }, 500);
    expect(allowed).toBe('no reply');
  });

  it(
    `answers ${HTTP_FUZZ_RUNS} generated bodies with a JSON-RPC reply or an accepted notification, never a 5xx, and keeps serving`,
    { timeout: 120_000 },
    async () => {
      const sid = await openSession(server.url);
      await fc.assert(
        fc.asyncProperty(hostileBody, async (body) => {
          const r = await request(`${server.url}/mcp`, { headers: sessionHeaders(sid), body });
          const what = `${r.status} for ${body.slice(0, 160)}: ${r.body.slice(0, 300)}`;
          expect(r.status, what).toBeLessThan(500);
          if (r.status === 202) return; // notifications and responses are only accepted
          expect(r.body.trim(), what).not.toBe('');
          const replies = messages(r.body);
          expect(replies.length, what).toBeGreaterThan(0);
          for (const m of replies) {
            expect(m.jsonrpc, what).toBe('2.0');
            expect(m.result !== undefined || m.error !== undefined, what).toBe(true);
            if (m.error) expect(m.error.message, what).not.toMatch(/\n\s+at .+:\d+:\d+/);
          }
        }),
        { numRuns: HTTP_FUZZ_RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261123), endOnFailure: true },
      );
      // The session and the server still work.
      const call = JSON.stringify({
        jsonrpc: '2.0',
        id: 'after',
        method: 'tools/call',
        params: { name: 'predict', arguments: { name: 'nba_points', features: Array(10).fill(1) } },
      });
      const after = messages((await request(`${server.url}/mcp`, { headers: sessionHeaders(sid), body: call })).body);
      expect(after.find((m) => m.id === 'after')?.result?.isError).toBeFalsy();
      expect(after.find((m) => m.id === 'after')?.result?.structuredContent).toHaveProperty('prediction');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      await closeSession(server.url, sid);
    },
  );
});

describe('slow HTTP clients (headers timeout 1 s, request timeout 3 s)', () => {
  let server: SpawnedHttp;
  beforeAll(async () => {
    server = await spawnHttp([], { MLOPS_MCP_HOME: home(), MLOPS_MCP_HTTP_HEADERS_TIMEOUT_SECONDS: '1', MLOPS_MCP_HTTP_REQUEST_TIMEOUT_SECONDS: '3' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('answers 408 and disconnects a stalled request line, dribbled headers and a dribbled body; long responses stay open', async () => {
    const host = new URL(server.url).host;
    // A response stream that lives longer than the request timeout: the timeouts are about receiving a request only.
    const sid = await openSession(server.url);
    let streamClosed = false;
    const stream = http.request(
      `${server.url}/mcp`,
      { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': PROTOCOL } },
      (res) => {
        res.resume();
        res.on('close', () => (streamClosed = true));
      },
    );
    stream.on('error', () => (streamClosed = true));
    stream.end();

    const [requestLine, headers, body] = await Promise.all([
      slowClient(server.url, 'POST /mcp HT', ''),
      slowClient(server.url, `POST /mcp HTTP/1.1\r\nHost: ${host}\r\n`, 'x-slow: 1\r\n'),
      slowClient(server.url, `POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`, ' '),
    ]);
    for (const c of [requestLine, headers, body]) expect(c.answer).toMatch(/^HTTP\/1\.1 408 /);
    // Headers: cut after 1 s (checked every 250 ms), even though bytes keep coming.
    for (const c of [requestLine, headers]) {
      expect(c.afterMs).toBeGreaterThanOrEqual(900);
      expect(c.afterMs).toBeLessThan(2500);
    }
    // Body: cut after the 3 s request timeout, not the socket's idle time.
    expect(body.afterMs).toBeGreaterThanOrEqual(2900);
    expect(body.afterMs).toBeLessThan(5500);

    expect(streamClosed).toBe(false);
    stream.destroy();
    expect((await request(`${server.url}/healthz`, { method: 'GET' })).status).toBe(200);
    await closeSession(server.url, sid);
  });

  it('refuses to start with a headers timeout longer than the request timeout', async () => {
    await expect(
      spawnHttp([], { MLOPS_MCP_HOME: home(), MLOPS_MCP_HTTP_HEADERS_TIMEOUT_SECONDS: '10', MLOPS_MCP_HTTP_REQUEST_TIMEOUT_SECONDS: '5' }),
    ).rejects.toThrow(/MLOPS_MCP_HTTP_HEADERS_TIMEOUT_SECONDS: must not exceed MLOPS_MCP_HTTP_REQUEST_TIMEOUT_SECONDS/);
  });
});
