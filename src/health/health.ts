import fs from 'node:fs/promises';
import type { Logger } from '../logger.js';
import type { AlertService } from '../monitoring/alerts.js';
import type { ArtifactStore } from '../registry/artifacts.js';
import type { RegistryStore } from '../store/store.js';
import type { OnnxRuntime } from '../serving/runtime.js';
import type { SessionCache } from '../serving/session-cache.js';

export const COMPONENT_STATUSES = ['healthy', 'degraded', 'unhealthy'] as const;
export type ComponentStatus = (typeof COMPONENT_STATUSES)[number];

export const COMPONENTS = [
  'database',
  'model_registry',
  'model_runtime',
  'model_serving',
  'ab_routing',
  'drift_monitoring',
  'prediction_metrics',
  'storage',
] as const;
export type ComponentName = (typeof COMPONENTS)[number];

/** A component whose failure takes the whole system down; the others only degrade it. */
const CRITICAL = new Set<ComponentName>(['database', 'model_runtime', 'model_serving', 'storage']);

export interface ComponentHealth {
  name: ComponentName;
  status: ComponentStatus;
  critical: boolean;
  detail: string;
  latency_ms: number;
}

export interface HealthReport {
  status: ComponentStatus;
  healthy_components: number;
  total_components: number;
  components: ComponentHealth[];
  checked_at: string;
}

type Check = () => Promise<{ status: ComponentStatus; detail: string }>;

export interface HealthDeps {
  store: RegistryStore;
  artifacts: ArtifactStore;
  sessions: SessionCache;
  runtime: () => Promise<OnnxRuntime>;
  alerts: AlertService;
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
      ab_routing: async () => ({ status: 'healthy', detail: 'no A/B tests configured: each model sends all traffic to its production version' }),
      drift_monitoring: async () => ({ status: 'healthy', detail: 'no drift references set yet: nothing to watch' }),
      prediction_metrics: async () => ({ status: 'healthy', detail: 'no predictions logged yet: nothing to watch' }),
      storage: () => this.checkStorage(),
    };
  }

  async check(component?: ComponentName): Promise<HealthReport> {
    const names = component ? [component] : [...COMPONENTS];
    const components = await Promise.all(names.map((n) => this.run(n)));
    const status: ComponentStatus = components.some((c) => c.status === 'unhealthy' && c.critical)
      ? 'unhealthy'
      : components.some((c) => c.status !== 'healthy')
        ? 'degraded'
        : 'healthy';
    if (!component) await this.noteEpisode(status, components);
    return {
      status,
      healthy_components: components.filter((c) => c.status === 'healthy').length,
      total_components: components.length,
      components,
      checked_at: new Date().toISOString(),
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
    const latency_ms = Math.round((performance.now() - started) * 1000) / 1000;
    return { name, status: result.status, critical: CRITICAL.has(name), detail: result.detail, latency_ms };
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
    await this.deps.store.ping();
    return { status: 'healthy' as const, detail: `registry.db answers (schema version ${this.deps.store.schemaVersion()}, WAL)` };
  }

  private async checkRegistry() {
    const c = await this.deps.store.stageCounts();
    const total = c.none + c.staging + c.production + c.archived;
    if (total === 0) return { status: 'healthy' as const, detail: 'no models registered yet: register one with register_model' };
    return {
      status: 'healthy' as const,
      detail: `${total} versions: ${c.production} production, ${c.staging} staging, ${c.none} none, ${c.archived} archived`,
    };
  }

  private async checkRuntime() {
    const ort = await this.deps.runtime();
    const backends = ort.listSupportedBackends().filter((b) => b.bundled).map((b) => b.name);
    return { status: 'healthy' as const, detail: `onnxruntime-node ${ort.env.versions.node ?? '?'} loaded (backends: ${backends.join(', ')})` };
  }

  /** Every production version must have its artifact and load in onnxruntime. */
  private async checkServing() {
    const production = await this.deps.store.listVersions({ stage: 'production', limit: 10_000 });
    if (!production.length) return { status: 'healthy' as const, detail: 'no production versions to serve yet' };
    const problems: string[] = [];
    for (const v of production) {
      const file = this.deps.artifacts.pathFor(v.artifactSha256);
      const artifact = await this.deps.artifacts.check(v.artifactSha256, v.artifactBytes);
      if (artifact !== 'ok') {
        const what = artifact === 'missing' ? 'is missing' : 'has changed size (truncated or replaced)';
        problems.push(`${v.name} ${v.version}: artifact ${v.artifactSha256.slice(0, 12)} ${what}`);
        continue;
      }
      try {
        await this.deps.sessions.get(v.artifactSha256, file);
      } catch (e) {
        problems.push(`${v.name} ${v.version}: artifact fails to load (${e instanceof Error ? e.message.split('\n')[0].slice(0, 120) : String(e)})`);
      }
    }
    if (problems.length) return { status: 'unhealthy' as const, detail: problems.join('; ') };
    return { status: 'healthy' as const, detail: `${production.length} production versions loaded: ${production.map((v) => `${v.name} ${v.version}`).join(', ')}` };
  }

  private async checkStorage() {
    await fs.access(this.deps.home, fs.constants.W_OK);
    const s = await fs.statfs(this.deps.home);
    const freeMb = (s.bavail * s.bsize) / 1_048_576;
    const detail = `${freeMb.toFixed(0)} MB free in MLOPS_MCP_HOME (degraded below ${this.deps.minFreeDiskMb} MB)`;
    if (freeMb < this.deps.minFreeDiskMb / 10) return { status: 'unhealthy' as const, detail };
    if (freeMb < this.deps.minFreeDiskMb) return { status: 'degraded' as const, detail };
    return { status: 'healthy' as const, detail };
  }
}
