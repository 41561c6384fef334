import { DomainError, failedPrecondition, notFound, type NextStep } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AlertService } from '../monitoring/alerts.js';
import type { AlertDraft } from '../monitoring/alert-types.js';
import { ArtifactDamagedError, type ArtifactStore } from '../registry/artifacts.js';
import type { RegistryStore } from '../registry/ports.js';
import { servedArtifact } from '../registry/rules.js';
import type { Actor, ModelState, ModelVersion, Stage } from '../registry/types.js';
import { doneOrAfter } from '../timing.js';
import { ExternalDataError } from './onnx-proto.js';
import { newPredictionId } from './prediction-id.js';
import { expectedFeatures, isFeatureTable, tableToMatrix, toMatrix, type FeatureRow, type FeatureTable } from './features.js';
import type { ServingMetrics } from './metrics.js';
import type { PredictionLog } from './prediction-log.js';
import type { ChangeFeed, PendingPredictions, PredictionLogStore, TrafficStore, VariantTally } from './ports.js';
import { ModelProcessError, ModelRunFailure } from './model-host.js';
import { limitAdvice, ModelLimitError } from './model-limits.js';
import { ModelLoadError } from './model-pool.js';
import { RowValueError, type BatchOutput, type PredictionValue } from './outputs.js';
import { RunCoalescer } from './run-coalescer.js';
import { rowOf, runBatch } from './runner.js';
import { onnxruntimeMessage } from './runtime.js';
import { CacheHitWatch } from './cache-watch.js';
import type { SessionCache } from './session-cache.js';
import type { ServingStats } from './stats.js';
import { stickyBucket } from './sticky.js';
import {
  defaultTraffic,
  pickVersion,
  pickerFor,
  validateWeights,
  weightOf,
  type Picker,
  type Routing,
  type SinceEvent,
  type TrafficConfig,
} from './traffic.js';

/**
 * How a request's version was chosen: asked for, the production version (no split: nothing to
 * draw, a routing key changes nothing), or within a split by the routing key's bucket or a draw.
 */
export type RoutedBy = 'explicit' | 'production' | 'sticky' | 'random';

export const ROUTED_BY = ['explicit', 'production', 'sticky', 'random'] as const satisfies readonly RoutedBy[];

export interface PredictOptions {
  version?: string | undefined;
  routingKey?: string | undefined;
  /** When the prediction is logged as made (epoch ms; default now): the demo's simulated history. */
  at?: number | undefined;
}

export interface Prediction {
  predictionId: string;
  name: string;
  version: string;
  stage: Stage;
  prediction: PredictionValue;
  probabilities: Record<string, number> | null;
  /** A multi-target regressor's target names, when the model names them. */
  targetNames: string[] | null;
  latencyMs: number;
  routedBy: RoutedBy;
}

export interface BatchPrediction {
  batchId: string;
  name: string;
  rows: number;
  /** One entry per version that served rows, with how many. */
  served: Array<{ version: string; stage: Stage; rows: number }>;
  /** The version of each row; null when one version served them all. */
  versionPerRow: string[] | null;
  predictions: PredictionValue[];
  probabilities: Record<string, number[]> | null;
  /** A multi-target regressor's target names, when every version served names them alike. */
  targetNames: string[] | null;
  latencyMs: number;
}

export interface TrafficChange {
  name: string;
  dryRun: boolean;
  before: Record<string, number>;
  after: Record<string, number>;
  routing: Routing;
  alerts: AlertDraft[];
}

export interface VariantReport {
  version: string;
  stage: Stage | null;
  weight: number;
  count: number;
  errors: number;
  errorRate: number;
  latencyMs: { p50: number; p95: number; p99: number } | null;
  meanOutput: number | null;
}

export interface TrafficReport {
  /** The split in force (the explicit one, else all to production); null when nothing is routed. */
  config: TrafficConfig | null;
  explicit: boolean;
  since: string;
  sinceEvent: SinceEvent;
  variants: VariantReport[];
}

export interface ServingDeps {
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
  alertErrorRate: number;
  alertP95LatencyMs: number;
  alertMinRequests: number;
  /** Session cache hit rate over the alert window below which cache_hit_rate_low is raised. */
  alertCacheHitRate: number;
  /** The alert window: an episode no server saw for this long is over. */
  alertWindowMs: number;
  random?: () => number;
}

