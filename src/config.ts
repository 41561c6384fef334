import path from 'node:path';
import { z } from 'zod';

/** Parses "1", "true", "yes", "on" (any case) as true; "0", "false", "no", "off", "" as false. */
const booleanFlag = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off', ''].includes(v), {
    message: 'expected one of 1, true, yes, on, 0, false, no, off',
  })
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const positiveInt = (what: string) =>
  z.coerce
    .number({ message: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .positive(`${what} must be greater than 0`);

const positiveNumber = (what: string) => z.coerce.number({ message: `${what} must be a number` }).positive(`${what} must be greater than 0`);

const scopeName = (what: string) =>
  z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,200}$/, `${what} must be one OAuth scope: printable characters without spaces, quotes or backslashes`);

/** Asymmetric JWS algorithms (RFC 7518, RFC 8037): what access tokens may be signed with. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/**
 * Every environment variable the server reads, with its default. `.env.example` mirrors this
 * list (a test keeps the two in step).
 */
export const configSchema = z.object({
  MLOPS_MCP_HOME: z.string().min(1).default('./registry').describe('Directory that holds registry.db and artifacts/'),
  MLOPS_MCP_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'MLOPS_MCP_DATABASE_URL must be a PostgreSQL URL: postgresql://user:password@host:5432/database')
    .optional()
    .describe('PostgreSQL to keep the registry, prediction log, drift and alerts in (several servers share it); unset: SQLite in MLOPS_MCP_HOME'),
  MLOPS_MCP_ARTIFACTS_URL: z
    .string()
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/\S*)?$/, 'MLOPS_MCP_ARTIFACTS_URL must be s3://bucket or s3://bucket/prefix')
    .optional()
    .describe(
      "S3-compatible object storage shared by every server for ONNX artifacts (endpoint and credentials from the AWS SDK's variables, e.g. AWS_ENDPOINT_URL); MLOPS_MCP_HOME/artifacts is then a verified cache",
    ),
  MLOPS_MCP_DATABASE_POOL_SIZE: positiveInt('MLOPS_MCP_DATABASE_POOL_SIZE')
    .max(200)
    .default(10)
    .describe('Connections to PostgreSQL each server keeps at most (the prediction log writer and the change listener use one more each)'),
  MLOPS_MCP_ALLOWED_DIRS: z
    .string()
    .optional()
    .describe(
      "':'-separated directories that file arguments (artifact_path, csv_path) may reach; default: $MLOPS_MCP_HOME/imports (created) and the package's fixtures/",
    ),
  MLOPS_MCP_TOKEN: z.string().min(16, 'MLOPS_MCP_TOKEN must be at least 16 characters').optional().describe('Bearer token required on /mcp when set'),
  MLOPS_MCP_ALLOWED_HOSTS: z
    .string()
    .optional()
    .describe("','-separated Host header names accepted over HTTP; default: loopback names, plus the bind address when it is not loopback"),
  MLOPS_MCP_TOKENS_FILE: z.string().optional().describe('JSON file of named tokens with roles (read, operate, admin); see README, "Who may do what"'),
  MLOPS_MCP_APPROVAL: z
    .enum(['off', 'elicit'])
    .default('off')
    .describe("elicit: changes that reach production need a person's approval through MCP elicitation"),
  MLOPS_MCP_APPROVAL_TIMEOUT_SECONDS: positiveInt('MLOPS_MCP_APPROVAL_TIMEOUT_SECONDS')
    .default(300)
    .describe('An approval request unanswered this long counts as declined'),
  MLOPS_MCP_READ_ONLY: booleanFlag.default(false).describe('Serve only read tools'),
  MLOPS_MCP_SESSION_IDLE_SECONDS: positiveInt('MLOPS_MCP_SESSION_IDLE_SECONDS')
    .default(1800)
    .describe('Idle HTTP MCP sessions are closed after this many seconds'),
  MLOPS_MCP_MAX_SESSIONS: positiveInt('MLOPS_MCP_MAX_SESSIONS').default(100).describe('Open HTTP MCP sessions allowed at once'),
  MLOPS_MCP_SESSION_RECLAIM_SECONDS: positiveInt('MLOPS_MCP_SESSION_RECLAIM_SECONDS')
    .default(60)
    .describe('At the session cap, a session with no call under way for this long (an open GET stream alone is none) gives its place to a new one'),
  MLOPS_MCP_HTTP_HEADERS_TIMEOUT_SECONDS: positiveInt('MLOPS_MCP_HTTP_HEADERS_TIMEOUT_SECONDS')
    .default(20)
    .describe('A connection that has not sent complete request headers this long after the request began is answered 408 and closed (slow-header clients)'),
  MLOPS_MCP_HTTP_REQUEST_TIMEOUT_SECONDS: positiveInt('MLOPS_MCP_HTTP_REQUEST_TIMEOUT_SECONDS')
    .default(120)
    .describe('A request not received in full (headers and body) this long after it began is answered 408 and closed (slow-body clients)'),
  MODEL_CACHE_SIZE: positiveInt('MODEL_CACHE_SIZE').default(50).describe('ONNX sessions kept loaded (LRU)'),
  MODEL_CACHE_TTL: positiveInt('MODEL_CACHE_TTL').default(3600).describe('Seconds an unused ONNX session stays loaded'),
  MODEL_THREADS: positiveInt('MODEL_THREADS')
    .max(64)
    .default(1)
    .describe("onnxruntime intra-op threads per session; 1 keeps one run on its model process's thread (onnxruntime's own default spins a thread per core)"),
  MODEL_PROCESSES: positiveInt('MODEL_PROCESSES')
    .max(64)
    .default(2)
    .describe('Processes that run models (each loads the models it runs); one model runs in all but one of them at most, so a slow one cannot hold every run'),
  MODEL_INLINE_MAX_US: z.coerce
    .number({ message: 'MODEL_INLINE_MAX_US must be a number' })
    .int('MODEL_INLINE_MAX_US must be a whole number')
    .min(0, 'MODEL_INLINE_MAX_US must be 0 or more')
    .max(10_000, 'MODEL_INLINE_MAX_US may not exceed 10000: a run inline holds every other request for its time')
    .default(250)
    .describe(
      "A model also runs on the server's own thread (no round trip to a model process) when its graph has only fixed-cost operators and its process timed a 64-row run within this many µs; runs up to the largest of 64 / 1 024 / 16 384 rows timed within it; 0: every run in a model process",
    ),
  MODEL_RUN_TIMEOUT_MS: positiveInt('MODEL_RUN_TIMEOUT_MS')
    .default(10_000)
    .describe(
      "A model run (a predict, a batch's run of one version, a health probe, registration's run on zeros) past this many ms is stopped: the call fails and its model process is replaced",
    ),
  MODEL_LOAD_TIMEOUT_MS: positiveInt('MODEL_LOAD_TIMEOUT_MS')
    .default(30_000)
    .describe('Loading a model (to serve it, or to check it at registration) past this many ms is stopped the same way'),
  MODEL_MEMORY_MB: positiveInt('MODEL_MEMORY_MB')
    .min(128, 'MODEL_MEMORY_MB must be at least 128: Node and onnxruntime take about 100 MiB of it before any model')
    .default(1024)
    .describe(
      'Memory each model process may allocate (its data segment, RLIMIT_DATA, on Linux): its models, every tensor of a run, ~100 MiB of Node and onnxruntime; registration refuses a model that needs more to load or to run on one row',
    ),
  MODEL_MAX_OUTPUT_MB: positiveInt('MODEL_MAX_OUTPUT_MB').default(64).describe('The outputs of one model run, together, in MiB; a run that answers more fails'),
  MLOPS_MCP_MAX_MODEL_MB: positiveInt('MLOPS_MCP_MAX_MODEL_MB')
    .max(2047, 'MLOPS_MCP_MAX_MODEL_MB may not exceed 2047: protobuf, and so ONNX, holds at most 2 GiB in one file')
    .default(2047)
    .describe('Largest model register_model makes self-contained from external data (the .onnx file with its data files inlined), in MiB'),
  PREDICTION_LOG_FLUSH_MS: positiveInt('PREDICTION_LOG_FLUSH_MS')
    .default(50)
    .describe('Pending predictions are written this often, and sooner once 128 requests are pending (a crash loses at most one interval)'),
  PREDICTION_LOG_MAX_ROWS: positiveInt('PREDICTION_LOG_MAX_ROWS')
    .default(1_000_000)
    .describe('The prediction log keeps the newest this many predictions (oldest requests deleted first, a batch as a whole)'),
  PREDICTION_LOG_MAX_AGE_DAYS: positiveNumber('PREDICTION_LOG_MAX_AGE_DAYS').default(30).describe('Logged predictions older than this are deleted'),
  ALERT_WINDOW_SECONDS: positiveInt('ALERT_WINDOW_SECONDS').default(300).describe('Window over which error rate and p95 latency are checked for alerts'),
  ALERT_MIN_REQUESTS: positiveInt('ALERT_MIN_REQUESTS').default(20).describe('Requests a model needs in the window before error-rate and latency alerts apply'),
  ALERT_ERROR_RATE: positiveNumber('ALERT_ERROR_RATE')
    .max(1, 'ALERT_ERROR_RATE is a fraction between 0 and 1')
    .default(0.05)
    .describe('Error rate above which high_error_rate (critical) is raised'),
  ALERT_P95_LATENCY_MS: positiveNumber('ALERT_P95_LATENCY_MS').default(100).describe('p95 latency above which high_latency (warning) is raised'),
  ALERT_PERFORMANCE_DROP: positiveNumber('ALERT_PERFORMANCE_DROP')
    .max(1, 'ALERT_PERFORMANCE_DROP is a fraction between 0 and 1')
    .default(0.02)
    .describe('A version metric this fraction worse than its registered baseline raises performance_degradation (warning)'),
  ALERT_MIN_OUTCOMES: positiveInt('ALERT_MIN_OUTCOMES').default(100).describe('Outcomes a version needs before performance alerts apply'),
  ALERT_OUTCOME_WINDOW: positiveInt('ALERT_OUTCOME_WINDOW')
    .default(1000)
    .describe("Each version's newest outcomes that alerts, health_check and /metrics judge"),
  ALERT_CACHE_HIT_RATE: positiveNumber('ALERT_CACHE_HIT_RATE')
    .max(1, 'ALERT_CACHE_HIT_RATE is a fraction between 0 and 1')
    .default(0.7)
    .describe('ONNX session cache hit rate over the alert window below which cache_hit_rate_low (warning) is raised'),
  HEALTH_MIN_FREE_DISK_MB: positiveNumber('HEALTH_MIN_FREE_DISK_MB')
    .default(500)
    .describe('Free disk below which storage is degraded (unhealthy below a tenth of it)'),
  MLFLOW_TRACKING_URI: z
    .url({ message: 'MLFLOW_TRACKING_URI must be an http(s) URL, e.g. http://127.0.0.1:5000' })
    .optional()
    .describe('Mirror the registry into this MLflow server, and import from it'),
  MLFLOW_SYNC_INTERVAL_MS: positiveInt('MLFLOW_SYNC_INTERVAL_MS').default(2000).describe('How often pending changes are pushed to MLflow'),
  MLOPS_MCP_ALERT_WEBHOOK_URL: z
    .url({ message: 'MLOPS_MCP_ALERT_WEBHOOK_URL must be an http(s) URL' })
    .optional()
    .describe('POST every alert raised, as JSON, to this URL (through an outbox: in order, retried, never blocking a request)'),
  MLOPS_MCP_ALERTMANAGER_URL: z
    .url({ message: 'MLOPS_MCP_ALERTMANAGER_URL must be an http(s) URL, e.g. http://alertmanager:9093' })
    .optional()
    .describe('Post every alert raised to this Alertmanager (its v2 API), through the same outbox'),
  MLOPS_MCP_ALERT_MIN_SEVERITY: z
    .enum(['info', 'warning', 'critical'])
    .default('warning')
    .describe('Alerts below this severity are not pushed (they are still kept and listed by get_alerts)'),
  MLOPS_MCP_PUBLIC_URL: z
    .url({ message: 'MLOPS_MCP_PUBLIC_URL must be an http(s) URL, e.g. https://mlops.example.com' })
    .optional()
    .describe("This server's base URL as people and clients reach it (links in pushed alerts); default http://<host>:<port> of the HTTP server"),
  MLOPS_MCP_OAUTH_ISSUER: z
    .url({ message: 'MLOPS_MCP_OAUTH_ISSUER must be the issuer URL of an OAuth 2.1 / OpenID authorization server, e.g. https://login.example.com' })
    .optional()
    .describe(
      'Accept access tokens from this authorization server on /mcp and the REST routes (an OAuth 2.1 resource server): tokens must be minted for <public URL>/mcp',
    ),
  MLOPS_MCP_OAUTH_SCOPE_READ: scopeName('MLOPS_MCP_OAUTH_SCOPE_READ').default('mlops:read').describe('The OAuth scope that grants the read role'),
  MLOPS_MCP_OAUTH_SCOPE_OPERATE: scopeName('MLOPS_MCP_OAUTH_SCOPE_OPERATE').default('mlops:operate').describe('The OAuth scope that grants the operate role'),
  MLOPS_MCP_OAUTH_SCOPE_ADMIN: scopeName('MLOPS_MCP_OAUTH_SCOPE_ADMIN').default('mlops:admin').describe('The OAuth scope that grants the admin role'),
  MLOPS_MCP_OAUTH_ALGORITHMS: z
    .string()
    .default(JWT_ALGORITHMS.join(','))
    .transform((v) =>
      v
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean),
    )
    .refine((list) => list.length > 0 && list.every((a) => (JWT_ALGORITHMS as readonly string[]).includes(a)), {
      message: `MLOPS_MCP_OAUTH_ALGORITHMS must be ','-separated signature algorithms among ${JWT_ALGORITHMS.join(', ')} (never none, nor a shared-secret HS*)`,
    })
    .describe('Signature algorithms accepted on JWT access tokens'),
  MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_ID: z
    .string()
    .optional()
    .describe(
      "Opaque (non-JWT) access tokens are checked at the issuer's introspection endpoint (RFC 7662), authenticated as this client; unset: only JWT access tokens are accepted",
    ),
  MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_SECRET: z
    .string()
    .optional()
    .describe('The secret of MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_ID (HTTP Basic at the introspection endpoint)'),
  MLOPS_MCP_OAUTH_STATUS_PAGE_CLIENT_ID: z
    .string()
    .max(200)
    .optional()
    .describe(
      "A public client (PKCE, redirect URI <public URL>/) registered at the issuer for the status page's sign-in; unset: the page registers itself (dynamic client registration)",
    ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level (logs go to stderr)'),
});

