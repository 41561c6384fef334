import pg from 'pg';
import type { Logger } from '../../logger.js';
import type { Leadership } from '../../mlflow/ports.js';
import { clientConfig } from './connection.js';

/**
 * The lead, as a session advisory lock held on a connection of its own: PostgreSQL gives it to
 * one session at a time and takes it back when that session ends (the server stopped, killed, or
 * cut off), so another server's next try takes it.
 */
export class PostgresLeadership implements Leadership {
  private client: pg.Client | null = null;
  private held = false;

  constructor(
    private readonly url: string,
    /** Names the lock (hashed to its key) and the connection in pg_stat_activity. */
    private readonly name: string,
    private readonly logger: Logger,
  ) {}

  async holds(): Promise<boolean> {
    if (this.held && this.client) return true;
    try {
      const client = this.client ?? (await this.connect());
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [this.name]);
      this.held = rows[0].ok;
      if (this.held) this.logger.info({ lead: this.name }, 'took the lead');
      return this.held;
    } catch (e) {
      this.drop();
      this.logger.warn({ err: e, lead: this.name }, 'could not ask for the lead');
      return false;
    }
  }

  async release(): Promise<void> {
    const client = this.client;
    this.drop();
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client(clientConfig(this.url, this.name));
    // A lost connection is a lost lead: PostgreSQL has released it, another server may hold it now.
    client.on('error', () => this.client === client && this.drop());
    client.on('end', () => this.client === client && this.drop());
    await client.connect();
    this.client = client;
    return client;
  }

  private drop(): void {
    if (this.held) this.logger.warn({ lead: this.name }, 'lost the lead');
    this.client = null;
    this.held = false;
  }
}
