#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig } from './config.js';
import { createAppContext } from './context.js';
import { loadDemo } from './demo.js';
import { startHttpServer } from './http/server.js';
import { createLogger } from './logger.js';
import { createMcpServer } from './mcp/server.js';
import { StdioTransport } from './mcp/stdio.js';
import { VERSION } from './version.js';

interface ServeOptions {
  stdio?: boolean;
  http?: boolean;
  host: string;
  port: number;
  /** true (or 'history'): the demo models and a week of their history; 'models': the models alone. */
  demo?: boolean | string;
  readOnly?: boolean;
}

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
  return n;
};

async function serve(options: ServeOptions): Promise<void> {
  const config = loadConfig();
  const readOnly = Boolean(options.readOnly) || config.readOnly;
  const logger = createLogger(config.logLevel);
  const app = await createAppContext(config, logger);
  if (options.demo) await loadDemo(app, { history: options.demo !== 'models' });

  let closeTransport: () => Promise<void> = async () => undefined;
  let stopping = false;
  const shutdown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ why }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 5000).unref();
    try {
      await closeTransport();
      await app.close();
    } finally {
      clearTimeout(force);
      logger.flush();
      process.exit(0);
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void shutdown(signal));

  if (options.http) {
    const http = await startHttpServer(app, { host: options.host, port: options.port, readOnly });
    const required = config.oauth
      ? ` (OAuth access tokens from ${config.oauth.issuer}${config.token || config.tokensFile ? ', or a configured token' : ''})`
      : config.token || config.tokensFile
        ? ' (bearer token required)'
        : '';
    process.stderr.write(`mlops-mcp ${VERSION} listening on ${http.url}/mcp${required}\n`);
    closeTransport = () => http.close();
  } else {
    const server = createMcpServer(app, { readOnly, transport: 'stdio' });
    await server.connect(new StdioTransport());
    logger.info({ readOnly }, 'serving MCP on stdio');
    closeTransport = () => server.close();
    // The client closing our stdin ends the session.
    process.stdin.once('end', () => void shutdown('stdin closed'));
  }
}

const program = new Command()
  .name('mlops-mcp')
  .description('MCP server to operate ML models: registry, promotion and rollback, health, alerts, ONNX serving')
  .version(VERSION);

program
  .command('serve')
  .description('Serve MCP over stdio (default) or Streamable HTTP at /mcp')
  .addOption(new Option('--stdio', 'serve over stdin/stdout (what MCP clients spawn)').conflicts('http'))
  .option('--http', 'serve Streamable HTTP at /mcp, plus /healthz')
  .option('--host <host>', 'HTTP bind address (a non-loopback address needs MLOPS_MCP_TOKEN, MLOPS_MCP_TOKENS_FILE or MLOPS_MCP_OAUTH_ISSUER)', '127.0.0.1')
  .option('--port <port>', 'HTTP port (0 picks a free one)', port, 3000)
  .addOption(
    new Option(
      '--demo [content]',
      'when the registry is empty, register and promote the demo models from fixtures/ and simulate a week of their use (predictions, outcomes, an A/B split, a drift run); "models": the models alone',
    ).choices(['history', 'models']),
  )
  .option('--read-only', 'serve only read tools (also MLOPS_MCP_READ_ONLY=1)')
  .action(async (options: ServeOptions) => {
    try {
      await serve(options);
    } catch (e) {
      process.stderr.write(`mlops-mcp: ${e instanceof ConfigError || e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    }
  });

await program.parseAsync();
