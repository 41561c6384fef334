import { DomainError, failedPrecondition, notFound } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ModelVersion } from '../registry/types.js';
import type { ChangeFeed, TrafficStore } from './ports.js';
import type { PredictOptions, RoutedBy } from './serving-types.js';
import { stickyBucket } from './sticky.js';
import { defaultTraffic, pickVersion, pickerFor, type Picker, type TrafficConfig } from './traffic.js';

export interface RouteState {
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

export interface Route {
  version: ModelVersion;
  routedBy: RoutedBy;
}

/**
 * Each model's routing state (versions and split), read from the store once per change and kept
 * while the change feed's token stays the same, and the choice of a version for a request.
 */
export class RouteTable {
  private readonly routes = new Map<string, RouteState>();

  constructor(private readonly deps: { traffic: TrafficStore; changes: ChangeFeed; logger: Logger }) {}

  /** Whether the model's state was ever read: a model that exists. */
  has(name: string): boolean {
    return this.routes.has(name);
  }

  /** The model's routing state: the cached one, without a promise, while nothing has changed. */
  state(name: string): RouteState | Promise<RouteState> {
    const token = this.deps.changes.token();
    const cached = this.routes.get(name);
    if (cached) {
      if (cached.token === token) return cached;
      if (cached.retryAt && (cached.reloading || (performance.now() < cached.retryAt && token === cached.staleToken))) return cached;
    }
    return this.load(name, token, cached);
  }

  /** The version a request goes to: the one asked for, else by the split (sticky by routing key, or a draw). */
  route(name: string, state: RouteState, options: PredictOptions, random: () => number): Route {
    if (options.version !== undefined) {
      const version = state.byLabel.get(options.version);
      if (!version) throw notFound(`Model "${name}" has no version "${options.version}" (versions: ${labels(state)}).`);
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

  /** A version of the model by its label, whatever its stage. */
  async find(name: string, label: string): Promise<ModelVersion> {
    const state = await this.state(name);
    const version = state.byLabel.get(label);
    if (!version) throw notFound(`Model "${name}" has no version "${label}" (versions: ${labels(state)}).`);
    return version;
  }

  private async load(name: string, token: number, cached: RouteState | undefined): Promise<RouteState> {
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
}

const labels = (state: RouteState): string => state.versions.map((v) => v.version).join(', ');
