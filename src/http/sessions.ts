import { randomUUID } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response } from 'express';
import type { Logger } from '../logger.js';
import type { Caller } from '../mcp/server.js';
import { rpcError } from './responses.js';

/**
 * Who owns a session: a configured token by its name, an OAuth bearer by its subject (any of
 * their tokens, as they are renewed), kept apart so that a token named like a subject is not them.
 */
export const ownerOf = (caller: Caller | undefined): string | undefined => (caller?.name === undefined ? undefined : `${caller.via ?? 'token'}:${caller.name}`);

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastActive: number;
  /** Who opened the session (ownerOf): only they may use it. */
  owner: string | undefined;
  /** The role the session was opened with: its tools were chosen for it. */
  role: Caller['role'] | undefined;
  /**
   * Requests under way other than the standalone GET stream: a call (one waiting on a person's
   * approval, say) is never cut. An open GET stream is not a request under way: a client holds it
   * for as long as it likes, idle, and a session that holds nothing else is as quiet as one
   * without it (else a token holding idle streams would keep every place).
   */
  busy: number;
}

/**
 * Streamable HTTP sessions: one transport and one McpServer per session (never shared between
 * clients), at most `maxSessions` open, closed after `idleMs` without a request. At the cap a
 * new session takes the place of one with no call under way (an idle GET stream is none): past
 * a caller's share of half the cap (with several callers), or quiet for `reclaimMs`; else it is
 * refused (503). A session stays bound to the caller that opened it, and to its role.
 */
export class McpSessions {
  private readonly sessions = new Map<string, Session>();
  /** Initializes admitted under the cap whose session is not in `sessions` yet. */
  private opening = 0;
  /** `opening` by owner. */
  private readonly openingBy = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly newServer: (caller: Caller | undefined) => McpServer,
    private readonly options: {
      maxSessions: number;
      idleMs: number;
      /** At the cap, a session with no request under way for this long gives its place to a new one. */
      reclaimMs: number;
      logger: Logger;
      /** More than one caller may hold sessions (several tokens, or OAuth): sessions are shared out by caller. */
      severalCallers: boolean;
    },
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
      if (session.owner !== ownerOf(caller))
        return void rpcError(res, 403, -32000, 'This session belongs to another caller: start a session of your own with initialize');
      if (session.role !== caller?.role) {
        return void rpcError(
          res,
          403,
          -32000,
          `This session was opened with the ${session.role} role and this token grants ${caller?.role}: start a new session with initialize to use it`,
        );
      }
      session.lastActive = Date.now();
      // Busy while a call is under way (one waiting on a person's approval, say): never reclaimed then.
      // The GET stream's opening and closing count as use, the time it stays open does not.
      const call = req.method !== 'GET';
      if (call) session.busy++;
      res.once('close', () => {
        if (call) session.busy--;
        session.lastActive = Date.now();
      });
      await session.transport.handleRequest(req, res, req.body);
      return;
    }
    if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
      return void rpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id header; the first request must be initialize');
    }
    // Concurrent initializes count against the cap from here on, not only once their session
    // exists: otherwise any await before onsessioninitialized lets all of them through.
    const by = ownerOf(caller);
    if (this.sessions.size + this.opening >= this.options.maxSessions && !this.makeRoom(by)) {
      return void rpcError(res, 503, -32000, 'Too many open sessions; close one (DELETE /mcp) or try again later');
    }
    this.opening++;
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
        this.sessions.set(sid, { transport, server, lastActive: Date.now(), owner: by, role: caller?.role, busy: 0 });
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

  /**
   * At the cap, closes one session with no call under way to make room, if one may go: with
   * several callers, the caller's own least recently active session once it holds its share (half
   * the cap), else one of a caller holding more than its share (one caller cannot lock the others
   * out, idle GET streams or not); failing that, any session quiet for `reclaimMs` (a client that
   * went away, or one that only holds a GET stream).
   */
  private makeRoom(owner: string | undefined): boolean {
    const idle = [...this.sessions].filter(([, x]) => x.busy === 0).sort(([, a], [, b]) => a.lastActive - b.lastActive);
    if (this.options.severalCallers && owner !== undefined) {
      const held = new Map<string | undefined, number>();
      for (const x of this.sessions.values()) held.set(x.owner, (held.get(x.owner) ?? 0) + 1);
      for (const [name, n] of this.openingBy) held.set(name, (held.get(name) ?? 0) + n);
      const share = Math.max(1, Math.ceil(this.options.maxSessions / 2));
      const mine = (held.get(owner) ?? 0) >= share;
      const victim = idle.find(([, x]) => (mine ? x.owner === owner : (held.get(x.owner) ?? 0) > share));
      if (victim) {
        this.closeSession(victim[0], mine ? 'its caller opened another past its share' : 'its caller held more than its share');
        return true;
      }
    }
    const quiet = idle[0];
    if (!quiet || quiet[1].lastActive > Date.now() - this.options.reclaimMs) return false;
    this.closeSession(quiet[0], 'the least recently active, reclaimed at the session cap');
    return true;
  }

  private closeSession(sid: string, why: string): void {
    const s = this.sessions.get(sid);
    if (!s) return;
    this.sessions.delete(sid);
    this.options.logger.debug({ session: sid, why }, 'mcp session closed by the server');
    s.server.close().catch((e: unknown) => this.options.logger.warn({ err: e }, 'closing a session failed'));
  }
}
