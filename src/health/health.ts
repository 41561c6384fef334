import fs from 'node:fs/promises';
import { counted } from '../counted.js';
import type { Logger } from '../logger.js';
import type { AlertService } from '../monitoring/alerts.js';
import type { MlflowClient } from '../mlflow/client.js';
import type { MlflowSync } from '../mlflow/sync.js';
import type { AlertDelivery } from '../monitoring/alert-delivery.js';
import type { DriftStore } from '../monitoring/ports.js';
import type { RegistryStore } from '../registry/ports.js';
import type { TrafficStore } from '../serving/ports.js';
import { describeDamage, type ArtifactStore } from '../registry/artifacts.js';
import { servedArtifact } from '../registry/rules.js';
import type { ModelVersion } from '../registry/types.js';
import type { PoolStatus } from '../serving/model-pool.js';
import type { PredictionLog } from '../serving/prediction-log.js';
import type { ServingService } from '../serving/serving.js';
import type { ServingStats } from '../serving/stats.js';
import { primaryMetric } from '../performance/evaluate.js';
import type { PerformanceWatch } from '../performance/watch.js';
import { COMPONENTS, type ComponentName, type ComponentStatus } from './components.js';
import type { DatabaseProbe } from './ports.js';

/** A component whose failure takes the whole system down; the others only degrade it. */
const CRITICAL = new Set<ComponentName>(['database', 'model_runtime', 'model_serving', 'storage']);

export interface ComponentHealth {
  name: ComponentName;
  status: ComponentStatus;
  critical: boolean;
  detail: string;
  latencyMs: number;
}

export interface HealthReport {
  status: ComponentStatus;
  healthyComponents: number;
  totalComponents: number;
  components: ComponentHealth[];
  checkedAt: string;
}

type Check = () => Promise<{ status: ComponentStatus; detail: string }>;

export interface HealthDeps {
  database: DatabaseProbe;
  registry: Pick<RegistryStore, 'stageCounts' | 'listVersions'>;
  traffic: Pick<TrafficStore, 'trafficConfigs' | 'servingState'>;
  drift: Pick<DriftStore, 'latestRuns' | 'referenceCount'>;
  artifacts: ArtifactStore;
  /** The model processes' state (no round trip: a process busy with a slow model still answers here). */
  runtime: () => PoolStatus;
  alerts: AlertService;
  serving: ServingService;
  stats: ServingStats;
  predictionLog: PredictionLog;
  performance: Pick<PerformanceWatch, 'latest'>;
  alertErrorRate: number;
  alertP95LatencyMs: number;
  alertMinRequests: number;
  mlflow: { client: MlflowClient; sync: MlflowSync } | null;
  alertDelivery?: AlertDelivery | null;
  home: string;
  minFreeDiskMb: number;
  logger: Logger;
}

/** Checks each component on demand, timing each check; raises `system_unhealthy` once per episode. */
export class HealthService {
  private readonly checks: Record<ComponentName, Check>;
  private wasUnhealthy = false;

  constructor(private readonly deps: HealthDeps) {
    this.checks = {
      database: () => this.checkDatabase(),
      model_registry: () => this.checkRegistry(),
      model_runtime: () => this.checkRuntime(),
      model_serving: () => this.checkServing(),
      ab_routing: () => this.checkRouting(),
      drift_monitoring: () => this.checkDrift(),
      prediction_metrics: () => this.checkPredictions(),
      model_performance: () => this.checkPerformance(),
      storage: () => this.checkStorage(),
      mlflow: () => this.checkMlflow(),
      alert_delivery: () => this.checkAlertDelivery(),
    };
  }

  async check(component?: ComponentName): Promise<HealthReport> {
    // mlflow is a component only when MLFLOW_TRACKING_URI is set.
    // mlflow and alert_delivery are components only when configured.
    const names = component
      ? [component]
      : COMPONENTS.filter((c) => (c !== 'mlflow' || this.deps.mlflow) && (c !== 'alert_delivery' || this.deps.alertDelivery?.targets.length));
    const components = await Promise.all(names.map((n) => this.run(n)));
    const status: ComponentStatus = components.some((c) => c.status === 'unhealthy' && c.critical)
      ? 'unhealthy'
      : components.some((c) => c.status !== 'healthy')
        ? 'degraded'
        : 'healthy';
    if (!component) await this.noteEpisode(status, components);
    return {
      status,
      healthyComponents: components.filter((c) => c.status === 'healthy').length,
      totalComponents: components.length,
      components,
      checkedAt: new Date().toISOString(),
    };
  }

