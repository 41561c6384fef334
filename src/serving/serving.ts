import { DomainError, failedPrecondition } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AlertService } from '../monitoring/alerts.js';
import type { AlertDraft } from '../monitoring/alert-types.js';
import type { ArtifactStore } from '../registry/artifacts.js';
import type { RegistryStore } from '../registry/ports.js';
import { servedArtifact } from '../registry/rules.js';
import type { Actor, ModelState, ModelVersion } from '../registry/types.js';
import { doneOrAfter } from '../timing.js';
import { newPredictionId } from './prediction-id.js';
import { expectedFeatures, isFeatureTable, tableToMatrix, toMatrix, type FeatureRow, type FeatureTable } from './features.js';
import type { ServingMetrics } from './metrics.js';
import type { PredictionLog } from './prediction-log.js';
import { PredictionRecorder, type ServedCall } from './prediction-recorder.js';
import type { ChangeFeed, PredictionLogStore, TrafficStore } from './ports.js';
import { ModelProcessError } from './model-host.js';
import { ModelLimitError } from './model-limits.js';
import { ModelLoadError } from './model-pool.js';
import { RowValueError, type BatchOutput, type PredictionValue } from './outputs.js';
import { RouteTable } from './routes.js';
import { RunCoalescer } from './run-coalescer.js';
import { rowOf, runBatch } from './runner.js';
import { ServingAlerts, type ServingAlertSettings } from './serving-alerts.js';
import { servingFailure } from './serving-failure.js';
import type { BatchPrediction, PredictOptions, Prediction, TrafficChange, TrafficReport } from './serving-types.js';
import type { SessionCache } from './session-cache.js';
import type { ServingStats } from './stats.js';
import { trafficReport } from './traffic-report.js';
import { validateWeights, weightOf, type Routing, type TrafficConfig } from './traffic.js';

export interface ServingDeps extends ServingAlertSettings {
  traffic: TrafficStore;
  predictions: PredictionLogStore;
  changes: ChangeFeed;
  /** Versions that share an artifact (one loaded session serves them all); the audit trail (when a split ended). */
  registry: Pick<RegistryStore, 'versionsWithArtifact' | 'history'>;
  artifacts: ArtifactStore;
  sessions: SessionCache;
  log: PredictionLog;
  stats: ServingStats;
  metrics: ServingMetrics;
  alerts: AlertService;
  logger: Logger;
  random?: () => number;
}

/**
 * Serving: routes a request to a version (explicit, sticky by routing key, or random by
 * weight), validates its features against the signature, runs ONNX through the session cache,
 * and logs and counts every prediction, ok or failed.
 */
export class ServingService {
  private readonly routes: RouteTable;
  private readonly random: () => number;
  private readonly alerts: ServingAlerts;
  private readonly alertTimer: NodeJS.Timeout;
  private readonly runs: RunCoalescer;
  private readonly recorder: PredictionRecorder;

  constructor(private readonly deps: ServingDeps) {
    this.runs = new RunCoalescer(
      (version, matrix, n, k, requests) => deps.sessions.use(servedArtifact(version).sha256, (session) => runBatch(session, version, matrix, n, k), requests),
      // Whatever a request's rows cannot cause alone is everyone's: a load, a process that died, a time limit.
      (e) =>
        e instanceof ModelLoadError || e instanceof ModelProcessError || (e instanceof ModelLimitError && (e.limit === 'run_time' || e.limit === 'load_time')),
    );
    this.random = deps.random ?? Math.random;
    this.routes = new RouteTable(deps);
    this.recorder = new PredictionRecorder(deps, (name) => this.routes.has(name));
    this.alerts = new ServingAlerts(deps);
    this.alertTimer = setInterval(() => void this.checkAlerts(), 1000).unref();
  }

  /** Calls under way, and what close() waits on: their predictions are logged before the log closes. */
  private inflight = 0;
  private drained: (() => void) | null = null;
  private closing = false;

  predict(name: string, features: FeatureRow, options: PredictOptions = {}): Promise<Prediction> {
    return this.tracked(() => this.predictOne(name, features, options));
  }

