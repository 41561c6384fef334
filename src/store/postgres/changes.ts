import pg from 'pg';
import type { Logger } from '../../logger.js';
import type { ChangeFeed } from '../../serving/ports.js';
import { CHANGES_CHANNEL, clientConfig, type PostgresConnection } from './connection.js';

/** While the listening connection is down, the token moves on this often: every server re-reads state at most this stale. */
export const POLL_WHILE_DOWN_MS = 250;
const RECONNECT_MS = [100, 250, 500, 1000, 2000, 5000];

/**
 * Registry and traffic changes from every server: each write's transaction sends a notice
 * (pg_notify, delivered on commit) that a connection of this server LISTENs for. The token
 * moves on every notice, and on this server's own writes at once. When the listening connection
 * drops, notices may be missed: the token then moves every POLL_WHILE_DOWN_MS (caches are read
 * again from the database) until it is back, and once more when it is (a full resync).
 */
export class PostgresChangeFeed implements ChangeFeed {
  /** Notices received, plus the ticks of polling while not listening. */
  private seen = 0;
  private lastTick = -1;
  private listening = false;
  private client: pg.Client | null = null;
  private closed = false;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly c: PostgresConnection,
    private readonly logger: Logger,
  ) {}

  token(): number {
    if (!this.listening) {
      const tick = Math.floor(performance.now() / POLL_WHILE_DOWN_MS);
      if (tick !== this.lastTick) {
        this.lastTick = tick;
        this.seen++;
      }
    }
    // Both counters only grow, so their sum moves whenever either does.
    return this.seen + this.c.localWrites;
  }

  /** Connects and listens; resolves once listening (or rejects: the first connection is the caller's to report). */
  async start(): Promise<void> {
    const client = new pg.Client(clientConfig(this.url, 'mlops-mcp change listener'));
    client.on('notification', () => this.seen++);
    client.on('error', (e) => this.lost(client, e));
    client.on('end', () => this.lost(client, null));
    await client.connect();
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    this.client = client;
    this.listening = true;
    this.failures = 0;
    this.seen++; // what changed while no one listened is read again
  }

  private lost(client: pg.Client, e: Error | null): void {
    if (this.client !== client) return;
    this.client = null;
    this.listening = false;
    if (this.closed) return;
    this.logger.warn({ err: e ?? undefined }, 'lost the PostgreSQL change listener; polling until it is back');
    void client.end().catch(() => undefined);
    this.retry();
  }

  private retry(): void {
    const wait = RECONNECT_MS[Math.min(this.failures++, RECONNECT_MS.length - 1)];
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.closed) return;
      this.start().then(
        () => this.logger.info('PostgreSQL change listener back'),
        () => this.retry(),
      );
    }, wait).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
