import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AppContext } from '../context.js';
import { createMcpServer, type Caller } from '../mcp/server.js';
import { VERSION } from '../version.js';
import { Authenticator, bearerAuth, hostCheck, hostChecker, originCheck, protectedResourceMetadata } from './auth.js';
import { Drain, DRAIN_MS, SETTLE_MS } from './drain.js';
import { OAuthVerifier } from './oauth.js';
import { openApiDocument } from './openapi.js';
import { isMcpPath, restError, rpcError } from './responses.js';
import { apiV1Router, invocationsRouter, markBody } from './rest.js';
import { restFastPath } from './rest-fast.js';
import { McpSessions } from './sessions.js';
import { signInThrough, statusPage } from './status-page.js';
import { TokenRegistry } from './tokens.js';

export interface HttpOptions {
  host: string;
  port: number;
  readOnly: boolean;
}

export interface RunningHttpServer {
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);
export const BODY_LIMIT = '4mb';
const BODY_LIMIT_BYTES = 4 * 1024 * 1024;
const TOO_LARGE = 'Request body over 4 MiB: send fewer rows per request (split a batch), or a CSV file by path for drift references';
const MAX_BATCH = 100;

export function allowedHostsFor(host: string, configured: string[] | undefined): string[] {
  if (configured) return configured;
  const loopback = ['localhost', '127.0.0.1', '[::1]'];
  return LOOPBACK.has(host) ? loopback : [...loopback, host.includes(':') ? `[${host}]` : host];
}

/**
 * The HTTP server: Streamable HTTP MCP at /mcp (bearer token when MLOPS_MCP_TOKEN is set),
 * /healthz and /metrics. Built like the SDK's createMcpExpressApp — Host-header validation before anything
 * reads the body — but composed here because createMcpExpressApp fixes express.json() at its
 * 100 kB default, too small for a batch of rows, and answers every refusal as JSON-RPC (REST
 * routes answer theirs in their own shape).
 */
