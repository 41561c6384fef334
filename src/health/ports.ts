/** What health checks and probes need of the database, whatever the engine. */
export interface DatabaseStatus {
  engine: 'sqlite' | 'postgresql';
  /** The engine's own version (SQLite's library, PostgreSQL's server). */
  serverVersion: string;
  schemaVersion: number;
  /** One line for a person: where it is and how it is set up, with no secret in it. */
  detail: string;
}

export interface DatabaseProbe {
  /** Answers once the database answers a query; throws (a DomainError) when it does not. */
  ping(): Promise<void>;
  status(): Promise<DatabaseStatus>;
}
