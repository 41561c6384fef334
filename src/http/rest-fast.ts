import type { IncomingMessage, ServerResponse } from 'node:http';
import querystring from 'node:querystring';
import type { AppContext } from '../context.js';
import { DomainError } from '../errors.js';
import { protoKeyPath, protoKeyProblem } from '../proto-key.js';
import { isAuthFailure, originProblem, refusalCodes, type Authenticator } from './auth.js';
import type { Drain } from './drain.js';
import { sendJson, sendRestError } from './responses.js';
import { errorAnswer, routingKeyOf, scoreInvocation, scorePredict } from './rest-score.js';

/**
 * REST scoring on plain node:http, in front of Express: POST /invocations/{name},
 * /api/v1/models/{name}/invocations and /api/v1/predict/{name}, the requests an application sends
 * by the thousand. Express, its router and body-parser cost more than scoring itself (about half
 * of the server's CPU under load); here a request is matched by one regular expression, its body
 * read into one buffer and parsed once, and its answer serialized once.
 *
 * It takes only the requests whose handling it can make the same as the Express routes' without
 * their code: a path that matches exactly (a model name without escapes), a body declared by
 * Content-Length (1 byte to the limit), uncompressed JSON in UTF-8. Anything else (a chunked or
 * compressed body, a body over the limit, another content type or charset, a trailing slash, an
 * escaped name) goes on to Express, which answers it as always. What it takes gets the same
 * checks in the same order, with the same answers: Host, Origin, shutdown, caller (a token or an
 * OAuth access token), JSON, then the route's own.
 */

export interface FastPathOptions {
  checkHost: (header: string | undefined) => string | null;
  allowedHosts: readonly string[];
  /** Who may call: the same Authenticator as the Express routes'. */
  auth: Authenticator;
  drain: Drain;
  /** Largest body, in bytes (Express's express.json limit). */
  limit: number;
}

const NAME = '([A-Za-z0-9][A-Za-z0-9._-]{0,127})';
const ROUTE = new RegExp(`^/(?:invocations/${NAME}|api/v1/models/${NAME}/invocations|api/v1/predict/${NAME})(?:\\?(.*))?$`);
/** What body-parser reads as JSON in UTF-8 (its default charset); other parameters go to Express. */
const JSON_TYPE = /^application\/json(?:\s*;\s*charset=(?:"utf-8"|utf-8))?\s*$/i;
const LENGTH = /^[0-9]{1,9}$/;

/** A handler that answers the requests it takes and returns true, or returns false for Express to answer. */
export function restFastPath(app: AppContext, options: FastPathOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { checkHost, allowedHosts, auth, drain, limit } = options;
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const route = ROUTE.exec(req.url ?? '');
    if (!route) return false;
    const h = req.headers;
    const length = h['content-length'];
    if (length === undefined || !LENGTH.test(length) || Number(length) === 0 || Number(length) > limit) return false;
    if (h['transfer-encoding'] !== undefined || (h['content-encoding'] !== undefined && h['content-encoding'].toLowerCase() !== 'identity')) return false;
    if (!JSON_TYPE.test(h['content-type'] ?? '')) return false;

    const refused = checkHost(h.host) ?? originProblem(allowedHosts, h.origin);
    if (refused !== null) {
      sendRestError(res, 403, 'PERMISSION_DENIED', refused);
      return true;
    }
    if (!drain.admit(res)) return true;
    const answer = () => answerRequest(app, req, res, route);
    if (!auth.required) {
      answer();
      return true;
    }
    auth.authenticate(h.authorization).then(
      (caller) => {
        if (!isAuthFailure(caller)) return answer();
        if (caller.challenge) res.setHeader('WWW-Authenticate', caller.challenge);
        sendRestError(res, caller.status, refusalCodes(caller).rest, caller.message);
      },
      (e: unknown) => internalError(app, res, e),
    );
    return true;
  };
}

/** A request let in: its body read, parsed and scored, and the answer sent. */
function answerRequest(app: AppContext, req: IncomingMessage, res: ServerResponse, route: RegExpExecArray): void {
  const name = route[1] ?? route[2] ?? route[3];
  const predict = route[3] !== undefined;
  const query = route[4];
  readBody(req, (failure, body) => {
    // The request broke off (Node's parser or the socket).
    if (failure) return internalError(app, res, failure);
    const parsed = parseJson(body as Buffer);
    if (parsed === MALFORMED) return void sendRestError(res, 400, 'MALFORMED_REQUEST', 'Body is not valid JSON');
    const version = query === undefined ? undefined : queryVersion(query);
    const routingKey = routingKeyOf(req.headers['x-routing-key']);
    score(app, name, predict, parsed, body as Buffer, { version, routingKey }).then(
      (answer) => sendJson(res, 200, JSON.stringify(answer)),
      (e: unknown) => {
        const [status, code, message] = errorAnswer(e, app);
        sendRestError(res, status, code, message);
      },
    );
  });
}

/** A failure outside the route's own, as Express's error handler answers it on REST. */
function internalError(app: AppContext, res: ServerResponse, err: unknown): void {
  app.logger.error({ err }, 'http request failed');
  if (!res.headersSent) sendRestError(res, 500, 'INTERNAL_ERROR', 'Internal error; see the server log');
}

async function score(
  app: AppContext,
  name: string,
  predict: boolean,
  raw: unknown,
  text: Buffer,
  options: { version: string | undefined; routingKey: string | undefined },
): Promise<object> {
  // A `__proto__` key would be dropped by zod's records without a word: refused by name, as the
  // Express routes refuse it (looked for only when the text may hold one).
  if (text.includes('__proto__') || text.includes('\\u')) {
    const at = protoKeyPath(raw);
    if (at !== null) throw new DomainError('invalid_argument', protoKeyProblem(at));
  }
  return predict ? scorePredict(app, name, raw, options) : scoreInvocation(app, name, raw, options);
}

/** The query's `version` as Express's query parser gives it to the routes: a string when it appears once. */
function queryVersion(query: string): string | undefined {
  const v = querystring.parse(query).version;
  return typeof v === 'string' ? v : undefined;
}

function readBody(req: IncomingMessage, done: (failure: Error | null, body?: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (failure: Error | null) => {
    if (finished) return;
    finished = true;
    done(failure, failure ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
  };
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
  });
  req.once('end', () => finish(null));
  req.once('error', (e) => finish(e));
  req.once('aborted', () => finish(new Error('request aborted')));
}

const MALFORMED = Symbol('malformed');
const BOM = 0xfeff;

/**
 * The body as body-parser's strict JSON parser reads it: UTF-8 with a leading byte-order mark
 * dropped, empty as {}, and only an object or an array at the top (after JSON's whitespace).
 */
function parseJson(body: Buffer): unknown {
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === BOM) text = text.slice(1);
  if (text.length === 0) return {};
  const first = text[0] === '{' || text[0] === '[' ? text[0] : /^[ \t\n\r]*(.)/s.exec(text)?.[1];
  if (first !== '{' && first !== '[') return MALFORMED;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return MALFORMED;
  }
}