export async function startHttpServer(app: AppContext, options: HttpOptions): Promise<RunningHttpServer> {
  const { config, logger } = app;
  const tokens = TokenRegistry.load(config.token, config.tokensFile);
  if (!LOOPBACK.has(options.host) && !tokens.enabled && !config.oauth) {
    throw new Error(
      `refusing to bind ${options.host} without a token: set MLOPS_MCP_TOKEN, MLOPS_MCP_TOKENS_FILE or MLOPS_MCP_OAUTH_ISSUER, or bind 127.0.0.1`,
    );
  }
  if (config.oauth && !config.publicUrl && WILDCARD.has(options.host)) {
    throw new Error(
      `MLOPS_MCP_OAUTH_ISSUER needs MLOPS_MCP_PUBLIC_URL when binding ${options.host}: tokens are minted for <public URL>/mcp, the URL clients reach this server at`,
    );
  }
  // Known once the server listens (the port may be chosen then); no request is read before.
  const listening = { url: '' };
  const publicUrl = () => config.publicUrl ?? listening.url;
  const verifier = config.oauth && new OAuthVerifier(config.oauth, publicUrl, logger);
  const auth = new Authenticator(
    tokens,
    verifier && config.oauth && { verifier, scopes: config.oauth.scopes, metadataUrl: () => `${publicUrl()}/.well-known/oauth-protected-resource/mcp` },
  );
  const allowedHosts = allowedHostsFor(options.host, config.allowedHosts);
  app.metrics.collectProcessMetrics();
  const sessions = new McpSessions((caller) => createMcpServer(app, { readOnly: options.readOnly, transport: 'http', caller }), {
    maxSessions: config.maxSessions,
    idleMs: config.sessionIdleMs,
    reclaimMs: config.sessionReclaimMs,
    logger,
    severalCallers: auth.severalCallers,
  });

  const web = express();
  web.disable('x-powered-by');
  // No ETag: it hashes every body (a sha1 of each scoring answer) for conditional GETs that
  // nothing here serves; the status page and OpenAPI document are small.
  web.set('etag', false);
  const checkHost = hostChecker(allowedHosts);
  web.use(hostCheck(checkHost));
  // Public metadata, readable from any origin (a browser-based MCP client discovers the issuer here).
  if (verifier && config.oauth) web.use(protectedResourceMetadata(verifier, config.oauth.scopes));
  web.use(originCheck(allowedHosts));
  const drain = new Drain();
  web.use(drain.middleware);

  // REST scoring: the same caller rules as /mcp (every role may score and read). First after the
  // checks every request gets: the hottest routes, matched before the probes and pages.
  const authed = auth.required ? [bearerAuth(auth)] : [];
  /** The caller (when one is required), then the body: what every POST route of ours reads first. */
  const authedBody = [...authed, express.json({ limit: BODY_LIMIT, verify: markBody })];
  web.use('/api/v1', ...authedBody, apiV1Router(app, { readOnly: options.readOnly }));
  web.use('/invocations', ...authedBody, invocationsRouter(app));

  web.get('/healthz', async (_req, res) => {
    try {
      await app.store.database.ping();
      res.json({ status: 'ok', version: VERSION, uptime_s: Math.round((Date.now() - app.startedAt.getTime()) / 1000) });
    } catch {
      res.status(503).json({ status: 'unavailable', detail: 'registry database does not answer' });
    }
  });

  // Prometheus text format; behind the token like /mcp when one is set.
  web.get('/metrics', ...authed, async (_req, res, next) => {
    try {
      res.type(app.metrics.registry.contentType).send(await app.metrics.registry.metrics());
    } catch (e) {
      next(e);
    }
  });

  web.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });

  // MLflow scoring-server probes: public, like /healthz.
  web.get('/ping', (_req, res) => {
    res.status(200).type('text/plain').send('\n');
  });
  web.get('/version', (_req, res) => {
    res.type('text/plain').send(VERSION);
  });

  // The status page: the dashboard for a browser, an MCP client of /mcp on this origin.
  web.get('/', statusPage(verifier && config.oauth ? signInThrough(verifier, config.oauth.statusPageClientId) : undefined));

  const mcp = express.Router();
  mcp.use(...authedBody);
  mcp.use((req, res, next) => {
    // JSON-RPC batches are gone from the current protocol; an old client's batch stays small.
    if (Array.isArray(req.body) && req.body.length > MAX_BATCH) {
      rpcError(res, 400, -32600, `A JSON-RPC batch of ${req.body.length} messages is over the limit of ${MAX_BATCH}`);
      return;
    }
    next();
  });
  mcp.all('/', (req, res, next) => {
    sessions.handle(req, res, res.locals.caller as Caller | undefined).catch(next);
  });
  web.use('/mcp', mcp);

  // Anything else: JSON in the REST error shape (Express would answer an HTML page).
  web.use((req, res) => {
    if (isMcpPath(req)) return void rpcError(res, 404, -32000, 'Not found: the MCP endpoint is /mcp');
    const route = `${req.method} ${req.path.slice(0, 200)}`;
    const message =
      req.method === 'POST' && /^\/(api\/v1\/models\/?)?invocations\/?$/.test(req.path)
        ? `${route} names no model: POST /invocations/{name} (this server serves many models; see /openapi.json).`
        : `No route ${route}; the REST routes are listed in /openapi.json, MCP is at /mcp.`;
    restError(res, 404, 'ENDPOINT_NOT_FOUND', message);
  });

  // Body parser and handler errors, without stacks: MLflow-style JSON on REST, JSON-RPC on /mcp.
  web.use((err: Error & { status?: number; type?: string }, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    if (!isMcpPath(req)) {
      const [status, code, message] =
        err.type === 'entity.too.large'
          ? [413, 'REQUEST_LIMIT_EXCEEDED', TOO_LARGE]
          : err.type === 'entity.parse.failed'
            ? [400, 'MALFORMED_REQUEST', 'Body is not valid JSON']
            : [500, 'INTERNAL_ERROR', 'Internal error; see the server log'];
      if (status === 500) logger.error({ err }, 'http request failed');
      restError(res, status, code, message);
      return;
    }
    if (err.type === 'entity.too.large') {
      rpcError(res, 413, -32600, TOO_LARGE);
    } else if (err.type === 'entity.parse.failed') {
      rpcError(res, 400, -32700, 'Parse error: body is not valid JSON');
    } else {
      logger.error({ err }, 'http request failed');
      rpcError(res, 500, -32603, 'Internal server error');
    }
  });

  // Slow clients (slowloris headers, a dribbled body) are cut by Node's headers and request
  // timeouts, which Node only checks every connectionsCheckingInterval (30 s by default, read
  // once when the server starts listening): check often enough that a short timeout holds.
  const { httpHeadersTimeoutMs: headersTimeout, httpRequestTimeoutMs: requestTimeout } = config;
  // Scoring requests are answered on plain node:http ahead of Express when they can be answered alike (rest-fast.ts).
  const fast = restFastPath(app, { checkHost, allowedHosts, auth, drain, limit: BODY_LIMIT_BYTES });
  const server: Server = createServer(
    { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.min(30_000, Math.min(headersTimeout, requestTimeout) / 4) },
    (req, res) => {
      if (!fast(req, res)) void web(req, res);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}`;
  listening.url = url;
  app.links.statusPage ??= `${url}/`;
  if (verifier) {
    // Found now so that a wrong issuer shows at start; requests find it again if it was down.
    verifier.issuerMetadata().then(
      () => logger.info({ issuer: verifier.issuer, resource: verifier.resource }, 'accepting OAuth access tokens'),
      (err: unknown) => logger.warn({ err, issuer: verifier.issuer }, 'the OAuth issuer does not answer yet; access tokens are refused (503) until it does'),
    );
  }
  logger.info({ url: `${url}/mcp`, auth: auth.required, oauth: verifier !== null, readOnly: options.readOnly }, 'listening');

  return {
    url,
    async close() {
      // Let the calls under way answer while every new request gets a 503 that says to retry
      // (with Connection: close), then stop taking connections, let those already accepted
      // send their request and get the 503 too, and only then close what is left. http.Server's
      // own close() (Node ≥ 19) closes idle keep-alive connections at once: a client that had
      // just sent a request on one got a reset instead of an answer.
      await drain.finish(DRAIN_MS);
      const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      await sessions.closeAll();
      server.closeAllConnections();
      await closed;
    },
  };
}
