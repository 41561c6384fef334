import { z } from 'zod';
import { stage } from '../schemas.js';

const ci = z.object({ low: z.number(), high: z.number() }).nullable().describe('95% confidence interval');
const metric = z.object({ value: z.number().nullable(), n: z.number().int(), ci95: ci }).nullable();

/** What get_model_performance answers. */
export const modelPerformanceOutput = {
  name: z.string(),
  window: z.object({ last_n: z.number().int(), since: z.string().nullable(), until: z.string().nullable() }),
  outcomes: z.number().int().describe('Outcomes in the window'),
  versions: z.array(
    z.object({
      version: z.string(),
      stage,
      task: z.enum(['regression', 'classification']),
      outcomes: z.number().int(),
      from: z.string().describe('Oldest prediction covered'),
      to: z.string().describe('Newest prediction covered'),
      primary_metric: z.string().describe('mae for regressors, accuracy for classifiers: the metric of series'),
      metrics: z.object({ r2: metric, mae: metric, rmse: metric, bias: metric, accuracy: metric, log_loss: metric, brier: metric, roc_auc: metric }),
      classes: z.array(z.object({ label: z.string(), support: z.number().int(), precision: metric, recall: metric, f1: metric })).nullable(),
      baseline: z
        .array(
          z.object({
            metric: z.string(),
            baseline: z.number(),
            value: z.number().nullable(),
            change: z.number().nullable(),
            worse_by: z.number().nullable().describe('How much worse than the baseline, as a fraction of it (negative: better)'),
          }),
        )
        .describe("The version's registered metrics next to what its outcomes say"),
      series: z
        .array(z.object({ start: z.string(), n: z.number().int(), value: z.number().nullable() }))
        .describe('The primary metric per time bucket, oldest first'),
    }),
  ),
  comparison: z
    .object({
      metric: z.enum(['mae', 'accuracy']),
      since: z
        .string()
        .nullable()
        .describe(
          'The comparison covers predictions made since the last variant to be served began (its oldest outcome in the window), so every variant over the same period; null when a variant has no outcome',
        ),
      alpha: z.number(),
      power: z.number(),
      control: z.string().describe('The production version in the split, else the heaviest'),
      variants: z.array(z.object({ version: z.string(), weight: z.number(), outcomes: z.number().int(), value: z.number().nullable(), ci95: ci })),
      challengers: z.array(
        z.object({
          version: z.string(),
          difference: z.number().nullable().describe('challenger − control'),
          ci: z.object({ low: z.number(), high: z.number() }).nullable().describe('Interval of the difference at 1 − alpha'),
          statistic: z.number().nullable().describe("Welch's t or the z statistic"),
          p_value: z.number().nullable(),
          df: z.number().nullable().describe("Welch's degrees of freedom (t test only)"),
          verdict: z.enum(['better', 'worse', 'not yet']),
          min_effect: z.number().nullable(),
          required_per_variant: z
            .object({ control: z.number().int(), challenger: z.number().int() })
            .nullable()
            .describe('Outcomes each variant needs to detect min_effect with 80% power'),
          outcomes_needed: z.number().int().nullable().describe('More outcomes, split as the traffic is, until both variants have them (0: enough)'),
        }),
      ),
    })
    .nullable()
    .describe('The A/B comparison, for a model with a split of two or more versions'),
};
