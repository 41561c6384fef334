import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import { serializeMessage, STDIO_DEFAULT_MAX_BUFFER_SIZE } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** JSON-RPC 2.0's codes for a line that is not JSON, and for JSON that is not a request. */
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;

/**
 * MCP over stdin/stdout: one JSON-RPC message per line, as the SDK's StdioServerTransport reads
 * and writes them, except that a line that is not a message is answered as JSON-RPC 2.0 says:
 * not JSON (`Infinity`, a cut line) → -32700 parse error, id null; JSON that is not a message
 * (an array, a wrong field) → -32600 invalid request, with the request's id when it has a usable
 * one, else null. The SDK's transport drops such a line without a word, and the client waits
 * out its timeout. Blank lines are skipped. A line longer than the SDK's buffer limit (10 MiB)
 * closes the transport, as the SDK's does.
 */
export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private buffer: Buffer | undefined;
  private started = false;

  constructor(
    private readonly stdin: Readable = process.stdin,
    private readonly stdout: Writable = process.stdout,
    private readonly maxBufferSize = STDIO_DEFAULT_MAX_BUFFER_SIZE,
  ) {}

  private readonly ondata = (chunk: Buffer): void => {
    const size = (this.buffer?.length ?? 0) + chunk.length;
    if (size > this.maxBufferSize) {
      this.buffer = undefined;
      this.onerror?.(new Error(`a stdin line exceeded the maximum size of ${this.maxBufferSize} bytes`));
      void this.close();
      return;
    }
    this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer) {
      const at = this.buffer.indexOf(0x0a);
      if (at === -1) break;
      const line = this.buffer.toString('utf8', 0, at).replace(/\r$/, '');
      this.buffer = this.buffer.subarray(at + 1);
      this.receive(line);
    }
  };

  private readonly onstreamerror = (error: Error): void => {
    this.onerror?.(error);
  };

  async start(): Promise<void> {
    if (this.started) throw new Error('StdioTransport already started');
    this.started = true;
    this.stdin.on('data', this.ondata);
    this.stdin.on('error', this.onstreamerror);
  }

  async close(): Promise<void> {
    this.stdin.off('data', this.ondata);
    this.stdin.off('error', this.onstreamerror);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.buffer = undefined;
    this.onclose?.();
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.stdout.write(serializeMessage(message))) resolve();
      else this.stdout.once('drain', resolve);
    });
  }

  /** One line: a message for the server, or the error JSON-RPC answers for it. */
  private receive(line: string): void {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      this.refuse(PARSE_ERROR, null, 'Parse error: the line is not JSON (send one JSON-RPC message per line)', e);
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (parsed.success) {
      this.onmessage?.(parsed.data);
      return;
    }
    const id = (value as { id?: unknown } | null)?.id;
    const usable = typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)) ? id : null;
    this.refuse(INVALID_REQUEST, usable, 'Invalid Request: the line is JSON but not a JSON-RPC 2.0 message', parsed.error);
  }

  private refuse(code: number, id: string | number | null, message: string, cause: unknown): void {
    this.onerror?.(cause instanceof Error ? cause : new Error(message));
    // The SDK's message types give every response an id; JSON-RPC's error for an unreadable request has id null.
    const answer = { jsonrpc: '2.0', id, error: { code, message } } as unknown as JSONRPCMessage;
    this.send(answer).catch((e: unknown) => this.onerror?.(e instanceof Error ? e : new Error(String(e))));
  }
}