  /** Routes every row (one routing key routes them all alike) and runs one ONNX call per served version. */
  predictBatch(name: string, input: readonly FeatureRow[] | FeatureTable, options: PredictOptions = {}): Promise<BatchPrediction> {
    return this.tracked(() => this.predictRows(name, input, options));
  }

  private async tracked<T>(call: () => Promise<T>): Promise<T> {
    if (this.closing) throw new DomainError('unavailable', 'the server is shutting down; retry against another instance or after it restarts.');
    this.inflight++;
    try {
      return await call();
    } finally {
      if (--this.inflight === 0) this.drained?.();
    }
  }

  private async predictOne(name: string, features: FeatureRow, options: PredictOptions): Promise<Prediction> {
    const held = this.deps.log.backpressure();
    if (held) await held;
    const started = performance.now();
    const at = options.at ?? Date.now();
    const id = newPredictionId(at);
    const call = (latencyMs: number): ServedCall => ({ id, name, at, routingKey: options.routingKey, latencyMs, indices: null });
    let version: ModelVersion | null = null;
    let matrix: Float64Array | null = null;
    let width = 0;
    try {
      const cached = this.routes.state(name);
      const route = this.routes.route(name, cached instanceof Promise ? await cached : cached, options, this.random);
      version = route.version;
      const names = expectedFeatures(version);
      width = names.length;
      matrix = toMatrix([features], names);
      const output = await this.run(version, matrix, 1, width);
      const latencyMs = performance.now() - started;
      this.recorder.served(call(latencyMs), version.version, { matrix, width }, output);
      const row = rowOf(output, 0);
      return {
        predictionId: id,
        name,
        version: version.version,
        stage: version.stage,
        ...row,
        targetNames: version.signature.targetNames ?? null,
        latencyMs,
        routedBy: route.routedBy,
      };
    } catch (e) {
      this.recorder.failed(call(performance.now() - started), version, e, { matrix, width, raw: features });
      throw e;
    }
  }

