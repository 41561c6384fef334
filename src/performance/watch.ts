import type { Logger } from '../logger.js';
import type { AlertService } from '../monitoring/alerts.js';
import type { AlertDraft } from '../monitoring/alert-types.js';
import type { ModelState, ModelVersion } from '../registry/types.js';
import { baselines, evaluate, floors, isClassifier, type BaselineComparison, type Evaluation, type MetricName } from './evaluate.js';
import type { OutcomeStore } from './ports.js';

export interface WatchOptions {
  /** A metric more than this fraction worse than its baseline raises performance_degradation. */
  drop: number;
  /** Outcomes a version needs in the window before its alerts apply. */
  minOutcomes: number;
  /** The window alerts, health and /metrics judge: each version's newest outcomes. */
  window: number;
}

/** One version's standing over the alert window. */
export interface Standing {
  name: string;
  version: string;
  stage: ModelVersion['stage'];
  evaluation: Evaluation;
  /** Baseline metrics more than the allowed fraction worse. */
  dropped: BaselineComparison[];
  /** Floors (min_/max_ tags) crossed. */
  crossed: Array<{ metric: MetricName; bound: 'min' | 'max'; limit: number; value: number }>;
  /** Enough outcomes for the alerts to apply. */
  judged: boolean;
}

/** Standings kept for /metrics at most this long before a scrape reads them again. */
const FRESH_MS = 15_000;
/** An episode no check has seen for a week (its outcomes stopped) is over: the next one raises anew. */
const EPISODE_QUIET_MS = 7 * 24 * 3_600_000;
/** Versions /metrics exports at most (label sets stay bounded). */
export const MAX_EXPORTED_VERSIONS = 200;

/**
 * Watches what outcomes say of each version: raises performance_degradation (warning) and
 * model_accuracy_degraded (critical) once per episode, only with enough outcomes, and keeps the
 * latest standings for /metrics and health_check. Episodes are kept in the store, so servers
 * sharing a database raise one alert per episode, and a restart does not raise it again.
 */
export class PerformanceWatch {
  private standings: Standing[] = [];
  private readAt = 0;
  private reading: Promise<Standing[]> | null = null;

  constructor(
    private readonly deps: { outcomes: OutcomeStore; registry: { modelState(name: string): Promise<ModelState> }; alerts: AlertService; logger: Logger },
    private readonly options: WatchOptions,
  ) {}

  /** Every model's standings, read again when older than FRESH_MS. */
  async latest(): Promise<Standing[]> {
    if (Date.now() - this.readAt < FRESH_MS) return this.standings;
    this.reading ??= (async () => {
      try {
        const all: Standing[] = [];
        for (const name of await this.deps.outcomes.modelsWithOutcomes()) all.push(...(await this.stand(name)));
        this.standings = all.slice(0, MAX_EXPORTED_VERSIONS);
        this.readAt = Date.now();
        return this.standings;
      } finally {
        this.reading = null;
      }
    })();
    return this.reading;
  }

  /** Judges a model's versions after new outcomes, raising what starts an episode. */
  async check(name: string): Promise<Standing[]> {
    const standings = await this.stand(name);
    this.standings = [...this.standings.filter((s) => s.name !== name), ...standings].slice(0, MAX_EXPORTED_VERSIONS);
    for (const s of standings) {
      if (!s.judged) continue;
      await this.episode(`performance_degradation\0${s.name}\0${s.version}`, s.dropped.length > 0, () => ({
        type: 'performance_degradation',
        severity: 'warning',
        name: s.name,
        version: s.version,
        message: `${s.name} ${s.version}: ${s.dropped.map((d) => `${d.metric} ${fmt(d.value)} is ${((d.worseBy ?? 0) * 100).toFixed(1)}% worse than its baseline ${fmt(d.baseline)}`).join('; ')} over its last ${s.evaluation.n} outcomes (threshold ${this.options.drop * 100}%)`,
        details: { outcomes: s.evaluation.n, metrics: s.dropped.map((d) => ({ metric: d.metric, value: d.value, baseline: d.baseline, worse_by: d.worseBy })) },
      }));
      await this.episode(`model_accuracy_degraded\0${s.name}\0${s.version}`, s.crossed.length > 0, () => ({
        type: 'model_accuracy_degraded',
        severity: 'critical',
        name: s.name,
        version: s.version,
        message: `${s.name} ${s.version}: ${s.crossed.map((c) => `${c.metric} ${fmt(c.value)} is ${c.bound === 'min' ? 'below its floor' : 'above its ceiling'} ${c.limit}`).join('; ')} over its last ${s.evaluation.n} outcomes`,
        details: { outcomes: s.evaluation.n, metrics: s.crossed },
      }));
    }
    return standings;
  }

  private async stand(name: string): Promise<Standing[]> {
    const state = await this.deps.registry.modelState(name);
    const out: Standing[] = [];
    for (const version of state.versions) {
      if (version.stage === 'archived') continue;
      const task = isClassifier(version) ? 'classification' : 'regression';
      const outcomes = await this.deps.outcomes.outcomes(name, { version: version.version, lastN: this.options.window, task });
      if (!outcomes.length) continue;
      const evaluation = evaluate(
        version,
        outcomes,
        Int32Array.from({ length: outcomes.length }, (_, i) => i),
        0.95,
      );
      const dropped = baselines(version, evaluation).filter((b) => b.worseBy !== null && b.worseBy > this.options.drop);
      const crossed = floors(version).flatMap((f) => {
        const value = evaluation.values[f.metric]?.value;
        return value !== undefined && (f.bound === 'min' ? value < f.limit : value > f.limit) ? [{ ...f, value }] : [];
      });
      out.push({ name, version: version.version, stage: version.stage, evaluation, dropped, crossed, judged: evaluation.n >= this.options.minOutcomes });
    }
    return out;
  }

  /**
   * Raises when the condition starts holding, once for every server judging the same outcomes;
   * the episode ends when a check finds it no longer holds (or when no check has seen it for
   * EPISODE_QUIET_MS: outcomes stopped arriving).
   */
  private async episode(key: string, holds: boolean, draft: () => AlertDraft): Promise<void> {
    try {
      if (holds) await this.deps.alerts.raiseOnce(key, draft(), EPISODE_QUIET_MS);
      else await this.deps.alerts.endEpisode(key);
    } catch (e) {
      this.deps.logger.error({ err: e, episode: key }, 'could not record an alert episode');
    }
  }
}

const fmt = (x: number | null) => (x === null ? '–' : Number(x.toPrecision(4)).toString());