  private async run(name: ComponentName): Promise<ComponentHealth> {
    const started = performance.now();
    let result: { status: ComponentStatus; detail: string };
    try {
      result = await this.checks[name]();
    } catch (e) {
      this.deps.logger.warn({ err: e, component: name }, 'health check failed');
      result = { status: 'unhealthy', detail: `check failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
    }
    const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
    return { name, status: result.status, critical: CRITICAL.has(name), detail: result.detail, latencyMs };
  }

  private async noteEpisode(status: ComponentStatus, components: ComponentHealth[]): Promise<void> {
    const unhealthy = status === 'unhealthy';
    if (unhealthy && !this.wasUnhealthy) {
      const down = components.filter((c) => c.status === 'unhealthy');
      await this.deps.alerts
        .raise({
          type: 'system_unhealthy',
          severity: 'critical',
          name: null,
          version: null,
          message: `system unhealthy: ${down.map((c) => `${c.name} (${c.detail})`).join('; ')}`,
          details: { components: down.map((c) => c.name) },
        })
        .catch((e: unknown) => this.deps.logger.error({ err: e }, 'could not record system_unhealthy alert'));
    }
    this.wasUnhealthy = unhealthy;
  }

  private async checkDatabase() {
    const s = await this.deps.database.status();
    return { status: 'healthy' as const, detail: `${s.detail} answers (schema version ${s.schemaVersion})` };
  }

  private async checkRegistry() {
    const c = await this.deps.registry.stageCounts();
    const total = c.none + c.staging + c.production + c.archived;
    if (total === 0) return { status: 'healthy' as const, detail: 'no models registered yet: register one with register_model' };
    return {
      status: 'healthy' as const,
      detail: `${counted(total, 'version')}: ${c.production} production, ${c.staging} staging, ${c.none} none, ${c.archived} archived`,
    };
  }

  private async checkRuntime() {
    const s = this.deps.runtime();
    const version = s.version ? `onnxruntime-node ${s.version}` : 'onnxruntime-node starts with the first model run';
    const replaced = s.restarts ? `; ${s.restarts} replaced since start (a model past a time or memory limit, or a crash)` : '';
    return {
      status: 'healthy' as const,
      detail: `${version}; ${s.running} of ${s.processes} model processes running, ${s.busy} busy, ${s.queued} runs queued${replaced}; ${counted(s.inline, 'model')} also run in the server (small runs)`,
    };
  }

  /**
   * Every production version must have its artifact, intact, and answer a probe row. A version
   * whose session is already loaded keeps serving from memory after its file is damaged, so the
   * probe alone would not notice: the file itself is checked.
   */
  private async checkServing() {
    const production = await this.deps.registry.listVersions({ stage: 'production', limit: 10_000 });
    if (!production.length) return { status: 'healthy' as const, detail: 'no production versions to serve yet' };
    const problems: string[] = [];
    const answering: string[] = [];
    for (const v of production) {
      const damaged = await this.damagedArtifact(v);
      if (damaged) {
        problems.push(`${v.name} ${v.version}: ${damaged}`);
        continue;
      }
      try {
        await this.deps.serving.probe(v);
        answering.push(`${v.name} ${v.version}`);
      } catch (e) {
        // probe() answers ServingService's errors, which already leave the server's paths out.
        problems.push(`${v.name} ${v.version}: fails to run (${(e instanceof Error ? e.message.split('\n')[0] : String(e)).slice(0, 160)})`);
      }
    }
    const ok = `${answering.length} production version${answering.length === 1 ? '' : 's'} answer${answering.length === 1 ? 's' : ''} a probe row${answering.length ? `: ${answering.join(', ')}` : ''}`;
    if (problems.length) {
      const todo =
        'A broken version serves only while its session stays loaded (a restart unloads it): roll back (rollback_model), promote another version, or register its ONNX file again.';
      return { status: 'unhealthy' as const, detail: `${problems.join('; ')}. ${todo} ${ok}` };
    }
    return { status: 'healthy' as const, detail: ok };
  }

  /** What is wrong with a version's artifact or the graph derived from it for serving, or null. */
  private async damagedArtifact(v: ModelVersion): Promise<string | null> {
    const artifact = await this.deps.artifacts.verify(v.artifactSha256, v.artifactBytes);
    if (artifact !== 'ok') return `artifact ${v.artifactSha256.slice(0, 12)} ${describeDamage(artifact)}`;
    const served = servedArtifact(v);
    if (served.sha256 === v.artifactSha256) return null;
    const derived = await this.deps.artifacts.verify(served.sha256, served.bytes);
    return derived === 'ok' ? null : `the graph derived from its artifact for serving (${served.sha256.slice(0, 12)}) ${describeDamage(derived)}`;
  }

  /** The last drift check of each model: its age, and whether it found drift (which degrades). */
  private async checkDrift() {
    const runs = await this.deps.drift.latestRuns();
    const references = await this.deps.drift.referenceCount();
    if (!runs.length) {
      return {
        status: 'healthy' as const,
        detail: references
          ? `${references} drift reference${references > 1 ? 's' : ''} set, no check run yet: run detect_drift`
          : 'no drift references set yet: nothing to watch',
      };
    }
    const now = Date.now();
    const age = (iso: string) => {
      const minutes = Math.round((now - Date.parse(iso)) / 60_000);
      return minutes < 120 ? `${minutes} min ago` : `${Math.round(minutes / 60)} h ago`;
    };
    const parts = runs.map((r) => {
      const drifted = r.features.filter((f) => f.driftDetected).map((f) => f.feature);
      return `${r.name}: last check ${age(r.createdAt)}, ${drifted.length ? `drift in ${drifted.join(', ')}` : 'no drift'}`;
    });
    const anyDrift = runs.some((r) => r.features.some((f) => f.driftDetected));
    return { status: anyDrift ? ('degraded' as const) : ('healthy' as const), detail: parts.join('; ') };
  }

  /** Every version in an A/B split must exist and not be archived (the registry's rules keep it so). */
  private async checkRouting() {
    const configs = await this.deps.traffic.trafficConfigs();
    if (!configs.length) return { status: 'healthy' as const, detail: 'no A/B splits: each model sends all traffic to its production version' };
    const problems: string[] = [];
    const splits: string[] = [];
    for (const { name, config } of configs) {
      const state = await this.deps.traffic.servingState(name);
      for (const label of Object.keys(config.weights)) {
        const v = state?.versions.find((x) => x.version === label);
        if (!v || v.stage === 'archived') problems.push(`${name} routes traffic to ${label}, which is ${v ? 'archived' : 'gone'}`);
      }
      splits.push(
        `${name} ${Object.entries(config.weights)
          .map(([v, w]) => `${v} ${Math.round(w * 1000) / 10}%`)
          .join(' / ')} (${config.routing})`,
      );
    }
    if (problems.length) return { status: 'degraded' as const, detail: problems.join('; ') };
    return { status: 'healthy' as const, detail: `${configs.length} A/B split${configs.length > 1 ? 's' : ''}: ${splits.join('; ')}` };
  }

  /** Error rate and p95 over the alert window, per model; a failing prediction-log flush degrades. */
  private async checkPredictions() {
    const log = this.deps.predictionLog.status();
    const windows = this.deps.stats.windowedModels(Date.now()).filter((w) => w.requests > 0);
    const totals = this.deps.stats.totals();
    if (!windows.length && !totals.predictions) {
      return { status: 'healthy' as const, detail: 'no predictions logged yet: nothing to watch' };
    }
    const failing = windows.filter((w) => w.requests >= this.deps.alertMinRequests && w.errorRate > this.deps.alertErrorRate);
    const slow = windows.filter((w) => w.requests >= this.deps.alertMinRequests && w.p95Ms !== null && w.p95Ms > this.deps.alertP95LatencyMs);
    const parts = windows.map((w) => `${w.name}: ${w.requests} requests, ${(w.errorRate * 100).toFixed(1)}% errors, p95 ${w.p95Ms ?? '–'} ms`);
    const logNote = log.failedFlushes
      ? `; prediction log: ${log.failedFlushes} failed flushes, ${log.pending} pending, ${log.dropped} dropped (${log.lastError})`
      : '';
    const detail = `${parts.join('; ') || `no predictions in the alert window (${totals.predictions} since start)`}${logNote}`;
    if (failing.length) return { status: 'unhealthy' as const, detail: `error rate above ${this.deps.alertErrorRate * 100}% — ${detail}` };
    if (slow.length || log.lastFlushFailed || log.dropped) return { status: 'degraded' as const, detail };
    return { status: 'healthy' as const, detail };
  }

  /**
   * What outcomes say of each version that has them, over its newest outcomes: degraded when a
   * version with enough of them is worse than its registered baseline by more than the alert
   * threshold, or past a floor of its tags.
   */
  private async checkPerformance() {
    const standings = await this.deps.performance.latest();
    if (!standings.length)
      return { status: 'healthy' as const, detail: 'no outcomes recorded yet: record_outcomes joins actual results to logged predictions' };
    const parts = standings.map((s) => {
      const primary = primaryMetric(s.evaluation.task);
      const value = s.evaluation.values[primary]?.value;
      const trouble = [
        ...s.dropped.map((d) => `${d.metric} ${((d.worseBy ?? 0) * 100).toFixed(1)}% worse than baseline ${d.baseline}`),
        ...s.crossed.map((c) => `${c.metric} ${c.bound === 'min' ? 'below' : 'above'} ${c.limit}`),
      ];
      return `${s.name} ${s.version}: ${primary} ${value === undefined ? '–' : value.toFixed(4)} over ${s.evaluation.n} outcomes${trouble.length ? ` (${trouble.join(', ')}${s.judged ? '' : ', too few outcomes to alert'})` : ''}`;
    });
    const degraded = standings.some((s) => s.judged && (s.dropped.length || s.crossed.length));
    return { status: degraded ? ('degraded' as const) : ('healthy' as const), detail: parts.join('; ') };
  }

  /** MLflow reachable, and how much of the outbox waits (degraded: unreachable or a change waiting over a minute). */
  private async checkMlflow() {
    if (!this.deps.mlflow) return { status: 'healthy' as const, detail: 'not configured (MLFLOW_TRACKING_URI unset): the embedded registry works alone' };
    const [reachable, s] = await Promise.all([this.deps.mlflow.client.health(), this.deps.mlflow.sync.status()]);
    const queue = s.pending
      ? `${s.pending} changes waiting, oldest ${s.oldestPendingAgeS} s${s.lastError ? `; last error: ${s.lastError.slice(0, 160)}` : ''}`
      : 'outbox empty';
    const detail = `${reachable ? 'reachable' : 'unreachable'}; ${queue}; ${s.leader ? `${s.pushed} changes pushed since start` : 'pushed by another server (this one does when that one goes)'}`;
    return { status: !reachable || (s.oldestPendingAgeS ?? 0) > 60 ? ('degraded' as const) : ('healthy' as const), detail };
  }

  /** Alerts waiting to be pushed per receiver (degraded: one waiting over a minute). */
  private async checkAlertDelivery() {
    const delivery = this.deps.alertDelivery;
    if (!delivery?.targets.length)
      return {
        status: 'healthy' as const,
        detail: 'not configured (no MLOPS_MCP_ALERT_WEBHOOK_URL or MLOPS_MCP_ALERTMANAGER_URL): alerts are kept and listed only',
      };
    const s = await delivery.status();
    const now = Date.now();
    const waiting = new Map(s.backlog.map((b) => [b.target, b]));
    let late = false;
    const parts = delivery.targets.map((target) => {
      const b = waiting.get(target);
      if (!b?.pending) return `${target}: nothing waiting`;
      const age = b.oldestCreatedAt ? Math.round((now - Date.parse(b.oldestCreatedAt)) / 1000) : 0;
      late ||= age > 60;
      return `${target}: ${b.pending} waiting, oldest ${age} s${b.lastError ? ` (last error: ${b.lastError.slice(0, 120)})` : ''}`;
    });
    const who = s.leader ? `${s.delivered} pushed by this server since start` : 'pushed by another server (this one does when that one goes)';
    return { status: late ? ('degraded' as const) : ('healthy' as const), detail: `${parts.join('; ')}; ${who}` };
  }

  private async checkStorage() {
    await fs.access(this.deps.home, fs.constants.W_OK);
    const s = await fs.statfs(this.deps.home);
    const freeMb = (s.bavail * s.bsize) / 1_048_576;
    const shared = this.deps.artifacts.sharedLocation;
    const detail = `${freeMb.toFixed(0)} MB free in MLOPS_MCP_HOME (degraded below ${this.deps.minFreeDiskMb} MB)${shared ? `; artifacts shared in ${shared}, cached here` : ''}`;
    if (freeMb < this.deps.minFreeDiskMb / 10) return { status: 'unhealthy' as const, detail };
    if (freeMb < this.deps.minFreeDiskMb) return { status: 'degraded' as const, detail };
    return { status: 'healthy' as const, detail };
  }
}
