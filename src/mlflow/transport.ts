import { responses } from './schemas.js';
import type { z } from 'zod';

/**
 * HTTP to an MLflow tracking server: every request with a timeout (body included), retried with
 * exponential backoff on 5xx and connection errors only, MLflow's `{error_code, message}`
 * decoded into an MlflowError, JSON answers checked against their schema.
 */

export interface MlflowClientOptions {
  /** Base URL of the tracking server, e.g. `http://127.0.0.1:5000` (a path prefix is kept). */
  trackingUri: string;
  /** Per-attempt timeout, body included. Default 10 000 ms. */
  timeoutMs?: number;
  /** Extra attempts after the first on 5xx and connection errors. Default 3. */
  retries?: number;
  /** Injected fetch (tests count attempts through it). Default: the global fetch. */
  fetch?: typeof fetch;
}

/** Codes this client uses when MLflow itself gave none. */
export type TransportErrorCode = 'CONNECTION_ERROR' | 'TIMEOUT' | 'INVALID_RESPONSE' | 'UNSUPPORTED_ARTIFACT_URI';

export class MlflowError extends Error {
  override name = 'MlflowError';
  constructor(
    /** The endpoint, relative to `/api/2.0/mlflow/` (e.g. `registered-models/get`) or `mlflow-artifacts/...`. */
    readonly endpoint: string,
    /** HTTP status, undefined when no response came (connection error, timeout). */
    readonly status: number | undefined,
    /** MLflow's `error_code` (e.g. `RESOURCE_DOES_NOT_EXIST`), `HTTP_<status>` for a non-JSON error body, or a TransportErrorCode. */
    readonly errorCode: string,
    detail: string,
    /** True for 5xx and connection errors: the kind of failure that was retried and may pass later. */
    readonly retryable: boolean,
    /** How many attempts were made. */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    const where = status === undefined ? '' : ` (HTTP ${status})`;
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    super(`MLflow ${endpoint}: ${errorCode}${where}${tries}: ${truncate(detail)}`, options);
  }
}

export const isMlflowError = (e: unknown): e is MlflowError => e instanceof MlflowError;

const MAX_MESSAGE = 300;
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5_000;

function truncate(s: string): string {
  const oneLine = s.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_MESSAGE ? `${oneLine.slice(0, MAX_MESSAGE)}…` : oneLine;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Connection-level failures worth retrying: refused, reset, unreachable, DNS hiccups, undici socket errors. */
const RETRYABLE_CAUSE = /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|UND_ERR_)/;

function transportFailure(e: unknown): { code: 'TIMEOUT' | 'CONNECTION_ERROR'; detail: string } | undefined {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return { code: 'TIMEOUT', detail: 'no complete response within the timeout' };
  }
  if (e instanceof TypeError) {
    const cause = (e as { cause?: unknown }).cause as { code?: unknown; message?: unknown } | undefined;
    const code = typeof cause?.code === 'string' ? cause.code : undefined;
    if (code && RETRYABLE_CAUSE.test(code)) {
      return { code: 'CONNECTION_ERROR', detail: typeof cause?.message === 'string' ? cause.message : code };
    }
    if (code === undefined && e.message === 'fetch failed') return { code: 'CONNECTION_ERROR', detail: e.message };
  }
  return undefined;
}

type Query = Record<string, string | number | boolean | string[] | undefined>;

interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
  /** Full URL without query. */
  url: string;
  /** For error messages. */
  endpoint: string;
  query?: Query;
  json?: unknown;
  bytes?: Uint8Array;
}

export class MlflowTransport {
  readonly trackingUri: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: MlflowClientOptions) {
    this.trackingUri = options.trackingUri.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = Math.max(0, options.retries ?? 3);
    this.fetchImpl = options.fetch ?? globalThis.fetch;
  }

  /** `GET /health` answers `OK`: one attempt, never throws. */
  async health(): Promise<boolean> {
    try {
      const res = await this.fetchImpl(`${this.trackingUri}/health`, { signal: AbortSignal.timeout(this.timeoutMs) });
      const body = await res.text();
      return res.ok && body.trim() === 'OK';
    } catch {
      return false;
    }
  }

  async api<S extends z.ZodType>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    endpoint: string,
    schema: S,
    options: { query?: Query; json?: unknown } = {},
  ): Promise<z.output<S>> {
    const body = await this.request(
      {
        method,
        url: `${this.trackingUri}/api/2.0/mlflow/${endpoint}`,
        endpoint,
        query: options.query,
        json: options.json ?? (method === 'GET' ? undefined : {}),
      },
      'json',
    );
    return this.parse(schema, body, endpoint);
  }

  parse<S extends z.ZodType>(schema: S, body: unknown, endpoint: string): z.output<S> {
    const r = schema.safeParse(body);
    if (!r.success) {
      const issue = r.error.issues[0];
      const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unexpected shape';
      throw new MlflowError(endpoint, 200, 'INVALID_RESPONSE', `unexpected response body (${where})`, false, 1);
    }
    return r.data;
  }

  /** One logical request: timeouts, retries on 5xx/connection errors, MLflow errors decoded. */
  async request(spec: RequestSpec, expect: 'json' | 'bytes'): Promise<unknown> {
    const url = new URL(spec.url);
    for (const [k, v] of Object.entries(spec.query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, item);
      else url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { accept: expect === 'json' ? 'application/json' : '*/*' };
    let body: string | Uint8Array | undefined;
    if (spec.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(spec.json);
    } else if (spec.bytes !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = spec.bytes;
    }

    const attempts = this.retries + 1;
    for (let attempt = 1; ; attempt++) {
      let failure: MlflowError;
      try {
        const res = await this.fetchImpl(url, {
          method: spec.method,
          headers,
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        if (res.ok) {
          if (expect === 'bytes') return Buffer.from(await res.arrayBuffer());
          const text = await res.text();
          try {
            return text.trim() === '' ? {} : (JSON.parse(text) as unknown);
          } catch {
            throw new MlflowError(spec.endpoint, res.status, 'INVALID_RESPONSE', `response is not JSON: ${text}`, false, attempt);
          }
        }
        failure = await this.httpError(spec.endpoint, res, attempt);
      } catch (e) {
        if (isMlflowError(e)) throw e;
        const t = transportFailure(e);
        if (!t) throw e;
        failure = new MlflowError(spec.endpoint, undefined, t.code, t.detail, true, attempt, { cause: e });
      }
      if (!failure.retryable || attempt >= attempts) throw failure;
      await sleep(Math.min(BACKOFF_BASE_MS * 2 ** (attempt - 1), BACKOFF_CAP_MS));
    }
  }

  private async httpError(endpoint: string, res: Response, attempt: number): Promise<MlflowError> {
    let text = '';
    try {
      text = await res.text();
    } catch {
      // The body is only for the message.
    }
    let code = `HTTP_${res.status}`;
    let detail = text || res.statusText;
    try {
      const parsed = responses.error.safeParse(JSON.parse(text));
      if (parsed.success) {
        if (parsed.data.error_code) code = parsed.data.error_code;
        if (parsed.data.message !== undefined) detail = parsed.data.message;
      }
    } catch {
      // Not JSON (a proxy's HTML page, uvicorn's plain-text 403 for a refused Host header): keep the text.
    }
    return new MlflowError(endpoint, res.status, code, detail, res.status >= 500, attempt);
  }
}
