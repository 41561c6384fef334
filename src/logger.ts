import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs to stderr: stdout is the MCP channel in stdio mode. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'mlops-mcp' } }, pino.destination({ fd: 2, sync: false }));
}
