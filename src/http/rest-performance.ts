import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { DomainError } from '../errors.js';
import { callerLabel, RANK, type Caller } from '../mcp/server.js';
import { outcomeSchema } from '../mcp/tools/performance.js';
import { performanceAnswer, recordAnswer } from '../wire/performance.js';
import { MAX_OUTCOMES } from '../performance/record.js';
import { parseBody, parseQuery } from './rest-bodies.js';

/**
 * Outcomes over REST, for the applications that learn what happened: POST /api/v1/outcomes/{name}
 * (a write: the operate role, refused in read-only mode, audited under the token's name or the
 * signed-in person's subject) and GET /api/v1/models/{name}/performance. They call the same
 * domain functions and answer the same shapes as the MCP tools record_outcomes and
 * get_model_performance.
 */

const outcomes = z.array(outcomeSchema).min(1).max(MAX_OUTCOMES);

const outcomesObject = z
  .object({
    outcomes: outcomes.optional(),
    csv_path: z.string().min(1).max(4096).optional(),
    reason: z.string().max(1000).optional(),
    dry_run: z.boolean().optional(),
  })
  .strict();

export const outcomesRequest = z.union([outcomes, outcomesObject]);

/** The schema of the one form a body has, so that a refusal names the field rather than the union's "Invalid input". */
const outcomesForm = (raw: unknown) => (Array.isArray(raw) ? outcomes : typeof raw === 'object' && raw !== null ? outcomesObject : outcomesRequest);

const number = (what: string) => z.coerce.number({ error: `${what} must be a number` });
export const performanceQuery = z
  .object({
    version: z.string().max(128).optional(),
    last_n: number('last_n').int().min(1).max(1_000_000).optional(),
    since_hours: number('since_hours')
      .positive()
      .max(24 * 3650)
      .optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    alpha: number('alpha').gt(0).lt(0.5).optional(),
    min_effect: number('min_effect').positive().max(1e12).optional(),
  })
  .strict();

const OUTCOMES_TAKES = '[{"prediction_id", "actual"}, …] or {"outcomes"?, "csv_path"?, "reason"?, "dry_run"?}';

/** What the routes share with the rest of /api/v1: its refusals, model names and JSON bodies. */
/** Functions, not methods: the routes take them apart. */
export interface RouteHelpers {
  fail: (res: Response, e: unknown) => void;
  modelName: (req: Request) => string;
  body: (req: Request) => unknown;
}

export function performanceRoutes(r: Router, app: AppContext, options: { readOnly: boolean }, { fail, modelName, body: jsonBody }: RouteHelpers): void {
  r.post('/outcomes/:name', async (req, res) => {
    try {
      const name = modelName(req);
      const caller = res.locals.caller as Caller | undefined;
      if (options.readOnly)
        throw new DomainError('read_only', 'this server runs in read-only mode (--read-only or MLOPS_MCP_READ_ONLY=1): outcomes cannot be recorded here.');
      if (caller && RANK[caller.role] < RANK.operate)
        throw new DomainError('forbidden', `recording outcomes needs the operate role; ${callerLabel(caller)} has ${caller.role}.`);
      const raw = jsonBody(req);
      const body = parseBody(outcomesForm(raw), raw, OUTCOMES_TAKES);
      const given = Array.isArray(body) ? { outcomes: body } : body;
      const result = await app.performance.record(
        name,
        { outcomes: given.outcomes?.map((o) => ({ predictionId: o.prediction_id, actual: o.actual })), csvPath: given.csv_path },
        { actor: caller?.name ?? 'rest client', actorName: caller?.displayName, reason: given.reason },
        given.dry_run ?? false,
      );
      res.json(recordAnswer(result));
    } catch (e) {
      fail(res, e);
    }
  });

  r.get('/models/:name/performance', async (req, res) => {
    try {
      const name = modelName(req);
      const q = parseQuery(performanceQuery, req.query);
      const report = await app.performance.report(name, {
        version: q.version,
        lastN: q.last_n,
        sinceHours: q.since_hours,
        since: q.since,
        until: q.until,
        alpha: q.alpha,
        minEffect: q.min_effect,
      });
      res.json(performanceAnswer(report));
    } catch (e) {
      fail(res, e);
    }
  });
}
