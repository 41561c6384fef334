import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { takeOverToolCalls, type DirectTool } from '../../src/mcp/dispatch.js';

/**
 * tools/call as the dispatcher takes it over, on a bare McpServer with three tools: a correct
 * one, one that answers outside its output schema, and one hidden from this caller.
 */
interface Seen {
  args: Record<string, unknown>;
  progressToken: unknown;
}

let client: Client;
let seen: Seen[];
let logged: Array<Record<string, unknown>>;

beforeEach(async () => {
  seen = [];
  logged = [];
  const server = new McpServer({ name: 'dispatch-test', version: '1.0.0' });
  const direct = new Map<string, DirectTool>();
  const add = (name: string, answer: (args: Record<string, unknown>) => Record<string, unknown>) => {
    const input = z.object({ n: z.number().int(), label: z.string().default('none') }).strict();
    const output = z.object({ doubled: z.number() });
    const call = async (args: Record<string, unknown>, extra: unknown): Promise<CallToolResult> => {
      seen.push({ args, progressToken: (extra as { _meta?: { progressToken?: unknown } })._meta?.progressToken });
      return { content: [{ type: 'text', text: name }], structuredContent: answer(args) };
    };
    server.registerTool(name, { description: name, inputSchema: input, outputSchema: output }, call);
    direct.set(name, { input, output, call });
  };
  add('double', (a) => ({ doubled: (a.n as number) * 2 }));
  add('broken', (a) => ({ doubled: String(a.n) }));
  add('throws', () => {
    throw new Error('boom at /secret/path');
  });
  const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) });
  takeOverToolCalls(
    server,
    direct,
    new Map([['secret', 'forbidden: secret needs the admin role; this caller has read. Use a token with more rights.']]),
    logger,
  );
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(clientSide);
});

afterEach(async () => {
  await client.close();
});

const code = (r: CallToolResult) => (r._meta?.['mlops-mcp/error'] as { code?: string } | undefined)?.code;
const text = (r: CallToolResult) => (r.content[0]?.type === 'text' ? r.content[0].text : '');
/** A tools/call with exactly these params (the Client's callTool would shape them). */
const raw = (params: Record<string, unknown>) =>
  client.request({ method: 'tools/call', params }, CallToolResultSchema, { timeout: 2000 }) as Promise<CallToolResult>;

describe('tools/call dispatch', () => {
  it('passes parsed arguments (defaults filled) and the progress token to the tool, and returns its answer', async () => {
    const r = (await client.callTool({ name: 'double', arguments: { n: 21 }, _meta: { progressToken: 'p-1' } })) as CallToolResult;
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({ doubled: 42 });
    expect(seen).toEqual([{ args: { n: 21, label: 'none' }, progressToken: 'p-1' }]);
  });

  it('answers an answer outside the output schema as an internal error, logged, never passed on', async () => {
    const r = (await client.callTool({ name: 'broken', arguments: { n: 3 } })) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(code(r)).toBe('internal');
    expect(text(r)).toMatch(/^internal: broken produced an answer outside its output schema/);
    expect(r.structuredContent).toBeUndefined();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ tool: 'broken', msg: 'a tool answered outside its output schema' });
  });

  it('answers a tool that throws as an internal error with an id, the error itself only in the log', async () => {
    const r = (await client.callTool({ name: 'throws', arguments: { n: 1 } })) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(code(r)).toBe('internal');
    const id = /error id ([0-9a-f-]{36})/.exec(text(r))?.[1];
    expect(id).toBeDefined();
    expect(text(r)).not.toContain('boom');
    expect(r._meta?.['mlops-mcp/error']).toEqual({ code: 'internal', error_id: id });
    expect(logged[0]).toMatchObject({ tool: 'throws', errorId: id, msg: 'tool failed' });
  });

  it('answers arguments that fail the input schema as `invalid_argument: <what>`, naming each argument and what to do', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { n: 1.5 },
        /^invalid_argument: double arguments: n: expected int, received number\. Correct them and call again \(tools\/list shows double's input schema\)\.$/,
      ],
      [{ n: 1, extra: true }, /^invalid_argument: double arguments: Unrecognized key: "extra"\. Correct them/],
      [{}, /^invalid_argument: double arguments: n: required \(expected number\)\. Correct them/],
    ];
    for (const [args, message] of cases) {
      const r = (await client.callTool({ name: 'double', arguments: args })) as CallToolResult;
      expect(r.isError, JSON.stringify(args)).toBe(true);
      expect(code(r)).toBe('invalid_argument');
      expect(text(r)).toMatch(message);
      expect(text(r)).not.toMatch(/MCP error|-32602|Input validation error/);
    }
    // Down the SDK's path (a call with related-task metadata), its error is worded the same way.
    const sdk = await raw({ name: 'double', arguments: { n: 'x' }, _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't' } } });
    expect(code(sdk)).toBe('invalid_argument');
    expect(text(sdk)).toMatch(/^invalid_argument: .*expected number, received string at n; correct the call and send it again\.$/);
    expect(seen).toEqual([]);
  });

  it("sends a call with anything beyond name, arguments and a progress token down the SDK's path", async () => {
    // Related-task metadata and an unknown params field: the SDK validates and answers these;
    // its output check shows which path ran (ours would answer internal).
    const related = await raw({ name: 'broken', arguments: { n: 1 }, _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't' } } });
    const extraField = await raw({ name: 'broken', arguments: { n: 1 }, hint: 1 });
    for (const r of [related, extraField]) {
      expect(r.isError).toBe(true);
      expect(code(r)).toBe('invalid_argument');
      expect(text(r)).toMatch(/^invalid_argument: .*(doubled|Structured content)/);
    }
    // Arguments that are not an object: the SDK's request schema refuses them, as without us.
    await expect(raw({ name: 'double', arguments: [1] })).rejects.toThrow(/expected record/);
    expect(seen.map((s) => s.args)).toEqual([
      { n: 1, label: 'none' },
      { n: 1, label: 'none' },
    ]); // broken ran twice; double never
  });

  it('answers a hidden tool with its reason and an unknown one as not_found', async () => {
    const hidden = await raw({ name: 'secret', arguments: {} });
    expect(hidden.isError).toBe(true);
    expect(code(hidden)).toBe('forbidden');
    expect(text(hidden)).toMatch(/^forbidden: secret needs the admin role/);
    const unknown = await raw({ name: 'nope', arguments: {} });
    expect(code(unknown)).toBe('not_found');
    expect(text(unknown)).toBe('not_found: no tool named "nope"; tools/list shows the tools this server offers to this caller.');
  });
});
