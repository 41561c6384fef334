import { invalidArgument, notFound } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AlertService } from '../monitoring/alerts.js';
import type { Actor, ModelState, ModelVersion, Stage } from '../registry/types.js';
import { compareSplit, type Comparison } from './compare.js';
import { baselines, evaluate, isClassifier, primaryMetric, type BaselineComparison, type Evaluation, type MetricName } from './evaluate.js';
import { rowsByVersion } from './columns.js';
import type { OutcomeColumns, OutcomeStore } from './ports.js';
import { OutcomeRecorder } from './record.js';
import type { OutcomesGiven, RecordResult } from './types.js';
import { PerformanceWatch, type WatchOptions } from './watch.js';

export interface PerformanceDeps {
  outcomes: OutcomeStore;
  registry: { modelState(name: string): Promise<ModelState> };
  alerts: AlertService;
  logger: Logger;
  allowedDirs: readonly string[];
  logMaxAgeMs: number;
  flushLog: () => Promise<void>;
  watch: WatchOptions;
  now?: () => number;
}

export interface PerformanceQuery {
  version?: string | undefined;
  /** The newest outcomes by prediction time (default DEFAULT_WINDOW) … */
  lastN?: number | undefined;
  /** … of predictions made in [since, until) (ISO 8601, any offset), or in the last sinceHours hours. */
  since?: string | undefined;
  sinceHours?: number | undefined;
  until?: string | undefined;
  /** Significance level of the A/B verdict (default 0.05). */
  alpha?: number | undefined;
  /** The smallest A/B difference worth detecting, in the metric's units (default 2% of the control's value). */
  minEffect?: number | undefined;
}

export interface VersionPerformance {
  version: string;
  stage: Stage;
  primary: MetricName;
  evaluation: Evaluation;
  baselines: BaselineComparison[];
  /** Predictions covered: the oldest and newest prediction time. */
  from: string;
  to: string;
  /** The primary metric per time bucket, oldest first. */
  series: Array<{ start: string; n: number; value: number | null }>;
}

export interface PerformanceReport {
  name: string;
  window: { lastN: number; since: string | null; until: string | null };
  outcomes: number;
  versions: VersionPerformance[];
  comparison: Comparison | null;
}

export const CONFIDENCE = 0.95;
export const DEFAULT_WINDOW = 10_000;
export const POWER = 0.8;
/** Buckets of a metric's series at most, of a width chosen among these (ms). */
const MAX_BUCKETS = 48;
const BUCKET_WIDTHS = [3_600_000, 6 * 3_600_000, 86_400_000, 7 * 86_400_000, 30 * 86_400_000];

/** Outcomes of logged predictions: recording them, and what they say of each version and of an A/B split. */
export class PerformanceService {
  readonly watch: PerformanceWatch;
  private readonly recorder: OutcomeRecorder;

  constructor(private readonly deps: PerformanceDeps) {
    this.watch = new PerformanceWatch(deps, deps.watch);
    this.recorder = new OutcomeRecorder(deps);
  }

  /** Joins and stores outcomes (see OutcomeRecorder), then judges the model's versions for alerts. */
  async record(name: string, input: OutcomesGiven, who: Actor, dryRun: boolean): Promise<RecordResult> {
    const result = await this.recorder.record(name, input, who, dryRun);
    if (!dryRun && result.matched) {
      await this.watch.check(name).catch((e: unknown) => this.deps.logger.error({ err: e, model: name }, 'could not judge outcomes for alerts'));
    }
    return result;
  }

  async report(name: string, query: PerformanceQuery): Promise<PerformanceReport> {
    const now = this.deps.now?.() ?? Date.now();
    const q = {
      version: query.version,
      lastN: query.lastN ?? DEFAULT_WINDOW,
      since: query.sinceHours !== undefined ? new Date(now - query.sinceHours * 3_600_000).toISOString() : query.since && new Date(query.since).toISOString(),
      until: query.until && new Date(query.until).toISOString(),
      alpha: query.alpha ?? 0.05,
      minEffect: query.minEffect,
    };
    if (q.since !== undefined && q.until !== undefined && q.since >= q.until)
      throw invalidArgument(`the window's since (${q.since}) must be before its until (${q.until}).`);
    const state = await this.deps.registry.modelState(name);
    const versions = new Map(state.versions.map((v) => [v.version, v]));
    if (q.version !== undefined && !versions.has(q.version)) {
      throw notFound(`Model "${name}" has no version "${q.version}" (versions: ${[...versions.keys()].join(', ')}).`);
    }
    const tasks = new Set(state.versions.map((v) => (isClassifier(v) ? 'classification' : 'regression')));
    const task = tasks.size === 1 ? [...tasks][0] : undefined;
    const outcomes = await this.deps.outcomes.outcomes(name, { version: q.version, since: q.since, until: q.until, lastN: q.lastN, task });
    const byVersion = rowsByVersion(outcomes);
    const measured: VersionPerformance[] = [];
    outcomes.versions.forEach((label, code) => {
      const rows = byVersion[code];
      const version = versions.get(label) as ModelVersion;
      const evaluation = evaluate(version, outcomes, rows, CONFIDENCE);
      measured.push({
        version: label,
        stage: version.stage,
        primary: primaryMetric(evaluation.task),
        evaluation,
        baselines: baselines(version, evaluation),
        from: new Date(outcomes.predictedAt[rows[rows.length - 1]]).toISOString(),
        to: new Date(outcomes.predictedAt[rows[0]]).toISOString(),
        series: series(evaluation.task, outcomes, rows),
      });
    });
    measured.sort((a, b) => (versions.get(a.version)?.seq ?? 0) - (versions.get(b.version)?.seq ?? 0));

    const split = state.traffic;
    const comparison =
      q.version === undefined && split && Object.keys(split.weights).length > 1
        ? compareSplit(split.weights, versions, outcomes, { alpha: q.alpha, power: POWER, confidence: CONFIDENCE, minEffect: q.minEffect })
        : null;
    return { name, window: { lastN: q.lastN, since: q.since ?? null, until: q.until ?? null }, outcomes: outcomes.length, versions: measured, comparison };
  }
}

/**
 * The primary metric (MAE, accuracy) per time bucket, newest-first outcomes in, oldest bucket
 * first out: the width is the smallest of BUCKET_WIDTHS that makes at most MAX_BUCKETS.
 */
function series(task: Evaluation['task'], w: OutcomeColumns, newestFirst: Int32Array): VersionPerformance['series'] {
  if (!newestFirst.length) return [];
  const first = w.predictedAt[newestFirst[newestFirst.length - 1]];
  const last = w.predictedAt[newestFirst[0]];
  const width = BUCKET_WIDTHS.find((x) => (last - first) / x < MAX_BUCKETS) ?? BUCKET_WIDTHS[BUCKET_WIDTHS.length - 1];
  const origin = Math.floor(first / width) * width;
  const buckets = new Map<number, { n: number; sum: number }>();
  for (let j = newestFirst.length - 1; j >= 0; j--) {
    const i = newestFirst[j];
    const b = Math.floor((w.predictedAt[i] - origin) / width);
    const value = task === 'classification' ? (w.predictedLabel[i] === w.actualLabel[i] ? 1 : 0) : Math.abs(w.predicted[i] - w.actual[i]);
    const bucket = buckets.get(b);
    if (bucket) {
      bucket.n++;
      bucket.sum += value;
    } else buckets.set(b, { n: 1, sum: value });
  }
  return [...buckets].map(([b, { n, sum }]) => ({ start: new Date(origin + b * width).toISOString(), n, value: sum / n }));
}
