import fs from 'node:fs';
import type { Config } from './config.js';
import { HealthService } from './health/health.js';
import { registerSystemMetrics } from './health/system-metrics.js';
import { createLogger, type Logger } from './logger.js';
import { MlflowClient } from './mlflow/client.js';
import { MlflowSync } from './mlflow/sync.js';
import { AlertDelivery } from './monitoring/alert-delivery.js';
import { alertSenders } from './monitoring/alert-senders.js';
import { AlertService } from './monitoring/alerts.js';
import { DriftService } from './monitoring/drift-service.js';
import { DriftThreads } from './monitoring/drift-threads.js';
import { ArtifactStore, STALE_TEMP_MS } from './registry/artifacts.js';
import { PerformanceService } from './performance/service.js';
import { ModelRegistry } from './registry/registry.js';
import { LISTED_VERSIONS, RegistryWatch } from './registry/watch.js';
import { ServingMetrics } from './serving/metrics.js';
import { ModelChecks } from './serving/model-check.js';
import type { ModelLimits } from './serving/model-limits.js';
import { InlineModels } from './serving/inline-models.js';
import { ModelPool } from './serving/model-pool.js';
import { PredictionLog } from './serving/prediction-log.js';
import { ServingService } from './serving/serving.js';
import { SessionCache } from './serving/session-cache.js';
import { ServingStats } from './serving/stats.js';
import { openArtifactObjects, openStore } from './store/open.js';
import type { Store } from './store/store.js';

/** Everything a request needs, built once per process and passed down; no module holds state. */
export interface AppContext {
  config: Config;
  logger: Logger;
  store: Store;
  artifacts: ArtifactStore;
  registry: ModelRegistry;
  /** Tells when the model versions or their stages changed, here or on another server. */
  registryWatch: RegistryWatch;
  /** The processes models run in. */
  models: ModelPool;
  /** Registration's checks of a model, in a process of their own. */
  checks: ModelChecks;
  sessions: SessionCache;
  alerts: AlertService;
  serving: ServingService;
  drift: DriftService;
  performance: PerformanceService;
  /** Set when MLFLOW_TRACKING_URI is. */
  mlflow: { client: MlflowClient; sync: MlflowSync } | null;
  /** Pushes alerts to the configured receivers (none configured: it pushes nothing). */
  alertDelivery: AlertDelivery;
  /** Where people reach this server (links in pushed alerts): MLOPS_MCP_PUBLIC_URL, else the HTTP server's own URL once it listens. */
  links: { statusPage: string | null };
  predictionLog: PredictionLog;
  stats: ServingStats;
  metrics: ServingMetrics;
  health: HealthService;
  startedAt: Date;
  close(): Promise<void>;
}

