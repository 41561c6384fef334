import type { Interval } from '../performance/stats.js';
import type { MetricValue } from '../performance/metrics.js';
import type { PerformanceReport } from '../performance/service.js';
import type { RecordResult } from '../performance/types.js';

/** Outcomes and performance in the snake_case shape both the MCP tools and the REST API answer with. */

/** A number JSON can carry: NaN and infinities (a metric with nothing to measure) become null. */
const num = (x: number | null | undefined): number | null => (x === null || x === undefined || !Number.isFinite(x) ? null : x);
const interval = (i: Interval | null) => (i && Number.isFinite(i.low) && Number.isFinite(i.high) ? { low: i.low, high: i.high } : null);
const metric = (m: MetricValue | null | undefined) => (m ? { value: num(m.value), n: m.n, ci95: interval(m.interval) } : null);

export const recordAnswer = (r: RecordResult) => ({
  name: r.name,
  dry_run: r.dryRun,
  source: r.source,
  received: r.received,
  matched: r.matched,
  replaced: r.replaced,
  unknown: r.unknown,
  expired: r.expired,
  failed: r.failed,
  unmatched: r.unmatched.map((u) => ({ prediction_id: u.predictionId, reason: u.reason })),
  unmatched_not_listed: r.unmatchedNotListed,
  by_version: r.byVersion,
});

export const performanceAnswer = (p: PerformanceReport) => ({
  name: p.name,
  window: { last_n: p.window.lastN, since: p.window.since, until: p.window.until },
  outcomes: p.outcomes,
  versions: p.versions.map((v) => {
    const r = v.evaluation.regression;
    const c = v.evaluation.classification;
    return {
      version: v.version,
      stage: v.stage,
      task: v.evaluation.task,
      outcomes: v.evaluation.n,
      from: v.from,
      to: v.to,
      primary_metric: v.primary,
      metrics: {
        r2: metric(r?.r2),
        mae: metric(r?.mae),
        rmse: metric(r?.rmse),
        bias: metric(r?.bias),
        accuracy: metric(c?.accuracy),
        log_loss: metric(c?.logLoss),
        brier: metric(c?.brier),
        roc_auc: metric(c?.rocAuc),
      },
      classes: c
        ? c.classes.map((k) => ({ label: k.label, support: k.support, precision: metric(k.precision), recall: metric(k.recall), f1: metric(k.f1) }))
        : null,
      baseline: v.baselines.map((b) => ({ metric: b.metric, baseline: b.baseline, value: num(b.value), change: num(b.change), worse_by: num(b.worseBy) })),
      series: v.series.map((s) => ({ start: s.start, n: s.n, value: num(s.value) })),
    };
  }),
  comparison: p.comparison && {
    metric: p.comparison.metric,
    since: p.comparison.since,
    alpha: p.comparison.alpha,
    power: p.comparison.power,
    control: p.comparison.control,
    variants: p.comparison.variants.map((v) => ({ version: v.version, weight: v.weight, outcomes: v.n, value: num(v.value), ci95: interval(v.interval) })),
    challengers: p.comparison.challengers.map((c) => ({
      version: c.version,
      difference: num(c.difference),
      ci: interval(c.interval),
      statistic: num(c.statistic),
      p_value: num(c.pValue),
      df: num(c.df),
      verdict: c.verdict,
      min_effect: num(c.minEffect),
      required_per_variant: c.required && { control: c.required.control, challenger: c.required.challenger },
      outcomes_needed: c.outcomesNeeded,
    })),
  },
});

export type PerformanceAnswer = ReturnType<typeof performanceAnswer>;
export type RecordAnswer = ReturnType<typeof recordAnswer>;
