#!/usr/bin/env node
// The floor: a minimal MCP server on the same SDK as mlops-mcp, with two tools that do no work.
//   noop       { text: string } -> structuredContent { text }
//   echo_rows  { rows: number[][] } -> structuredContent { predictions: number[] } (one per row,
//              float32-valued like an ONNX regressor's output, so the answer has batch_predict's size)
// and a reference point between the floor and mlops-mcp:
//   naive_predict  { name, features: record } -> { prediction }: the issue's "naive predict tool
//              with zod input and output schemas", one onnxruntime run of nba_points v1 (the same
//              session options as mlops-mcp), no routing, validation beyond zod, logging or stats.
// In-process: import { createNoopServer }. Spawned: `node noop-server.mjs --stdio` or
// `node noop-server.mjs --http --port 0` (prints "listening on http://…/mcp" on stderr; one
// transport and one McpServer per session, like mlops-mcp's HTTP server).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');
let naiveModel = null;

/** nba_points v1, loaded on first use (one session per process, as mlops-mcp caches it). */
function naiveSession() {
  naiveModel ??= (async () => {
    process.env.ORT_DISABLE_TELEMETRY = '1';
    const ort = createRequire(import.meta.url)('onnxruntime-node');
    const manifest = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'models.json'), 'utf8'));
    const m = manifest.models.find((x) => x.name === 'nba_points' && x.version === '1');
    const session = await ort.InferenceSession.create(fs.readFileSync(path.join(FIXTURES, m.file)), { intraOpNumThreads: 1, interOpNumThreads: 1 });
    return { ort, session, features: m.feature_names, input: session.inputNames[0], output: session.outputNames[0] };
  })();
  return naiveModel;
}

export function createNoopServer() {
  const server = new McpServer({ name: 'bench-noop', version: '1.0.0' });
  server.registerTool(
    'noop',
    {
      title: 'No-op',
      description: 'Returns its input.',
      inputSchema: z.object({ text: z.string().max(256) }).strict(),
      outputSchema: { text: z.string() },
      annotations: { readOnlyHint: true },
    },
    async ({ text }) => ({ content: [{ type: 'text', text: `ok ${text}` }], structuredContent: { text } }),
  );
  server.registerTool(
    'echo_rows',
    {
      title: 'Echo rows',
      description: 'One number per row: the answer has the size of a batch_predict answer.',
      inputSchema: z.object({ rows: z.array(z.array(z.number())).min(1).max(10_000) }).strict(),
      outputSchema: { predictions: z.array(z.number()) },
      annotations: { readOnlyHint: true },
    },
    async ({ rows }) => {
      const predictions = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        let s = 0;
        for (const v of rows[i]) s += v;
        predictions[i] = Math.fround(s / 10);
      }
      return { content: [{ type: 'text', text: `${rows.length} rows echoed` }], structuredContent: { predictions } };
    },
  );
  server.registerTool(
    'naive_predict',
    {
      title: 'Naive predict',
      description: 'One onnxruntime run of nba_points v1 on named features.',
      inputSchema: z.object({ name: z.string(), features: z.record(z.string(), z.number()) }).strict(),
      outputSchema: { prediction: z.number() },
      annotations: { readOnlyHint: true },
    },
    async ({ features }) => {
      const { ort, session, features: names, input, output } = await naiveSession();
      const x = new Float32Array(names.length);
      for (let i = 0; i < names.length; i++) x[i] = features[names[i]];
      const result = await session.run({ [input]: new ort.Tensor('float32', x, [1, names.length]) });
      const prediction = result[output].data[0];
      return { content: [{ type: 'text', text: String(prediction) }], structuredContent: { prediction } };
    },
  );
  return server;
}

async function serveStdio() {
  const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
  const server = createNoopServer();
  await server.connect(new StdioServerTransport());
  process.stdin.once('end', () => process.exit(0));
}

async function serveHttp(port) {
  const { default: express } = await import('express');
  const { StreamableHTTPServerTransport } = await import('@modelcontextprotocol/sdk/server/streamableHttp.js');
  const { isInitializeRequest } = await import('@modelcontextprotocol/sdk/types.js');
  const sessions = new Map();
  const web = express();
  web.disable('x-powered-by');
  web.use('/mcp', express.json({ limit: '8mb' }));
  web.all('/mcp', async (req, res) => {
    try {
      const sid = req.headers['mcp-session-id'];
      if (sid) {
        const s = sessions.get(sid);
        if (!s) return void res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
        await s.transport.handleRequest(req, res, req.body);
        return;
      }
      if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
        return void res.status(400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: no session' }, id: null });
      }
      const server = createNoopServer();
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => sessions.set(id, { transport, server }),
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (e) {
      if (!res.headersSent) res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: String(e) }, id: null });
    }
  });
  const s = web.listen(port, '127.0.0.1', () => {
    process.stderr.write(`bench-noop listening on http://127.0.0.1:${s.address().port}/mcp\n`);
  });
  const stop = () => {
    for (const { server } of sessions.values()) server.close().catch(() => undefined);
    s.close(() => process.exit(0));
    s.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const portAt = args.indexOf('--port');
  const run = args.includes('--http') ? serveHttp(portAt >= 0 ? Number(args[portAt + 1]) : 0) : serveStdio();
  run.catch((e) => {
    process.stderr.write(`bench-noop: ${e?.stack ?? e}\n`);
    process.exit(1);
  });
}
