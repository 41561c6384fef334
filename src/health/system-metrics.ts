import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import type { MlflowSync } from '../mlflow/sync.js';
import type { AlertDelivery } from '../monitoring/alert-delivery.js';
import type { AlertStore, DriftStore } from '../monitoring/ports.js';
import type { SessionCache } from '../serving/session-cache.js';
import { COMPONENT_STATUSES } from './components.js';
import type { HealthReport, HealthService } from './health.js';

/** A health report this recent answers a scrape; an older one is checked again (it runs every model once). */
const HEALTH_MAX_AGE_MS = 10_000;
/** Drift series per model at most: the most drifted features of its latest run. */
export const MAX_DRIFT_FEATURES = 100;

export interface SystemMetricsDeps {
  health: HealthService;
  drift: Pick<DriftStore, 'latestRuns'>;
  alerts: Pick<AlertStore, 'counts'>;
  sessions: SessionCache;
  mlflow: MlflowSync | null;
  alertDelivery: AlertDelivery;
  logger: Logger;
}

/**
 * Everything alertable, on /metrics, read when Prometheus scrapes: component health, the latest
 * drift result per model and feature, the session cache's hit ratio, the MLflow outbox and alert
 * outbox backlogs, and the alerts raised. Label values are model, version, feature, component,
 * type and target names: bounded by the registry, never request data.
 */
export function registerSystemMetrics(registry: Registry, deps: SystemMetricsDeps): void {
  let report: { at: number; value: Promise<HealthReport> } | null = null;
  const health = () => {
    if (!report || Date.now() - report.at > HEALTH_MAX_AGE_MS) report = { at: Date.now(), value: deps.health.check() };
    return report.value;
  };
  /** A gauge refilled from scratch at every scrape (series of models gone since do not linger). */
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (set: (labels: Record<L, string>, value: number) => void) => Promise<void>,
  ) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        try {
          const set = this.set.bind(this) as (labels: Partial<Record<L, string>>, value: number) => void;
          await fill(set);
        } catch (e) {
          deps.logger.warn({ err: e, metric: name }, 'could not collect a metric');
        }
      },
    });

  gauge(
    'mlops_mcp_component_status',
    'Health of each component: 1 for its current status (healthy, degraded, unhealthy), 0 for the others',
    ['component', 'status', 'critical'],
    async (set) => {
      for (const c of (await health()).components)
        for (const s of COMPONENT_STATUSES) set({ component: c.name, status: s, critical: String(c.critical) }, Number(c.status === s));
    },
  );
  gauge('mlops_mcp_system_status', 'Overall health: 1 for the current status (unhealthy when a critical component is)', ['status'], async (set) => {
    const status = (await health()).status;
    for (const s of COMPONENT_STATUSES) set({ status: s }, Number(status === s));
  });

  const runs = () => deps.drift.latestRuns();
  const drifted = async () =>
    (await runs()).map((run) => ({ run, features: [...run.features].sort((a, b) => b.statistic - a.statistic).slice(0, MAX_DRIFT_FEATURES) }));
  gauge('mlops_mcp_drift_statistic', 'KS statistic of each feature in the latest drift check of a model', ['model', 'feature'], async (set) => {
    for (const { run, features } of await drifted()) for (const f of features) set({ model: run.name, feature: f.feature }, f.statistic);
  });
  gauge(
    'mlops_mcp_drift_p_value',
    'p-value (after the run’s correction) of each feature in the latest drift check of a model',
    ['model', 'feature'],
    async (set) => {
      for (const { run, features } of await drifted()) for (const f of features) set({ model: run.name, feature: f.feature }, f.pValueAdjusted);
    },
  );
  gauge('mlops_mcp_drift_detected', '1 when the feature drifted in the latest drift check of a model', ['model', 'feature'], async (set) => {
    for (const { run, features } of await drifted()) for (const f of features) set({ model: run.name, feature: f.feature }, Number(f.driftDetected));
  });
  gauge('mlops_mcp_drift_share', 'Share of features that drifted in the latest drift check of a model', ['model'], async (set) => {
    for (const run of await runs()) set({ model: run.name }, run.driftedShare);
  });
  gauge('mlops_mcp_drift_checked_timestamp_seconds', 'When the latest drift check of a model ran (Unix time)', ['model'], async (set) => {
    for (const run of await runs()) set({ model: run.name }, Date.parse(run.createdAt) / 1000);
  });

  gauge('mlops_mcp_model_cache_hit_ratio', 'ONNX session cache hits over lookups since start (1 before any lookup)', [], async (set) => {
    const s = deps.sessions.snapshot();
    set({}, s.hits + s.misses ? s.hits / (s.hits + s.misses) : 1);
  });

  gauge(
    'mlops_mcp_alerts_raised',
    'Alerts raised since the database was made, by type and severity (the same on every server sharing it: take max, not sum)',
    ['type', 'severity'],
    async (set) => {
      for (const c of await deps.alerts.counts()) set({ type: c.type, severity: c.severity }, c.count);
    },
  );
  gauge('mlops_mcp_alert_delivery_pending', 'Alerts waiting to be pushed, per receiver', ['target'], async (set) => {
    const backlog = new Map((await deps.alertDelivery.status()).backlog.map((b) => [b.target, b.pending]));
    for (const target of deps.alertDelivery.targets) set({ target }, backlog.get(target) ?? 0);
  });
  gauge(
    'mlops_mcp_alert_delivery_oldest_age_seconds',
    'Age of the oldest alert waiting to be pushed, per receiver (0 when none waits)',
    ['target'],
    async (set) => {
      const backlog = new Map((await deps.alertDelivery.status()).backlog.map((b) => [b.target, b.oldestCreatedAt]));
      for (const target of deps.alertDelivery.targets) {
        const oldest = backlog.get(target);
        set({ target }, oldest ? (Date.now() - Date.parse(oldest)) / 1000 : 0);
      }
    },
  );

  const mlflow = deps.mlflow;
  if (mlflow) {
    gauge('mlops_mcp_mlflow_outbox_pending', 'Changes waiting to be pushed to MLflow', [], async (set) => set({}, (await mlflow.status()).pending));
    gauge('mlops_mcp_mlflow_outbox_oldest_age_seconds', 'Age of the oldest change waiting for MLflow (0 when none waits)', [], async (set) =>
      set({}, (await mlflow.status()).oldestPendingAgeS ?? 0),
    );
  }
}
