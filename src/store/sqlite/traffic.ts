import type { Statement } from 'better-sqlite3';
import type { Actor, ModelState } from '../../registry/types.js';
import type { ServingState, TrafficStore } from '../../serving/ports.js';
import type { Routing, TrafficConfig, TrafficPlan } from '../../serving/traffic.js';
import type { SqliteConnection } from './connection.js';
import type { SqliteRegistryStore } from './registry.js';
import { toVersion, type VersionRow } from './rows.js';
import { trafficAudit } from '../audit.js';

/** Traffic splits on SQLite. */
export class SqliteTrafficStore implements TrafficStore {
  readonly q: Record<string, Statement>;

  constructor(
    private readonly c: SqliteConnection,
    private readonly registry: SqliteRegistryStore,
  ) {
    this.q = {
      versionsOnly: c.db.prepare('SELECT * FROM model_versions WHERE model_name = ? ORDER BY seq'),
      allTraffic: c.db.prepare('SELECT model_name, weights, routing, updated_at FROM traffic_configs ORDER BY model_name'),
      upsertTraffic: c.db.prepare(`INSERT INTO traffic_configs (model_name, weights, routing, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (model_name) DO UPDATE SET weights = excluded.weights, routing = excluded.routing, updated_at = excluded.updated_at`),
    };
  }

  async servingState(name: string): Promise<ServingState | undefined> {
    const versions = (this.q.versionsOnly.all(name) as VersionRow[]).map(toVersion);
    if (!versions.length) return undefined;
    return { versions, traffic: this.registry.readTraffic(name) };
  }

  async setTraffic(
    name: string,
    plan: (state: ModelState) => TrafficPlan,
    who: Actor,
  ): Promise<{ plan: TrafficPlan; before: TrafficConfig | null; config: TrafficConfig }> {
    return this.c.write(() => {
      const state = this.registry.readModelState(name);
      if (!state) throw new Error(`setTraffic: model ${name} vanished`); // callers check existence first
      const decided = plan(state);
      const now = this.c.now();
      this.q.upsertTraffic.run(name, JSON.stringify(decided.weights), decided.routing, now);
      this.c.enqueue('traffic', name, { weights: decided.weights, routing: decided.routing, before: state.traffic?.weights ?? null }, now);
      this.c.audit(trafficAudit(name, who, now, { before: state.traffic?.weights ?? null, after: decided.weights, routing: decided.routing }));
      for (const alert of decided.alerts) this.c.alert(alert, now);
      this.c.localWrites++;
      return { plan: decided, before: state.traffic, config: { weights: decided.weights, routing: decided.routing, updatedAt: now } };
    });
  }

  async trafficConfigs(): Promise<Array<{ name: string; config: TrafficConfig }>> {
    const rows = this.q.allTraffic.all() as Array<{ model_name: string; weights: string; routing: Routing; updated_at: string }>;
    return rows.map((r) => ({
      name: r.model_name,
      config: { weights: JSON.parse(r.weights) as Record<string, number>, routing: r.routing, updatedAt: r.updated_at },
    }));
  }
}
