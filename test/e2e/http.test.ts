import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorCode, ok, tempDir, text } from '../helpers.js';
import { spawnHttp, type SpawnedHttp } from './spawn.js';

const TOKEN = 'test-token-0123456789abcdef';

/** A raw request, to control headers the SDK client would always set right. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'POST', headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The status of a request, without waiting for its body (an SSE stream would never end). */
function statusOnly(url: string, method: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', reject);
    req.end();
  });
}

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function connectHttp(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'http-e2e', version: '1.0.0' });
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }));
  return client;
}

describe('serve --http without a token (loopback)', () => {
  let server: SpawnedHttp;
  beforeAll(async () => {
    server = await spawnHttp(['--demo'], { MLOPS_MCP_HOME: path.join(tempDir(), 'home') });
  });
  afterAll(async () => {
    await server.stop();
  });

  it("serves the demo to a real Streamable HTTP client: health 7/9 (the demo's drift and degraded model), promotion audited", async () => {
    const client = await connectHttp(server.url);
    const health = await ok<{ status: string; healthy_components: number; components: Array<{ name: string; status: string }> }>(client, 'health_check', {});
    expect(health).toMatchObject({ status: 'degraded', healthy_components: 7 });
    expect(health.components.filter((c) => c.status !== 'healthy').map((c) => c.name)).toEqual(['drift_monitoring', 'model_performance']);
    const p = await ok<{ production_after: string; production_before: string }>(client, 'promote_model', {
      name: 'nba_win_predictor',
      version: 'v2.0',
      target_stage: 'production',
      reason: 'http e2e',
    });
    expect(p).toMatchObject({ production_before: 'v1.5', production_after: 'v2.0' });
    await client.close();
  });

  it('exposes Prometheus metrics: predictions by model, version and outcome, latency histograms, the session cache', async () => {
    const client = await connectHttp(server.url);
    const scrape = async () => {
      const res = await fetch(`${server.url}/metrics`);
      const body = await res.text();
      return { res, body, value: (series: string) => Number(new RegExp(`^${series.replace(/[{}.+]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(body)?.[1] ?? 0) };
    };
    // The demo's history counts too: what this test adds is the difference.
    const before = (await scrape()).value;
    const row = [1, 2, 24.1, 6.2, 5.0, 27.4, 5.8, 6.1, 34.5, 112.3];
    for (let i = 0; i < 3; i++) await ok(client, 'predict', { name: 'nba_points', features: row, version: 'v1' });
    await call(client, 'predict', { name: 'nba_points', features: [1, 2], version: 'v1' }); // fails: 2 values for 10
    await ok(client, 'batch_predict', { name: 'nba_points', rows: [row, row], version: 'v1' });
    await client.close();
    const { res, body, value: after } = await scrape();
    const value = (series: string) => after(series) - before(series);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    // A batch counts each row; a request is one latency observation.
    expect(value('mlops_mcp_predictions_total{model="nba_points",version="v1",outcome="ok"}')).toBe(5);
    expect(value('mlops_mcp_predictions_total{model="nba_points",version="v1",outcome="error"}')).toBe(1);
    expect(value('mlops_mcp_prediction_latency_seconds_count{model="nba_points",version="v1"}')).toBe(5);
    expect(value('mlops_mcp_prediction_latency_seconds_bucket{le="+Inf",model="nba_points",version="v1"}')).toBe(5);
    expect(value('mlops_mcp_prediction_latency_seconds_sum{model="nba_points",version="v1"}')).toBeGreaterThan(0);
    expect(body).toMatch(/^# TYPE mlops_mcp_prediction_latency_seconds histogram$/m);
    expect(after('mlops_mcp_model_cache_misses')).toBeGreaterThanOrEqual(1);
    expect(value('mlops_mcp_model_cache_hits')).toBeGreaterThanOrEqual(4); // every predict (the session is loaded) and the batch
    expect(after('mlops_mcp_nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    // What outcomes say of each version, labelled by model and version only.
    expect(after('mlops_mcp_model_mae{model="nba_points",version="v1"}')).toBeGreaterThan(1);
    expect(after('mlops_mcp_model_accuracy{model="nba_win_predictor",version="v2.0"}')).toBeGreaterThan(0.5);
    expect(after('mlops_mcp_model_outcomes{model="nba_points",version="v1"}')).toBe(1000);
  });

  it('answers /healthz', async () => {
    const r = await raw(`${server.url}/healthz`, { method: 'GET' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ status: 'ok' });
  });

  it('refuses a foreign Host header and a foreign Origin with 403', async () => {
    const host = await raw(`${server.url}/mcp`, { headers: { ...mcpHeaders, host: 'evil.example.com' }, body: initialize });
    expect(host.status).toBe(403);
    const origin = await raw(`${server.url}/mcp`, { headers: { ...mcpHeaders, origin: 'http://evil.example.com' }, body: initialize });
    expect(origin.status).toBe(403);
    const health = await raw(`${server.url}/healthz`, { method: 'GET', headers: { host: 'attacker.test:80' } });
    expect(health.status).toBe(403);
    // Each in the shape of the route asked: JSON-RPC on /mcp, MLflow's {error_code, message} elsewhere.
    expect(JSON.parse(host.body)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Invalid Host: evil.example.com' } });
    expect(JSON.parse(health.body)).toEqual({ error_code: 'PERMISSION_DENIED', message: 'Invalid Host: attacker.test' });
  });

  it('answers malformed JSON with -32700, an oversized body with 413, and a request without session with 400', async () => {
    const bad = await raw(`${server.url}/mcp`, { headers: mcpHeaders, body: '{"jsonrpc": "2.0", "id": 1, ' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe(-32700);
    const big = await raw(`${server.url}/mcp`, { headers: mcpHeaders, body: Buffer.alloc(5 * 1024 * 1024, 0x20) });
    expect(big.status).toBe(413);
    expect(big.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(big.body)).toMatchObject({ jsonrpc: '2.0', error: { message: expect.stringMatching(/^Request body over 4 MiB: send fewer rows/) } });
    const noSession = await raw(`${server.url}/mcp`, { headers: mcpHeaders, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
    expect(noSession.status).toBe(400);
    const unknown = await raw(`${server.url}/mcp`, { headers: { ...mcpHeaders, 'mcp-session-id': 'nope' }, body: '{}' });
    expect(unknown.status).toBe(404);
    const batch = JSON.stringify(Array.from({ length: 101 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' })));
    const tooMany = await raw(`${server.url}/mcp`, { headers: mcpHeaders, body: batch });
    expect(tooMany.status).toBe(400);
    expect(JSON.parse(tooMany.body).error.message).toContain('over the limit of 100');
  });
});

describe('serve --http with MLOPS_MCP_TOKEN', () => {
  let server: SpawnedHttp;
  beforeAll(async () => {
    server = await spawnHttp([], { MLOPS_MCP_HOME: path.join(tempDir(), 'home'), MLOPS_MCP_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('refuses requests without the token or with a wrong one (401), on every method', async () => {
    for (const method of ['POST', 'GET', 'DELETE']) {
      const none = await raw(`${server.url}/mcp`, { method, headers: mcpHeaders, body: method === 'POST' ? initialize : undefined });
      expect(none.status, method).toBe(401);
    }
    for (const method of ['POST', 'GET', 'DELETE']) {
      const wrong = await raw(`${server.url}/mcp`, {
        method,
        headers: { ...mcpHeaders, authorization: 'Bearer wrong-token-0123456789' },
        body: method === 'POST' ? initialize : undefined,
      });
      expect(wrong.status, method).toBe(401);
      expect(JSON.parse(wrong.body), method).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number), message: expect.any(String) } });
    }
    const inQuery = await raw(`${server.url}/mcp?token=${TOKEN}`, { headers: mcpHeaders, body: initialize });
    expect(inQuery.status).toBe(401);
    expect(JSON.parse(inQuery.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32001 } });
    // REST answers in its own shape.
    const rest = await raw(`${server.url}/api/v1/predict/nba_points`, { headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(rest.status).toBe(401);
    expect(JSON.parse(rest.body)).toEqual({ error_code: 'UNAUTHENTICATED', message: 'Unauthorized: send Authorization: Bearer <token>' });
    await expect(connectHttp(server.url)).rejects.toThrow();
  });

  it('serves a client that sends the token', async () => {
    const client = await connectHttp(server.url, TOKEN);
    expect((await client.listTools()).tools.length).toBeGreaterThan(5);
    await client.close();
  });
});

describe('serve --http with MLOPS_MCP_TOKENS_FILE (three roles)', () => {
  const tokens = { read: 'read-token-aaaaaaaaaaaaaaaa', operate: 'operate-token-bbbbbbbbbbbbbb', admin: 'admin-token-cccccccccccccccc' };
  let server: SpawnedHttp;
  beforeAll(async () => {
    const dir = tempDir();
    const file = path.join(dir, 'tokens.json');
    const sha = (t: string) => createHash('sha256').update(t).digest('hex');
    fs.writeFileSync(
      file,
      JSON.stringify({
        tokens: [
          { name: 'dashboard', role: 'read', sha256: sha(tokens.read) },
          { name: 'ci-bot', role: 'operate', sha256: sha(tokens.operate) },
          { name: 'alice', role: 'admin', token: tokens.admin },
        ],
      }),
    );
    server = await spawnHttp(['--demo'], { MLOPS_MCP_HOME: path.join(dir, 'home'), MLOPS_MCP_TOKENS_FILE: file });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('gives each token the tools of its role and audits changes under the token name', async () => {
    const read = await connectHttp(server.url, tokens.read);
    const readTools = (await read.listTools()).tools.map((t) => t.name);
    expect(readTools).toContain('predict');
    expect(readTools).not.toContain('promote_model');
    const refused = await call(read, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production' });
    expect(errorCode(refused)).toBe('forbidden');
    await ok(read, 'predict', { name: 'nba_points', features: Array(10).fill(1) });

    const operate = await connectHttp(server.url, tokens.operate);
    await ok(operate, 'promote_model', { name: 'nba_win_predictor', version: 'v2.0', target_stage: 'staging' });
    const tooFar = await call(operate, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production', reason: 'ship it' });
    expect(errorCode(tooFar)).toBe('forbidden');
    expect(text(tooFar)).toContain('token "ci-bot" has operate');

    const admin = await connectHttp(server.url, tokens.admin);
    await ok(admin, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production', reason: 'ship it' });
    const h = await ok<{ entries: Array<{ action: string; actor: string }> }>(admin, 'get_model_history', { name: 'nba_points', limit: 3 });
    expect(h.entries.map((e) => `${e.action}:${e.actor}`)).toEqual(['promote:alice', 'promote:alice', 'refused:ci-bot']);
    for (const c of [read, operate, admin]) await c.close();
  });

  it('binds a session to the token that opened it', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${tokens.read}` } } });
    const client = new Client({ name: 'owner', version: '1' });
    await client.connect(transport);
    const hijack = await raw(`${server.url}/mcp`, {
      headers: { ...mcpHeaders, authorization: `Bearer ${tokens.admin}`, 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    expect(hijack.status).toBe(403);
    // Nor may it listen on the session's stream or end it.
    const hijackHeaders = {
      ...mcpHeaders,
      authorization: `Bearer ${tokens.admin}`,
      'mcp-session-id': transport.sessionId!,
      'mcp-protocol-version': '2025-06-18',
    };
    expect(await statusOnly(`${server.url}/mcp`, 'GET', { ...hijackHeaders, accept: 'text/event-stream' })).toBe(403);
    expect(await statusOnly(`${server.url}/mcp`, 'DELETE', hijackHeaders)).toBe(403);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0); // still the owner's, still open
    const wrong = await raw(`${server.url}/mcp`, { headers: { ...mcpHeaders, authorization: 'Bearer not-a-known-token-123' }, body: initialize });
    expect(wrong.status).toBe(401);
    await client.close();
  });
});

describe('serve --http with MLOPS_MCP_APPROVAL=elicit', () => {
  // A client may declare elicitation and never open the session's GET stream (it is optional):
  // the approval question must come on the tool call's own response stream.
  it("asks for approval on the call's own stream, to a client that opened no GET stream", async () => {
    const server = await spawnHttp(['--demo'], {
      MLOPS_MCP_HOME: path.join(tempDir(), 'home'),
      MLOPS_MCP_APPROVAL: 'elicit',
      MLOPS_MCP_APPROVAL_TIMEOUT_SECONDS: '20',
    });
    try {
      const init = JSON.parse(initialize) as { params: { capabilities: Record<string, unknown> } };
      init.params.capabilities = { elicitation: { form: {} } };
      const opened = await fetch(`${server.url}/mcp`, { method: 'POST', headers: mcpHeaders, body: JSON.stringify(init) });
      await opened.text();
      const headers = { ...mcpHeaders, 'mcp-session-id': opened.headers.get('mcp-session-id') ?? '', 'mcp-protocol-version': '2025-06-18' };
      const post = (body: unknown) => fetch(`${server.url}/mcp`, { method: 'POST', headers, body: JSON.stringify(body) });
      await (await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).text();

      const started = Date.now();
      const res = await post({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'promote_model', arguments: { name: 'nba_points', version: 'v2', target_stage: 'production' } },
      });
      // Read the call's SSE stream: the question, then (once declined) the call's answer.
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      const messages: Array<{
        id?: number | string;
        method?: string;
        params?: { message?: string };
        result?: { isError?: boolean; content?: Array<{ text: string }> };
      }> = [];
      while (!messages.some((m) => m.id === 2 && m.result)) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (const line of buffer.split('\n')) if (line.startsWith('data: ')) messages.push(JSON.parse(line.slice(6)) as (typeof messages)[number]);
        buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
        const question = messages.find((m) => m.method === 'elicitation/create');
        if (question && !messages.some((m) => m.method === 'answered')) {
          expect(question.params?.message).toMatch(/promote_model.*\n.*v2 staging → production/);
          await (await post({ jsonrpc: '2.0', id: question.id, result: { action: 'decline' } })).text();
          messages.push({ method: 'answered' });
        }
      }
      const answer = messages.find((m) => m.id === 2);
      expect(answer?.result?.isError).toBe(true);
      expect(answer?.result?.content?.[0].text).toMatch(/approval_declined: the person at raw declined/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await server.stop();
    }
  });
});

describe('serve --http shutdown under keep-alive traffic', () => {
  // Clients looping on keep-alive connections when SIGTERM comes: each request on an open
  // connection gets an answer (200, or the 503 "shutting down" that closes its connection); after
  // that the port is closed (ECONNREFUSED, or ECONNRESET for a connection still in the kernel's
  // accept queue when it closed: never accepted, nothing done). None is cut on a connection the
  // server closed under it (undici's UND_ERR_SOCKET, "other side closed": 4–9 per 3–6 stops before).
  it('answers every request on an open connection while it stops', async () => {
    const outcomes: Record<string, number> = {};
    for (let run = 0; run < 3; run++) {
      const server = await spawnHttp([], { MLOPS_MCP_HOME: path.join(tempDir(), 'home') });
      let stopping = false;
      const loops = Array.from({ length: 4 }, async () => {
        while (!stopping) {
          try {
            const r = await fetch(`${server.url}/ping`);
            await r.text();
            outcomes[String(r.status)] = (outcomes[String(r.status)] ?? 0) + 1;
          } catch (e) {
            const cause = (e as { cause?: { code?: string } }).cause;
            outcomes[cause?.code ?? String(e)] = (outcomes[cause?.code ?? String(e)] ?? 0) + 1;
          }
        }
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(await server.stop('SIGTERM')).toBe(0);
      stopping = true;
      await Promise.all(loops);
    }
    process.stderr.write(`[keep-alive shutdown] ${JSON.stringify(outcomes)}\n`);
    expect(Object.keys(outcomes).filter((k) => !['200', '503', 'ECONNREFUSED', 'ECONNRESET'].includes(k))).toEqual([]);
    expect(outcomes['503']).toBeGreaterThan(0);
  }, 60_000);
});

describe('serve --http refusals at start', () => {
  it('refuses to bind a non-loopback address without a token', async () => {
    await expect(spawnHttp(['--host', '0.0.0.0'], { MLOPS_MCP_HOME: path.join(tempDir(), 'home') })).rejects.toThrow(/without a token/);
  });

  it('shuts down cleanly on SIGTERM', async () => {
    const server = await spawnHttp([], { MLOPS_MCP_HOME: path.join(tempDir(), 'home') });
    const client = await connectHttp(server.url);
    const started = Date.now();
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(server.stderr()).toMatch(/"msg":"shutting down"/);
    await client.close().catch(() => undefined);
  });
});
