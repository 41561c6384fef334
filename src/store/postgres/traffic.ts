import type { Actor, ModelState } from '../../registry/types.js';
import type { ServingState, TrafficStore } from '../../serving/ports.js';
import type { Routing, TrafficConfig, TrafficPlan } from '../../serving/traffic.js';
import type { PostgresConnection } from './connection.js';
import { readModelState } from './registry.js';
import { toVersion, VERSION_COLUMNS, type VersionRow } from './rows.js';
import { trafficAudit } from '../audit.js';

type ServingRow = VersionRow & { weights: Record<string, number> | null; routing: Routing | null; traffic_updated_at: string | null };

/** Traffic splits on PostgreSQL. */
export class PostgresTrafficStore implements TrafficStore {
  constructor(private readonly c: PostgresConnection) {}

  /** One statement, so versions and split come from one snapshot. */
  async servingState(name: string): Promise<ServingState | undefined> {
    const columns = VERSION_COLUMNS.split(', ')
      .map((col) => `v.${col}`)
      .join(', ');
    const rows = await this.c.query<ServingRow>(
      `SELECT ${columns}, t.weights, t.routing, t.updated_at AS traffic_updated_at
       FROM model_versions v LEFT JOIN traffic_configs t ON t.model_name = v.model_name
       WHERE v.model_name = $1 ORDER BY v.seq`,
      [name],
    );
    if (!rows.length) return undefined;
    const first = rows[0];
    const traffic =
      first.weights && first.routing && first.traffic_updated_at
        ? { weights: first.weights, routing: first.routing, updatedAt: first.traffic_updated_at }
        : null;
    return { versions: rows.map(toVersion), traffic };
  }

  async setTraffic(
    name: string,
    plan: (state: ModelState) => TrafficPlan,
    who: Actor,
  ): Promise<{ plan: TrafficPlan; before: TrafficConfig | null; config: TrafficConfig }> {
    const result = await this.c.write(async (tx) => {
      if (!(await tx.lockModel(name))) throw new Error(`setTraffic: model ${name} vanished`); // callers check existence first
      const state = (await readModelState(tx, name))!;
      const decided = plan(state);
      const now = this.c.now();
      await tx.query(
        `INSERT INTO traffic_configs (model_name, weights, routing, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (model_name) DO UPDATE SET weights = excluded.weights, routing = excluded.routing, updated_at = excluded.updated_at`,
        [name, JSON.stringify(decided.weights), decided.routing, now],
      );
      const effects = tx
        .effects()
        .enqueue('traffic', name, { weights: decided.weights, routing: decided.routing, before: state.traffic?.weights ?? null }, now)
        .audit(trafficAudit(name, who, now, { before: state.traffic?.weights ?? null, after: decided.weights, routing: decided.routing }));
      for (const alert of decided.alerts) effects.alert(alert, now);
      await effects.notify(name).write();
      return { plan: decided, before: state.traffic, config: { weights: decided.weights, routing: decided.routing, updatedAt: now } };
    });
    this.c.localWrites++;
    return result;
  }

  async trafficConfigs(): Promise<Array<{ name: string; config: TrafficConfig }>> {
    const rows = await this.c.query<{ model_name: string; weights: Record<string, number>; routing: Routing; updated_at: string }>(
      'SELECT model_name, weights, routing, updated_at FROM traffic_configs ORDER BY model_name',
    );
    return rows.map((r) => ({ name: r.model_name, config: { weights: r.weights, routing: r.routing, updatedAt: r.updated_at } }));
  }
}