  private async predictRows(name: string, input: readonly FeatureRow[] | FeatureTable, options: PredictOptions): Promise<BatchPrediction> {
    const held = this.deps.log.backpressure();
    if (held) await held;
    const started = performance.now();
    const at = options.at ?? Date.now();
    const batchId = newPredictionId(at);
    const call = (latencyMs: number, indices: number[]): ServedCall => ({ id: batchId, name, at, routingKey: options.routingKey, latencyMs, indices });
    const n = isFeatureTable(input) ? input.data.length : input.length;
    if (!n) throw new DomainError('invalid_argument', 'rows is empty: give at least one row of features.');
    const state = await this.routes.state(name);
    const groups = new Map<string, { version: ModelVersion; indices: number[] }>();
    const routedVersions = new Array<string>(n);
    try {
      // One route for every row when nothing varies per row: a version asked for, a routing key
      // under sticky routing (random routing ignores keys), or a split with a single version
      // (production alone, by default).
      const oneVersion = state.effective !== null && Object.keys(state.effective.weights).length === 1;
      const oneKey = options.routingKey !== undefined && state.effective?.routing === 'sticky';
      const shared = options.version !== undefined || oneKey || oneVersion ? this.routes.route(name, state, options, this.random) : null;
      for (let i = 0; i < n; i++) {
        const route = shared ?? this.routes.route(name, state, options, this.random);
        let g = groups.get(route.version.version);
        if (!g) groups.set(route.version.version, (g = { version: route.version, indices: [] }));
        g.indices.push(i);
        routedVersions[i] = route.version.version;
      }
    } catch (e) {
      // Routing failed (a version that does not exist or is archived, no production version): logged as predict logs it.
      const all = Array.from({ length: n }, (_, i) => i);
      this.recorder.failed(call(performance.now() - started, all), null, e, { matrix: null, width: 0, raw: { rows: n } });
      throw e;
    }

    const predictions = new Array<PredictionValue>(n);
    let probabilities: Record<string, number[]> | null = null;
    const outputs: Array<{ version: ModelVersion; matrix: Float64Array; width: number; output: BatchOutput; indices: number[] }> = [];
    try {
      for (const { version, indices } of groups.values()) {
        const names = expectedFeatures(version);
        const label = (r: number) => `row ${indices[r]}: `;
        const all = indices.length === n;
        const matrix = isFeatureTable(input)
          ? tableToMatrix(all ? input : { columns: input.columns, data: indices.map((i) => input.data[i]) }, names, label)
          : toMatrix(all ? input : indices.map((i) => input[i]), names, label);
        const output = await this.run(version, matrix, indices.length, names.length, label);
        outputs.push({ version, matrix, width: names.length, output, indices });
      }
    } catch (e) {
      const latencyMs = performance.now() - started;
      for (const { version, indices } of groups.values()) {
        this.recorder.failed(call(latencyMs, indices), version, e, { matrix: null, width: 0, raw: { rows: n } });
      }
      throw e;
    }
    const latencyMs = performance.now() - started;
    for (const { version, matrix, width, output, indices } of outputs) {
      for (let j = 0; j < indices.length; j++) {
        const i = indices[j];
        predictions[i] = output.predictions[j];
        if (output.probabilities) {
          probabilities ??= Object.create(null) as Record<string, number[]>;
          for (const [label, p] of Object.entries(output.probabilities)) (probabilities[label] ??= new Array(n).fill(null))[i] = p[j];
        }
      }
      // One log entry for the version's rows: row j is logged as prediction `${batchId}:${indices[j]}`.
      this.recorder.served(call(latencyMs, indices), version.version, { matrix, width }, output);
    }
    return {
      batchId,
      name,
      rows: n,
      served: outputs.map((o) => ({ version: o.version.version, stage: o.version.stage, rows: o.indices.length })),
      versionPerRow: groups.size > 1 ? routedVersions : null,
      predictions,
      probabilities,
      targetNames: sameTargetNames(outputs.map((o) => o.version)),
      latencyMs,
    };
  }

  /** Loads a version's ONNX session into the cache (a dry run only checks it could). */
  async deploy(name: string, label: string, dryRun: boolean): Promise<{ version: ModelVersion; loaded: boolean; alreadyLoaded: boolean; loadMs: number }> {
    const version = await this.routes.find(name, label);
    const served = servedArtifact(version).sha256;
    const alreadyLoaded = this.deps.sessions.has(served);
    if (dryRun) return { version, loaded: false, alreadyLoaded, loadMs: 0 };
    const started = performance.now();
    try {
      await this.deps.sessions.get(served);
    } catch (e) {
      throw servingFailure(version, e, this.deps.artifacts.dir);
    }
    return { version, loaded: true, alreadyLoaded, loadMs: performance.now() - started };
  }

  /** Unloads a version's session; refused while the version takes traffic. */
  async undeploy(name: string, label: string, dryRun: boolean): Promise<{ version: ModelVersion; wasLoaded: boolean; unloaded: boolean }> {
    const version = await this.routes.find(name, label);
    const state = await this.routes.state(name);
    const effective = state.effective;
    const weight = weightOf(effective?.weights, label);
    if (weight > 0) {
      throw failedPrecondition(`${name} ${label} takes ${Math.round(weight * 1000) / 10}% of the traffic: it cannot be undeployed while it does.`, [
        { kind: 'move_traffic', name },
        ...(version.stage === 'production' ? [{ kind: 'promote' as const, name }] : []),
      ]);
    }
    // The cache holds one session per ONNX file: another version with the same bytes that takes
    // traffic (of this model or another) is served by it too.
    for (const other of await this.deps.registry.versionsWithArtifact(version.artifactSha256)) {
      if (other.name === name && other.version === label) continue;
      const share = weightOf((await this.routes.state(other.name)).effective?.weights, other.version);
      if (share > 0) {
        throw failedPrecondition(
          `${name} ${label} has the same ONNX file as ${other.name} ${other.version}, which takes ${Math.round(share * 1000) / 10}% of ${other.name}'s traffic: they share one loaded session, which stays loaded while it does. Nothing was unloaded.`,
        );
      }
    }
    const served = servedArtifact(version).sha256;
    const wasLoaded = this.deps.sessions.has(served);
    if (dryRun) return { version, wasLoaded, unloaded: false };
    const unloaded = await this.deps.sessions.unload(served);
    return { version, wasLoaded, unloaded };
  }