interface RouteState {
  token: number;
  versions: ModelVersion[];
  /** The versions by label (a model may have thousands: no scan per request). */
  byLabel: ReadonlyMap<string, ModelVersion>;
  /** The explicit split, if one is set. */
  traffic: TrafficConfig | null;
  /** The split in force: the explicit one, else all to production; null when nothing can be routed. */
  effective: TrafficConfig | null;
  picker: Picker | null;
  /**
   * Set once the store could not be read (a database that is down): this state serves on until
   * `retryAt` (performance.now()) while the change token stays at `staleToken`, and while one
   * request reads it again; 0 while the store answers.
   */
  retryAt: number;
  staleToken: number;
  reloading: boolean;
}

/** How long the routing state last read serves on, once the store could not be read, before it is tried again. */
export const STALE_ROUTE_RETRY_MS = 1000;

/**
 * Serving: routes a request to a version (explicit, sticky by routing key, or random by
 * weight), validates its features against the signature, runs ONNX through the session cache,
 * and logs and counts every prediction, ok or failed.
 */
export class ServingService {
  private readonly routes = new Map<string, RouteState>();
  private readonly random: () => number;
  /** Alert episodes in progress, `${type}\0${model}`: an alert is raised when one starts, not on every check. */
  private readonly episodes = new Set<string>();
  /** Models whose alert could not be stored: checked again at the next check. */
  private readonly unraised = new Set<string>();
  private readonly alertTimer: NodeJS.Timeout;
  private readonly cacheWatch: CacheHitWatch;
  private readonly runs: RunCoalescer;

  constructor(private readonly deps: ServingDeps) {
    this.runs = new RunCoalescer(
      (version, matrix, n, k, requests) => deps.sessions.use(servedArtifact(version).sha256, (session) => runBatch(session, version, matrix, n, k), requests),
      // Whatever a request's rows cannot cause alone is everyone's: a load, a process that died, a time limit.
      (e) =>
        e instanceof ModelLoadError || e instanceof ModelProcessError || (e instanceof ModelLimitError && (e.limit === 'run_time' || e.limit === 'load_time')),
    );
    this.random = deps.random ?? Math.random;
    this.cacheWatch = new CacheHitWatch(() => deps.sessions.snapshot(), {
      windowMs: deps.alertWindowMs,
      minLookups: deps.alertMinRequests,
      threshold: deps.alertCacheHitRate,
    });
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
    let version: ModelVersion | null = null;
    let matrix: Float64Array | null = null;
    let width = 0;
    try {
      const cached = this.routeState(name);
      const route = this.routeWith(name, cached instanceof Promise ? await cached : cached, options, this.random);
      version = route.version;
      const names = expectedFeatures(version);
      width = names.length;
      matrix = toMatrix([features], names);
      const output = await this.run(version, matrix, 1, width);
      const latencyMs = performance.now() - started;
      this.record(id, name, version.version, true, null, matrix, width, features, output, latencyMs, options.routingKey, at);
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
      this.recordFailure(id, name, version, e, matrix, width, features, performance.now() - started, options.routingKey, at, null);
      throw e;
    }
  }