export async function createAppContext(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<AppContext> {
  fs.mkdirSync(config.artifactsDir, { recursive: true });
  fs.mkdirSync(config.importsDir, { recursive: true });
  const objects = await openArtifactObjects(config, logger);
  const links = { statusPage: config.publicUrl ? `${config.publicUrl}/` : null };
  const senders = alertSenders({ webhookUrl: config.alertWebhookUrl, alertmanagerUrl: config.alertmanagerUrl, statusPage: () => links.statusPage });
  const store = await openStore(config, logger, { targets: [...senders.keys()], minSeverity: config.alertMinSeverity });
  const artifacts = new ArtifactStore(config.artifactsDir, { objects });
  try {
    const orphans = artifacts.removeUnreferenced(await store.registry.referencedArtifacts(), STALE_TEMP_MS);
    if (orphans.length) logger.warn({ orphans }, 'removed stored artifacts no registry row names (registrations refused after storing their file)');
  } catch (e) {
    // Housekeeping never stops a start (another server on this home may hold the database).
    logger.warn({ err: e }, 'did not look for unnamed artifacts this time (the registry was busy); the next start will');
  }
  const limits: ModelLimits = {
    runTimeoutMs: config.modelRunTimeoutMs,
    loadTimeoutMs: config.modelLoadTimeoutMs,
    memoryMb: config.modelMemoryMb,
    maxOutputBytes: config.modelMaxOutputBytes,
  };
  const models = new ModelPool({
    processes: config.modelProcesses,
    threads: config.modelThreads,
    limits,
    readModel: (sha256) => artifacts.read(sha256),
    onRestart: (why) => logger.warn({ reason: why.message }, 'a model process ended; the next run starts another'),
    inline: new InlineModels({
      maxMicros: config.modelInlineMaxMicros,
      limits,
      // Named by the versions registered with those bytes (a lookup that fails leaves them out).
      onChange: (sha256, inline, why) => {
        const log = (versions?: string[]) =>
          inline
            ? logger.info({ sha256, versions, why }, 'a model runs in the server (small runs)')
            : logger.warn({ sha256, versions, why }, 'a model runs in model processes only from now on');
        store.registry.versionsWithArtifact(sha256).then(
          (found) => log(found.map((v) => `${v.name} ${v.version}`)),
          () => log(),
        );
      },
    }),
  });
  const sessions = new SessionCache(models, config.modelCacheSize, config.modelCacheTtlMs);
  const checks = new ModelChecks(limits, config.modelThreads);
  const alerts = new AlertService(store.alerts);
  const mlflow = config.mlflowTrackingUri ? new MlflowClient({ trackingUri: config.mlflowTrackingUri }) : null;
  const registry = new ModelRegistry({
    store: store.registry,
    artifacts,
    checker: checks,
    allowedDirs: config.allowedDirs,
    maxModelBytes: config.maxModelBytes,
    mlflow,
  });
  const predictionLog = new PredictionLog(
    { sink: store.predictions.openSink(), logger },
    {
      flushMs: config.predictionLogFlushMs,
      maxRows: config.predictionLogMaxRows,
      maxAgeMs: config.predictionLogMaxAgeMs,
      maxPending: 1_000_000,
    },
  );
  const stats = new ServingStats(config.alertWindowMs);
  const metrics = new ServingMetrics(sessions);
  const serving = new ServingService({
    traffic: store.traffic,
    predictions: store.predictions,
    changes: store.changes,
    registry: store.registry,
    artifacts,
    sessions,
    log: predictionLog,
    stats,
    metrics,
    alerts,
    logger,
    alertErrorRate: config.alertErrorRate,
    alertP95LatencyMs: config.alertP95LatencyMs,
    alertMinRequests: config.alertMinRequests,
    alertCacheHitRate: config.alertCacheHitRate,
    alertWindowMs: config.alertWindowMs,
  });
  const mlflowSync = mlflow
    ? new MlflowSync({
        outbox: store.outbox,
        leader: store.outboxLeader,
        registry: store.registry,
        drift: store.drift,
        artifacts,
        client: mlflow,
        logger,
        intervalMs: config.mlflowSyncIntervalMs,
      })
    : null;
  mlflowSync?.start();
  const alertDelivery = new AlertDelivery({ store: store.deliveries, leader: store.deliveryLeader, senders, logger, intervalMs: 1000 });
  alertDelivery.start();
  const driftThreads = new DriftThreads();
  const drift = new DriftService({
    drift: store.drift,
    registry: store.registry,
    alerts: store.alerts,
    predictions: store.predictions,
    allowedDirs: config.allowedDirs,
    flushLog: () => predictionLog.flush(),
    compare: (ref, cur) => driftThreads.compare(ref, cur),
    readCsv: (fd, displayName, features, onProgress) => driftThreads.readCsv(fd, displayName, features, onProgress),
    prepareReference: (feature, values) => driftThreads.prepareReference(feature, values),
  });
  const performance = new PerformanceService({
    outcomes: store.outcomes,
    registry,
    alerts,
    logger,
    allowedDirs: config.allowedDirs,
    logMaxAgeMs: config.predictionLogMaxAgeMs,
    flushLog: () => predictionLog.flush(),
    watch: { drop: config.alertPerformanceDrop, minOutcomes: config.alertMinOutcomes, window: config.alertOutcomeWindow },
  });
  metrics.exportPerformance(async () =>
    (await performance.watch.latest()).map((s) => ({
      name: s.name,
      version: s.version,
      n: s.evaluation.n,
      values: Object.fromEntries(Object.entries(s.evaluation.values).map(([k, v]) => [k, v?.value])),
    })),
  );
  const health = new HealthService({
    database: store.database,
    registry: store.registry,
    traffic: store.traffic,
    drift: store.drift,
    artifacts,
    runtime: () => models.status(),
    alerts,
    serving,
    stats,
    predictionLog,
    performance: performance.watch,
    alertErrorRate: config.alertErrorRate,
    alertP95LatencyMs: config.alertP95LatencyMs,
    alertMinRequests: config.alertMinRequests,
    mlflow: mlflow && mlflowSync && { client: mlflow, sync: mlflowSync },
    alertDelivery,
    home: config.home,
    minFreeDiskMb: config.minFreeDiskMb,
    logger,
  });
  const registryWatch = new RegistryWatch(
    {
      token: () => store.changes.token(),
      versions: async () => {
        const [names, versions] = await Promise.all([store.registry.modelNames(), store.registry.listVersions({ limit: LISTED_VERSIONS })]);
        return [...names.map((name) => ({ name, version: '', stage: '' })), ...versions];
      },
    },
    (err) => logger.warn({ err }, 'could not look for registry changes this time'),
  );
  registerSystemMetrics(metrics.registry, { health, drift: store.drift, alerts: store.alerts, sessions, mlflow: mlflowSync, alertDelivery, logger });
  let closed = false;
  return {
    config,
    logger,
    store,
    artifacts,
    registry,
    registryWatch,
    models,
    checks,
    sessions,
    alerts,
    serving,
    drift,
    performance,
    mlflow: mlflow && mlflowSync && { client: mlflow, sync: mlflowSync },
    alertDelivery,
    links,
    predictionLog,
    stats,
    metrics,
    health,
    startedAt: new Date(),
    async close() {
      if (closed) return;
      closed = true;
      registryWatch.close();
      await serving.close();
      await predictionLog.close();
      await driftThreads.close();
      await mlflowSync?.stop();
      await alertDelivery.stop();
      await sessions.close();
      await models.close();
      await checks.close();
      await store.close();
    },
  };
}
