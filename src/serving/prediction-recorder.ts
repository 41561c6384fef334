import type { ModelVersion } from '../registry/types.js';
import type { ServingMetrics } from './metrics.js';
import type { BatchOutput } from './outputs.js';
import type { PredictionLog } from './prediction-log.js';
import type { ServingStats } from './stats.js';

/** What one predict call or one batch's rows of one version share in the log. */
export interface ServedCall {
  /** The prediction id, or the batch id of a batch's rows. */
  id: string;
  name: string;
  /** When the call was made (epoch ms). */
  at: number;
  routingKey: string | undefined;
  latencyMs: number;
  /** A batch's row numbers logged under this entry (row j as `${id}:${indices[j]}`); null for a predict call. */
  indices: number[] | null;
}

/** The input as served: the feature matrix when it was built, else the request's own value (a failed request's). */
export interface ServedInput {
  matrix: Float64Array | null;
  width: number;
  raw?: unknown;
}

/** Logs and counts every prediction, ok or failed: the prediction log, the in-memory stats and the metrics. */
export class PredictionRecorder {
  constructor(
    private readonly deps: { log: PredictionLog; stats: ServingStats; metrics: ServingMetrics },
    /** Whether a model exists: a request for an unknown one leaves no trace to fill the log with. */
    private readonly known: (name: string) => boolean,
  ) {}

  served(call: ServedCall, version: string, input: ServedInput, output: BatchOutput): void {
    this.append(call, version, null, input, output);
  }

  /** `version` null: routing failed, and the entry is logged under no version (a batch's rows as one entry). */
  failed(call: ServedCall, version: ModelVersion | null, failure: unknown, input: ServedInput): void {
    if (!this.known(call.name)) return;
    const error = failure instanceof Error ? failure.message.slice(0, 500) : String(failure);
    this.append(call, version?.version ?? null, error, input, null);
  }

  private append(call: ServedCall, version: string | null, error: string | null, input: ServedInput, output: BatchOutput | null): void {
    const { id, name, at, latencyMs, indices } = call;
    const rows = indices?.length ?? 1;
    const ok = error === null;
    this.deps.log.append({
      id,
      indices,
      rows,
      name,
      version,
      ok,
      error,
      matrix: input.matrix,
      width: input.width,
      rawFeatures: input.matrix ? null : rawFeaturesText(input.raw),
      output,
      latencyMs,
      routingKey: call.routingKey ?? null,
      at,
    });
    this.deps.stats.record(name, version, ok, latencyMs, at, rows);
    if (version !== null) this.deps.metrics.record(name, version, ok, rows, latencyMs / 1000);
  }
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
