import { randomUUID } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response } from 'express';
import type { Logger } from '../logger.js';
import type { Caller } from '../mcp/server.js';
import { rpcError } from './responses.js';

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastActive: number;
  /** The token that opened the session: only it may use the session. */
  callerName: string | undefined;
}

/** At the cap, a session quiet for this long gives its place to a new one. */
const RECLAIM_IDLE_MS = 60_000;

/**
 * Streamable HTTP sessions: one transport and one McpServer per session (never shared between
 * clients), at most `maxSessions` open (at most half of them per token), closed after `idleMs`
 * without a request, or at the cap after RECLAIM_IDLE_MS for a new session.
 */
export class McpSessions {
  private readonly sessions = new Map<string, Session>();
  /** Initializes admitted under the cap whose session is not in `sessions` yet. */
  private opening = 0;
  /** `opening` by token name. */
  private readonly openingBy = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly newServer: (caller: Caller | undefined) => McpServer,
    private readonly options: { maxSessions: number; idleMs: number; logger: Logger },
  ) {
    this.sweeper = setInterval(() => this.closeIdle(), Math.min(60_000, options.idleMs)).unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  async handle(req: Request, res: Response, caller: Caller | undefined): Promise<void> {
    const id = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(id) ? id[0] : id;
    if (sessionId) {
      const session = this.sessions.get(sessionId);
      if (!session) return void rpcError(res, 404, -32001, 'Session not found: start a new session with initialize');
      if (session.callerName !== caller?.name) return void rpcError(res, 403, -32000, 'This session belongs to another token');
      session.lastActive = Date.now();
      await session.transport.handleRequest(req, res, req.body);
      return;
    }
    if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
      return void rpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id header; the first request must be initialize');
    }
    // A token holds at most half the sessions: past that its own least recently active one
    // makes room, so one token (a read token, a leaking client) cannot lock the others out.
    if (caller?.name !== undefined) {
      const own = [...this.sessions].filter(([, x]) => x.callerName === caller.name);
      if (own.length + (this.openingBy.get(caller.name) ?? 0) >= this.tokenShare) {
        const oldest = own.sort(([, a], [, b]) => a.lastActive - b.lastActive)[0];
        if (oldest) this.closeSession(oldest[0], 'the token opened another past its share');
      }
    }
    // Concurrent initializes count against the cap from here on, not only once their session
    // exists: otherwise any await before onsessioninitialized lets all of them through.
    if (this.sessions.size + this.opening >= this.options.maxSessions && !this.reclaimIdle()) {
      return void rpcError(res, 503, -32000, 'Too many open sessions; close one (DELETE /mcp) or try again later');
    }
    this.opening++;
    const by = caller?.name;
    if (by !== undefined) this.openingBy.set(by, (this.openingBy.get(by) ?? 0) + 1);
    let admitted = true;
    const release = () => {
      if (admitted) {
        this.opening--;
        if (by !== undefined) this.openingBy.set(by, (this.openingBy.get(by) ?? 1) - 1);
      }
      admitted = false;
    };
    const server = this.newServer(caller);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => {
        release();
        this.sessions.set(sid, { transport, server, lastActive: Date.now(), callerName: caller?.name });
        this.options.logger.debug({ session: sid }, 'mcp session opened');
      },
    });
    transport.onclose = () => {
      const sid = transport.sessionId;
      if (sid && this.sessions.delete(sid)) this.options.logger.debug({ session: sid }, 'mcp session closed');
    };
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } finally {
      release();
    }
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(all.map((s) => s.server.close()));
  }

  private closeIdle(): void {
    const cutoff = Date.now() - this.options.idleMs;
    for (const [sid, s] of this.sessions) if (s.lastActive < cutoff) this.closeSession(sid, 'idle');
  }

  /** At the cap: closes the least recently active session if it has been quiet for RECLAIM_IDLE_MS (a client that went away). */
  private reclaimIdle(): boolean {
    let oldest: [string, Session] | null = null;
    for (const entry of this.sessions) if (!oldest || entry[1].lastActive < oldest[1].lastActive) oldest = entry;
    if (!oldest || oldest[1].lastActive > Date.now() - RECLAIM_IDLE_MS) return false;
    this.closeSession(oldest[0], 'the least recently active, reclaimed at the session cap');
    return true;
  }

  private closeSession(sid: string, why: string): void {
    const s = this.sessions.get(sid);
    if (!s) return;
    this.sessions.delete(sid);
    this.options.logger.debug({ session: sid, why }, 'mcp session closed by the server');
    s.server.close().catch((e: unknown) => this.options.logger.warn({ err: e }, 'closing a session failed'));
  }

  /** The most sessions one token may hold. */
  private get tokenShare(): number {
    return Math.max(1, Math.ceil(this.options.maxSessions / 2));
  }
}