export type RawConfig = z.infer<typeof configSchema>;

export interface Config {
  home: string;
  dbPath: string;
  /** The PostgreSQL store's URL; undefined: SQLite at dbPath. */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  /** s3://bucket/prefix for shared artifacts; undefined: artifacts only in artifactsDir. */
  artifactsUrl: string | undefined;
  artifactsDir: string;
  /** Where files to register or read come from by default (created at start; an allowed directory unless MLOPS_MCP_ALLOWED_DIRS says otherwise). */
  importsDir: string;
  allowedDirs: string[];
  token: string | undefined;
  tokensFile: string | undefined;
  approval: 'off' | 'elicit';
  approvalTimeoutMs: number;
  allowedHosts: string[] | undefined;
  readOnly: boolean;
  sessionIdleMs: number;
  sessionReclaimMs: number;
  maxSessions: number;
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  modelCacheSize: number;
  modelCacheTtlMs: number;
  modelThreads: number;
  modelProcesses: number;
  modelInlineMaxMicros: number;
  modelRunTimeoutMs: number;
  modelLoadTimeoutMs: number;
  modelMemoryMb: number;
  modelMaxOutputBytes: number;
  maxModelBytes: number;
  predictionLogFlushMs: number;
  predictionLogMaxRows: number;
  predictionLogMaxAgeMs: number;
  alertWindowMs: number;
  alertMinRequests: number;
  alertErrorRate: number;
  alertP95LatencyMs: number;
  alertPerformanceDrop: number;
  alertMinOutcomes: number;
  alertOutcomeWindow: number;
  alertCacheHitRate: number;
  minFreeDiskMb: number;
  logLevel: RawConfig['LOG_LEVEL'];
  mlflowTrackingUri: string | undefined;
  mlflowSyncIntervalMs: number;
  alertWebhookUrl: string | undefined;
  alertmanagerUrl: string | undefined;
  alertMinSeverity: 'info' | 'warning' | 'critical';
  publicUrl: string | undefined;
  /** Set with MLOPS_MCP_OAUTH_ISSUER: the HTTP server is an OAuth resource server of that issuer. */
  oauth: OAuthConfig | null;
}

