import { z } from 'zod';
import { SINCE_EVENTS } from '../../serving/traffic.js';
import { stage } from '../schemas.js';

const weightsOut = z.record(z.string(), z.number());

export const latency = z.object({ p50: z.number(), p95: z.number(), p99: z.number() }).nullable().describe('Milliseconds; null without data');

/** What configure_ab_test answers. */
export const configureAbTestOutput = {
  name: z.string(),
  dry_run: z.boolean(),
  before: weightsOut.describe('Weights in force before (all on production when no split was set)'),
  after: weightsOut.describe('Weights in force after (versions with weight 0 left out)'),
  routing: z.enum(['sticky', 'random']),
  alerts: z.array(z.object({ type: z.string(), severity: z.string(), message: z.string() })),
};

/** What get_traffic_config answers. */
export const trafficConfigOutput = {
  name: z.string(),
  explicit: z.boolean().describe('true: an A/B split set with configure_ab_test; false: all traffic to production'),
  routing: z.enum(['sticky', 'random']).nullable(),
  weights: weightsOut,
  since: z.string().describe('Statistics cover predictions since this time (see since_event)'),
  since_event: z
    .enum(SINCE_EVENTS)
    .describe(
      "What `since` is: split_set (the split in force was set), split_ended (all traffic back to production when the last split ended), server_started (no split ever: this server's start)",
    ),
  variants: z.array(
    z.object({
      version: z.string(),
      stage: stage.nullable(),
      weight: z.number(),
      count: z.number().int(),
      errors: z.number().int(),
      error_rate: z.number(),
      latency_ms: latency,
      mean_output: z.number().nullable().describe('Mean prediction (for a 0/1 classifier: the share of 1s)'),
    }),
  ),
};