  /**
   * Sets a model's split. `check` is called with the model's state inside the write's
   * transaction, before anything is written, and throws to refuse it (the MCP layer checks that
   * the state is the one it assessed and had approved).
   */
  async configureTraffic(
    name: string,
    weights: Record<string, number>,
    routing: Routing,
    who: Actor,
    dryRun: boolean,
    check?: (state: ModelState) => void,
  ): Promise<TrafficChange> {
    const plan = (state: { versions: ModelVersion[]; traffic: TrafficConfig | null }) => {
      const valid = validateWeights(name, state.versions, weights);
      const split = Object.entries(valid)
        .map(([v, w]) => `${v} ${Math.round(w * 1000) / 10}%`)
        .join(' / ');
      const alerts: AlertDraft[] = [
        {
          type: 'traffic_changed',
          severity: 'info',
          name,
          version: null,
          message: `${name} traffic set to ${split} (${routing} routing)`,
          details: { weights: valid, routing },
        },
      ];
      return { weights: valid, routing, alerts };
    };
    const state = await this.routes.state(name);
    const before = state.effective?.weights ?? {};
    if (dryRun) {
      const p = plan(state);
      return { name, dryRun: true, before, after: p.weights, routing, alerts: p.alerts };
    }
    const result = await this.deps.traffic.setTraffic(
      name,
      (s) => {
        check?.(s);
        return plan(s);
      },
      who,
    );
    return { name, dryRun: false, before, after: result.config.weights, routing, alerts: result.plan.alerts };
  }

  /** The split in force and what each variant served since it was set (see trafficReport). */
  async trafficReport(name: string, serverStart: Date): Promise<TrafficReport> {
    return trafficReport(this.deps, name, await this.routes.state(name), serverStart);
  }

  /** Runs a version once on a row of zeros, unlogged: proof that it serves (health checks). */
  async probe(version: ModelVersion): Promise<number> {
    const started = performance.now();
    const width = expectedFeatures(version).length;
    await this.run(version, new Float64Array(width), 1, width);
    return performance.now() - started;
  }

  /**
   * Refuses new calls and waits (at most `waitMs`) for those under way, so that their
   * predictions reach the log. Short: the CLI's whole shutdown (HTTP drain included) has 5 s.
   */
  async close(waitMs = 1500): Promise<void> {
    clearInterval(this.alertTimer);
    this.closing = true;
    if (this.inflight > 0) await doneOrAfter(waitMs, (done) => (this.drained = done));
  }

  /** Raises the serving alerts whose episode starts now (also run every second). */
  checkAlerts(now = Date.now()): Promise<void> {
    return this.alerts.check(now);
  }

  /** Runs n rows on a version; `rowName(r)` names row r of them in an error (its number in a batch). */
  private async run(version: ModelVersion, matrix: Float64Array, n: number, k: number, rowName: (r: number) => string = () => ''): Promise<BatchOutput> {
    try {
      return await this.runs.run(version, matrix, n, k);
    } catch (e) {
      if (e instanceof RowValueError) throw new DomainError('invalid_argument', `${rowName(e.row)}${version.name} ${version.version}: ${e.detail}`);
      throw servingFailure(version, e, this.deps.artifacts.dir);
    }
  }
}

/** The target names every version has alike (null when they differ or none names them). */
function sameTargetNames(versions: readonly ModelVersion[]): string[] | null {
  const names = versions.map((v) => v.signature.targetNames ?? null);
  const first = names[0] ?? null;
  return first && names.every((n) => n !== null && n.length === first.length && n.every((t, i) => t === first[i])) ? first : null;
}