export interface OAuthConfig {
  issuer: string;
  /** The scope that grants each role. */
  scopes: { read: string; operate: string; admin: string };
  algorithms: string[];
  /** Client credentials for the issuer's introspection endpoint; null: opaque tokens are refused. */
  introspection: { clientId: string; clientSecret: string } | null;
  /** A pre-registered public client for the status page; null: the page registers itself. */
  statusPageClientId: string | null;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The directory under MLOPS_MCP_HOME meant for files to import, allowed by default. */
const IMPORTS_DIR = 'imports';

/** The package root (one level above src/ or dist/), where fixtures/ lives. */
export const packageRoot = path.resolve(import.meta.dirname, '..');

/**
 * Reads the configuration once from the environment. Throws ConfigError listing every bad
 * variable, so a typo is reported at start and not at the first tool call.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  // An empty variable (`TOKEN=` in a client's env block) means "not set", not "set to nothing".
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(given);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const raw = parsed.data;
  // Node's http.Server refuses a headers timeout longer than the request timeout; say so by name.
  if (raw.MLOPS_MCP_HTTP_HEADERS_TIMEOUT_SECONDS > raw.MLOPS_MCP_HTTP_REQUEST_TIMEOUT_SECONDS) {
    throw new ConfigError(
      `invalid configuration:\n  MLOPS_MCP_HTTP_HEADERS_TIMEOUT_SECONDS: must not exceed MLOPS_MCP_HTTP_REQUEST_TIMEOUT_SECONDS (${raw.MLOPS_MCP_HTTP_REQUEST_TIMEOUT_SECONDS})`,
    );
  }
  const introspectionId = raw.MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_ID;
  const introspectionSecret = raw.MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_SECRET;
  if ((introspectionId === undefined) !== (introspectionSecret === undefined)) {
    throw new ConfigError(
      'invalid configuration:\n  MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_ID and MLOPS_MCP_OAUTH_INTROSPECTION_CLIENT_SECRET: set both, or neither',
    );
  }
  const scopes = { read: raw.MLOPS_MCP_OAUTH_SCOPE_READ, operate: raw.MLOPS_MCP_OAUTH_SCOPE_OPERATE, admin: raw.MLOPS_MCP_OAUTH_SCOPE_ADMIN };
  if (new Set(Object.values(scopes)).size !== 3)
    throw new ConfigError('invalid configuration:\n  MLOPS_MCP_OAUTH_SCOPE_READ, _OPERATE and _ADMIN: each role needs a scope of its own');
  const home = path.resolve(cwd, raw.MLOPS_MCP_HOME);
  // Not the working directory by default: that is where .env files and the like live.
  const allowedDirs = raw.MLOPS_MCP_ALLOWED_DIRS
    ? raw.MLOPS_MCP_ALLOWED_DIRS.split(':')
        .filter(Boolean)
        .map((d) => path.resolve(cwd, d))
    : [path.join(home, IMPORTS_DIR), path.join(packageRoot, 'fixtures')];
  const allowedHosts = raw.MLOPS_MCP_ALLOWED_HOSTS?.split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  return {
    home,
    dbPath: path.join(home, 'registry.db'),
    databaseUrl: raw.MLOPS_MCP_DATABASE_URL,
    databasePoolSize: raw.MLOPS_MCP_DATABASE_POOL_SIZE,
    artifactsUrl: raw.MLOPS_MCP_ARTIFACTS_URL,
    artifactsDir: path.join(home, 'artifacts'),
    importsDir: path.join(home, IMPORTS_DIR),
    allowedDirs,
    token: raw.MLOPS_MCP_TOKEN,
    tokensFile: raw.MLOPS_MCP_TOKENS_FILE && path.resolve(cwd, raw.MLOPS_MCP_TOKENS_FILE),
    approval: raw.MLOPS_MCP_APPROVAL,
    approvalTimeoutMs: raw.MLOPS_MCP_APPROVAL_TIMEOUT_SECONDS * 1000,
    allowedHosts: allowedHosts?.length ? allowedHosts : undefined,
    readOnly: raw.MLOPS_MCP_READ_ONLY,
    sessionIdleMs: raw.MLOPS_MCP_SESSION_IDLE_SECONDS * 1000,
    sessionReclaimMs: raw.MLOPS_MCP_SESSION_RECLAIM_SECONDS * 1000,
    maxSessions: raw.MLOPS_MCP_MAX_SESSIONS,
    httpHeadersTimeoutMs: raw.MLOPS_MCP_HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
    httpRequestTimeoutMs: raw.MLOPS_MCP_HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
    modelCacheSize: raw.MODEL_CACHE_SIZE,
    modelCacheTtlMs: raw.MODEL_CACHE_TTL * 1000,
    modelThreads: raw.MODEL_THREADS,
    modelProcesses: raw.MODEL_PROCESSES,
    modelInlineMaxMicros: raw.MODEL_INLINE_MAX_US,
    modelRunTimeoutMs: raw.MODEL_RUN_TIMEOUT_MS,
    modelLoadTimeoutMs: raw.MODEL_LOAD_TIMEOUT_MS,
    modelMemoryMb: raw.MODEL_MEMORY_MB,
    modelMaxOutputBytes: raw.MODEL_MAX_OUTPUT_MB * 1024 * 1024,
    maxModelBytes: raw.MLOPS_MCP_MAX_MODEL_MB * 1024 * 1024,
    predictionLogFlushMs: raw.PREDICTION_LOG_FLUSH_MS,
    predictionLogMaxRows: raw.PREDICTION_LOG_MAX_ROWS,
    predictionLogMaxAgeMs: raw.PREDICTION_LOG_MAX_AGE_DAYS * 86_400_000,
    alertWindowMs: raw.ALERT_WINDOW_SECONDS * 1000,
    alertMinRequests: raw.ALERT_MIN_REQUESTS,
    alertErrorRate: raw.ALERT_ERROR_RATE,
    alertP95LatencyMs: raw.ALERT_P95_LATENCY_MS,
    alertPerformanceDrop: raw.ALERT_PERFORMANCE_DROP,
    alertMinOutcomes: raw.ALERT_MIN_OUTCOMES,
    alertOutcomeWindow: raw.ALERT_OUTCOME_WINDOW,
    alertCacheHitRate: raw.ALERT_CACHE_HIT_RATE,
    minFreeDiskMb: raw.HEALTH_MIN_FREE_DISK_MB,
    logLevel: raw.LOG_LEVEL,
    mlflowTrackingUri: raw.MLFLOW_TRACKING_URI,
    mlflowSyncIntervalMs: raw.MLFLOW_SYNC_INTERVAL_MS,
    alertWebhookUrl: raw.MLOPS_MCP_ALERT_WEBHOOK_URL,
    alertmanagerUrl: raw.MLOPS_MCP_ALERTMANAGER_URL,
    alertMinSeverity: raw.MLOPS_MCP_ALERT_MIN_SEVERITY,
    publicUrl: raw.MLOPS_MCP_PUBLIC_URL?.replace(/\/+$/, ''),
    oauth: raw.MLOPS_MCP_OAUTH_ISSUER
      ? {
          issuer: raw.MLOPS_MCP_OAUTH_ISSUER,
          scopes,
          algorithms: raw.MLOPS_MCP_OAUTH_ALGORITHMS,
          introspection: introspectionId && introspectionSecret ? { clientId: introspectionId, clientSecret: introspectionSecret } : null,
          statusPageClientId: raw.MLOPS_MCP_OAUTH_STATUS_PAGE_CLIENT_ID ?? null,
        }
      : null,
  };
}