  private async predictRows(name: string, input: readonly FeatureRow[] | FeatureTable, options: PredictOptions): Promise<BatchPrediction> {
    const held = this.deps.log.backpressure();
    if (held) await held;
    const started = performance.now();
    const at = options.at ?? Date.now();
    const batchId = newPredictionId(at);
    const n = isFeatureTable(input) ? input.data.length : input.length;
    if (!n) throw new DomainError('invalid_argument', 'rows is empty: give at least one row of features.');
    const state = await this.routeState(name);
    const groups = new Map<string, { version: ModelVersion; indices: number[] }>();
    const routedVersions = new Array<string>(n);
    try {
      // One route for every row when nothing varies per row: a version asked for, a routing key
      // under sticky routing (random routing ignores keys), or a split with a single version
      // (production alone, by default).
      const oneVersion = state.effective !== null && Object.keys(state.effective.weights).length === 1;
      const oneKey = options.routingKey !== undefined && state.effective?.routing === 'sticky';
      const shared = options.version !== undefined || oneKey || oneVersion ? this.routeWith(name, state, options, this.random) : null;
      for (let i = 0; i < n; i++) {
        const route = shared ?? this.routeWith(name, state, options, this.random);
        let g = groups.get(route.version.version);
        if (!g) groups.set(route.version.version, (g = { version: route.version, indices: [] }));
        g.indices.push(i);
        routedVersions[i] = route.version.version;
      }
    } catch (e) {
      // Routing failed (a version that does not exist or is archived, no production version): logged as predict logs it.
      const all = Array.from({ length: n }, (_, i) => i);
      this.recordFailure(batchId, name, null, e, null, 0, { rows: n }, performance.now() - started, options.routingKey, at, all);
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
        this.recordFailure(batchId, name, version, e, null, 0, { rows: n }, latencyMs, options.routingKey, at, indices);
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
      this.record(batchId, name, version.version, true, null, matrix, width, undefined, output, latencyMs, options.routingKey, at, indices);
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
    const version = await this.findVersion(name, label);
    const served = servedArtifact(version).sha256;
    const alreadyLoaded = this.deps.sessions.has(served);
    if (dryRun) return { version, loaded: false, alreadyLoaded, loadMs: 0 };
    const started = performance.now();
    try {
      await this.deps.sessions.get(served);
    } catch (e) {
      throw this.servingFailure(version, e);
    }
    return { version, loaded: true, alreadyLoaded, loadMs: performance.now() - started };
  }

  /** Unloads a version's session; refused while the version takes traffic. */
  async undeploy(name: string, label: string, dryRun: boolean): Promise<{ version: ModelVersion; wasLoaded: boolean; unloaded: boolean }> {
    const version = await this.findVersion(name, label);
    const state = await this.routeState(name);
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
      const share = weightOf((await this.routeState(other.name)).effective?.weights, other.version);
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
    const state = await this.routeState(name);
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

  /**
   * The split in force and, per variant, what it served since the split was set (from the
   * prediction log); with no split, since the last one ended (the audit trail has when), else
   * since `serverStart`.
   */
  async trafficReport(name: string, serverStart: Date): Promise<TrafficReport> {
    const state = await this.routeState(name);
    const config = state.effective;
    const { from, sinceEvent } = state.traffic?.updatedAt
      ? { from: state.traffic.updatedAt, sinceEvent: 'split_set' as const }
      : await this.defaultSince(name, serverStart);
    // Counts, errors and means over everything logged since the split was set (per-minute
    // aggregates, every process's written predictions) plus this process's predictions not yet
    // in the database, without waiting for a flush; latency percentiles over this process's
    // latest predictions of each variant since then (in memory).
    const read = this.deps.log.startRead();
    let tallies: Map<string | null, VariantTally>;
    try {
      const counted = await this.deps.predictions.tallies(name, from, this.deps.log.writerId);
      tallies = counted.tallies;
      addUnwritten(tallies, read.notInDatabase(counted.progress), name, Date.parse(from));
    } finally {
      read.end();
    }
    const labels = new Set([...Object.keys(config?.weights ?? {}), ...[...tallies.keys()].filter((v): v is string => v !== null)]);
    const variants: VariantReport[] = [];
    for (const label of [...labels].sort()) {
      const c = tallies.get(label);
      variants.push({
        version: label,
        stage: state.byLabel.get(label)?.stage ?? null,
        weight: weightOf(config?.weights, label),
        count: c?.count ?? 0,
        errors: c?.errors ?? 0,
        errorRate: c?.count ? c.errors / c.count : 0,
        latencyMs: this.deps.stats.variantLatencies(name, label, Date.parse(from)),
        // A sum past float64's range (outputs near 1e308) has no mean to give.
        meanOutput: c?.n && Number.isFinite(c.sum / c.n) ? c.sum / c.n : null,
      });
    }
    return { config, explicit: state.traffic !== null, since: from, sinceEvent, variants };
  }

  /** Without a split: counts start when the last split ended (a configure_traffic entry to no split), or at `serverStart` if none ever did. */
  private async defaultSince(name: string, serverStart: Date): Promise<{ from: string; sinceEvent: SinceEvent }> {
    const [last] = await this.deps.registry.history(name, { action: 'configure_traffic', limit: 1 });
    return last && last.details?.after === null
      ? { from: last.createdAt, sinceEvent: 'split_ended' }
      : { from: serverStart.toISOString(), sinceEvent: 'server_started' };
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

  /**
   * Raises high_error_rate / high_latency once per episode, for models with new requests and
   * models with an episode under way. An episode ends when the window has enough requests and
   * the condition no longer holds, or has none at all: with fewer than the minimum it goes on
   * (low traffic hovering around the minimum would otherwise end and restart it, raising the
   * alert again and again through one outage). Requests are calls: a batch counts once.
   */
  async checkAlerts(now = Date.now()): Promise<void> {
    const { alertErrorRate, alertP95LatencyMs, alertMinRequests } = this.deps;
    const cache = this.cacheWatch.check(now);
    if (cache) {
      await this.deps.alerts.raise(cache).catch((e: unknown) => {
        this.cacheWatch.unraised();
        this.deps.logger.error({ err: e }, 'could not raise alert');
      });
    }
    const windows = this.deps.stats.drainTouched(now);
    const seen = new Set(windows.map((w) => w.name));
    const pending = [...this.episodes].map((key) => key.slice(key.indexOf('\0') + 1)).concat([...this.unraised]);
    this.unraised.clear();
    for (const name of pending) {
      if (!seen.has(name)) {
        seen.add(name);
        windows.push(this.deps.stats.window(name, now));
      }
    }
    for (const w of windows) {
      const holds = (condition: boolean): boolean | null => (w.requests >= alertMinRequests ? condition : w.requests === 0 ? false : null);
      await this.episode('high_error_rate', w.name, holds(w.errorRate > alertErrorRate), () => ({
        type: 'high_error_rate',
        severity: 'critical',
        name: w.name,
        version: null,
        message: `${w.name}: ${(w.errorRate * 100).toFixed(1)}% of ${w.requests} requests failed in the alert window (threshold ${alertErrorRate * 100}%)`,
        details: { requests: w.requests, errors: w.errors, error_rate: w.errorRate },
      }));
      await this.episode('high_latency', w.name, holds(w.p95Ms !== null && w.p95Ms > alertP95LatencyMs), () => ({
        type: 'high_latency',
        severity: 'warning',
        name: w.name,
        version: null,
        message: `${w.name}: p95 latency ${w.p95Ms} ms over ${w.requests} requests in the alert window (threshold ${alertP95LatencyMs} ms)`,
        details: { requests: w.requests, p95_ms: w.p95Ms },
      }));
    }
  }

  /**
   * `active`: whether the condition holds; null when the window cannot tell (the episode stays as
   * it is). While it holds, or while an episode of this server's cannot be judged, the episode is
   * marked active in the store, for every server: the alert is raised by whichever server finds
   * no episode active within the alert window, once however many servers see it.
   */
  private async episode(type: string, name: string, active: boolean | null, draft: () => AlertDraft): Promise<void> {
    const key = `${type}\0${name}`;
    if (active === false) {
      this.episodes.delete(key);
      return;
    }
    if (active === null && !this.episodes.has(key)) return;
    const fresh = active === true && !this.episodes.has(key);
    this.episodes.add(key);
    try {
      await this.deps.alerts.raiseOnce(key, fresh ? draft() : null, this.deps.alertWindowMs);
    } catch (e) {
      // Not marked: the next check tries again, with or without new traffic.
      if (fresh) this.episodes.delete(key);
      this.unraised.add(name);
      this.deps.logger.error({ err: e }, 'could not raise alert');
    }
  }

  /** Runs n rows on a version; `rowName(r)` names row r of them in an error (its number in a batch). */
  private async run(version: ModelVersion, matrix: Float64Array, n: number, k: number, rowName: (r: number) => string = () => ''): Promise<BatchOutput> {
    try {
      return await this.runs.run(version, matrix, n, k);
    } catch (e) {
      if (e instanceof RowValueError) throw new DomainError('invalid_argument', `${rowName(e.row)}${version.name} ${version.version}: ${e.detail}`);
      throw this.servingFailure(version, e);
    }
  }

  /** A version that failed to load or run, as an error that says what to do (and no path into the server's disk). */
  private servingFailure(version: ModelVersion, failure: unknown): DomainError {
    const loading = failure instanceof ModelLoadError;
    const e = loading ? failure.cause : failure;
    if (e instanceof DomainError) return e;
    const what = `${version.name} ${version.version}`;
    const instead: NextStep[] = [
      { kind: 'rollback', name: version.name },
      { kind: 'promote', name: version.name },
    ];
    if (e instanceof ModelLimitError) {
      const stopped = e.limit === 'run_time' || e.limit === 'load_time' ? ': it was stopped and its model process replaced' : loading ? ' to load' : '';
      return new DomainError('invalid_model', `${what} ${e.message}${stopped}; ${limitAdvice(e.limit)}.`, instead);
    }
    if (e instanceof ModelProcessError && e.signal) {
      return new DomainError('invalid_model', `${what} failed: ${e.message}; a fresh one took its place.`, instead);
    }
    if (e instanceof ExternalDataError) {
      return failedPrecondition(
        `${what} cannot be served: it ${e.message}, and was registered before mlops-mcp stored such data inside the artifact. Register the model again with its data files beside it (they are inlined), or a self-contained export (onnx.save_model(model, path, save_as_external_data=False)), and promote it.`,
        [{ kind: 'rollback', name: version.name }],
      );
    }
    if (e instanceof ArtifactDamagedError) {
      return failedPrecondition(`${what} cannot be served: its ${e.message}. Its ONNX file can be registered again.`, instead);
    }
    const msg = onnxruntimeMessage(e, { path: this.deps.artifacts.dir, as: 'artifacts' });
    if (e instanceof ModelRunFailure && !loading) {
      return new DomainError(
        'invalid_model',
        `${what} failed to run in onnxruntime on this input (${msg}); an export that takes these inputs can be registered.`,
        [
          { kind: 'show_model', name: version.name },
          { kind: 'rollback', name: version.name },
        ],
      );
    }
    return new DomainError('internal', `${what} failed to load in onnxruntime (${msg}); if it persists, roll back or register the version again.`, [
      { kind: 'check_health' },
    ]);
  }

  /** The model's routing state: the cached one, without a promise, while nothing has changed. */
  private routeState(name: string): RouteState | Promise<RouteState> {
    const token = this.deps.changes.token();
    const cached = this.routes.get(name);
    if (cached) {
      if (cached.token === token) return cached;
      if (cached.retryAt && (cached.reloading || (performance.now() < cached.retryAt && token === cached.staleToken))) return cached;
    }
    return this.loadRouteState(name, token, cached);
  }

  private async loadRouteState(name: string, token: number, cached: RouteState | undefined): Promise<RouteState> {
    let state: Awaited<ReturnType<TrafficStore['servingState']>>;
    if (cached?.retryAt) cached.reloading = true;
    try {
      state = await this.deps.traffic.servingState(name);
    } catch (e) {
      // The database is down: no server can change the registry meanwhile, so what was last read
      // routes on (scoring outlives the database), read again every STALE_ROUTE_RETRY_MS or as
      // soon as a change is known (one made here, once the database is back).
      if (!cached || !(e instanceof DomainError) || e.code !== 'unavailable') throw e;
      if (!cached.retryAt) this.deps.logger.warn({ model: name }, 'the store cannot be read: routing on the state last read');
      cached.retryAt = performance.now() + STALE_ROUTE_RETRY_MS;
      cached.staleToken = this.deps.changes.token();
      return cached;
    } finally {
      if (cached) cached.reloading = false;
    }
    if (!state) throw notFound(`No model named "${name}" is registered.`, [{ kind: 'list_models' }]);
    const effective = state.traffic ?? defaultTraffic(state.versions);
    const fresh: RouteState = {
      token,
      ...state,
      byLabel: new Map(state.versions.map((v) => [v.version, v])),
      effective,
      picker: effective && pickerFor(effective),
      retryAt: 0,
      staleToken: token,
      reloading: false,
    };
    this.routes.set(name, fresh);
    return fresh;
  }

  private routeWith(name: string, state: RouteState, options: PredictOptions, random: () => number): { version: ModelVersion; routedBy: RoutedBy } {
    if (options.version !== undefined) {
      const version = state.byLabel.get(options.version);
      if (!version) throw notFound(`Model "${name}" has no version "${options.version}" (versions: ${state.versions.map((v) => v.version).join(', ')}).`);
      if (version.stage === 'archived')
        throw failedPrecondition(`${name} ${version.version} is archived; promote it to staging to serve it, or leave version out.`);
      return { version, routedBy: 'explicit' };
    }
    const { effective: config, picker } = state;
    if (!config || !picker) {
      throw failedPrecondition(`${name} has no production version and no traffic split.`, [{ kind: 'promote', name }, { kind: 'pass_version' }]);
    }
    const sticky = config.routing === 'sticky' && options.routingKey !== undefined;
    const label = pickVersion(picker, sticky ? stickyBucket(name, options.routingKey as string) : random());
    const version = state.byLabel.get(label);
    if (!version) throw new DomainError('internal', `traffic split of ${name} names version ${label}, which does not exist`);
    return { version, routedBy: state.traffic === null ? 'production' : sticky ? 'sticky' : 'random' };
  }

  private async findVersion(name: string, label: string): Promise<ModelVersion> {
    const state = await this.routeState(name);
    const version = state.byLabel.get(label);
    if (!version) throw notFound(`Model "${name}" has no version "${label}" (versions: ${state.versions.map((v) => v.version).join(', ')}).`);
    return version;
  }

  /**
   * Logs and counts a predict call's prediction, or a batch's rows of one version (`indices`:
   * the batch's row numbers; `id` is then the batch id), ok or failed.
   */
  private record(
    id: string,
    name: string,
    version: string,
    ok: boolean,
    error: string | null,
    matrix: Float64Array | null,
    width: number,
    raw: unknown,
    output: BatchOutput | null,
    latencyMs: number,
    routingKey: string | undefined,
    at: number,
    indices: number[] | null = null,
  ): void {
    const rows = indices?.length ?? 1;
    this.deps.log.append({
      id,
      indices,
      rows,
      name,
      version,
      ok,
      error,
      matrix,
      width,
      rawFeatures: matrix ? null : rawFeaturesText(raw),
      output,
      latencyMs,
      routingKey: routingKey ?? null,
      at,
    });
    this.deps.stats.record(name, version, ok, latencyMs, at, rows);
    this.deps.metrics.record(name, version, ok, rows, latencyMs / 1000);
  }

  /** Logs a failed prediction of an existing model (a request for an unknown model leaves no trace to fill the log with). */
  private recordFailure(
    id: string,
    name: string,
    version: ModelVersion | null,
    e: unknown,
    matrix: Float64Array | null,
    width: number,
    raw: unknown,
    latencyMs: number,
    routingKey: string | undefined,
    at: number,
    indices: number[] | null,
  ): void {
    if (!this.routes.has(name)) return;
    const error = e instanceof Error ? e.message.slice(0, 500) : String(e);
    if (version) {
      this.record(id, name, version.version, false, error, matrix, width, raw, null, latencyMs, routingKey, at, indices);
    } else {
      // Routing failed: no version to log under (a batch's rows as one entry, its input not kept).
      const rows = indices?.length ?? 1;
      this.deps.log.append({
        id,
        indices,
        rows,
        name,
        version: null,
        ok: false,
        error,
        matrix: null,
        width: 0,
        rawFeatures: rawFeaturesText(raw),
        output: null,
        latencyMs,
        routingKey: routingKey ?? null,
        at,
      });
      this.deps.stats.record(name, null, false, latencyMs, at, rows);
    }
  }
}

/** The target names every version has alike (null when they differ or none names them). */
function sameTargetNames(versions: readonly ModelVersion[]): string[] | null {
  const names = versions.map((v) => v.signature.targetNames ?? null);
  const first = names[0] ?? null;
  return first && names.every((n) => n !== null && n.length === first.length && n.every((t, i) => t === first[i])) ? first : null;
}

/** The log keeps at most this much of a failed request's input. */
const RAW_FEATURES_CHARS = 10_000;

/** A failed request's input for the log, as JSON text; null when it has none that JSON can say. */
function rawFeaturesText(raw: unknown): string | null {
  try {
    return JSON.stringify(raw)?.slice(0, RAW_FEATURES_CHARS) ?? null;
  } catch {
    return null; // a BigInt, a cycle or a throwing getter: an in-process caller's value
  }
}

/** Adds model `name`'s entries at or after `fromMs` to the tallies, as the writer tallies them when it writes them. */
function addUnwritten(tallies: Map<string | null, VariantTally>, entries: readonly PendingPredictions[], name: string, fromMs: number): void {
  for (const p of entries) {
    if (p.name !== name || p.at < fromMs) continue;
    let t = tallies.get(p.version);
    if (!t) tallies.set(p.version, (t = { count: 0, errors: 0, sum: 0, n: 0 }));
    t.count += p.rows;
    if (!p.ok) t.errors += p.rows;
    for (const v of p.output?.predictions ?? []) {
      if (typeof v === 'number') {
        t.sum += v;
        t.n++;
      }
    }
  }
}
