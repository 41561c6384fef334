import type { RegistryStore } from '../registry/ports.js';
import type { PendingPredictions, PredictionLogStore, VariantTally } from './ports.js';
import type { PredictionLog } from './prediction-log.js';
import type { RouteState } from './routes.js';
import type { TrafficReport, VariantReport } from './serving-types.js';
import type { ServingStats } from './stats.js';
import { weightOf, type SinceEvent } from './traffic.js';

export interface TrafficReportDeps {
  predictions: PredictionLogStore;
  log: PredictionLog;
  stats: ServingStats;
  registry: Pick<RegistryStore, 'history'>;
}

/**
 * The split in force and, per variant, what it served since the split was set (from the
 * prediction log); with no split, since the last one ended (the audit trail has when), else
 * since `serverStart`.
 */
export async function trafficReport(deps: TrafficReportDeps, name: string, state: RouteState, serverStart: Date): Promise<TrafficReport> {
  const config = state.effective;
  const { from, sinceEvent } = state.traffic?.updatedAt
    ? { from: state.traffic.updatedAt, sinceEvent: 'split_set' as const }
    : await defaultSince(deps, name, serverStart);
  // Counts, errors and means over everything logged since the split was set (per-minute
  // aggregates, every process's written predictions) plus this process's predictions not yet
  // in the database, without waiting for a flush; latency percentiles over this process's
  // latest predictions of each variant since then (in memory).
  const read = deps.log.startRead();
  let tallies: Map<string | null, VariantTally>;
  try {
    const counted = await deps.predictions.tallies(name, from, deps.log.writerId);
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
      latencyMs: deps.stats.variantLatencies(name, label, Date.parse(from)),
      // A sum past float64's range (outputs near 1e308) has no mean to give.
      meanOutput: c?.n && Number.isFinite(c.sum / c.n) ? c.sum / c.n : null,
    });
  }
  return { config, explicit: state.traffic !== null, since: from, sinceEvent, variants };
}

/** Without a split: counts start when the last split ended (a configure_traffic entry to no split), or at `serverStart` if none ever did. */
async function defaultSince(deps: TrafficReportDeps, name: string, serverStart: Date): Promise<{ from: string; sinceEvent: SinceEvent }> {
  const [last] = await deps.registry.history(name, { action: 'configure_traffic', limit: 1 });
  return last && last.details?.after === null
    ? { from: last.createdAt, sinceEvent: 'split_ended' }
    : { from: serverStart.toISOString(), sinceEvent: 'server_started' };
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
