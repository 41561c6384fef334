// The structured answers of the tools the dashboard reads, as their output schemas define them
// (src/mcp/tools/*.ts; docs/tools.md). Only the fields the dashboard uses.

// FeatureDrift is the wire mapping's own type (type-only: nothing of the server is bundled).
import type { FeatureAnswer as FeatureDrift } from '../wire/drift.js';

export type Status = 'healthy' | 'degraded' | 'unhealthy';
export type Stage = 'none' | 'staging' | 'production' | 'archived';

export interface HealthReport {
  status: Status;
  healthy_components: number;
  total_components: number;
  components: Array<{ name: string; status: Status; critical: boolean; detail: string; latency_ms: number }>;
  checked_at: string;
}

export interface VersionSummary {
  name: string;
  version: string;
  stage: Stage;
  created_at: string;
  updated_at: string;
  description: string;
  metrics: Record<string, number>;
}

export interface ModelList {
  versions: VersionSummary[];
  count: number;
  next_cursor: string | null;
}

export interface AuditEntry {
  id: number;
  version: string | null;
  action: string;
  from_stage: Stage | null;
  to_stage: Stage | null;
  actor: string;
  /** A signed-in person's display name, beside their subject in `actor` (absent from older servers). */
  actor_name?: string | null;
  reason: string | null;
  approved_by: string | null;
  approver_reason: string | null;
  details: Record<string, unknown> | null;
  created_at: string;
}

export interface History {
  name: string;
  entries: AuditEntry[];
  next_cursor: string | null;
}

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
}

export interface Traffic {
  name: string;
  explicit: boolean;
  routing: 'sticky' | 'random' | null;
  weights: Record<string, number>;
  since: string;
  variants: Array<{
    version: string;
    stage: Stage | null;
    weight: number;
    count: number;
    errors: number;
    error_rate: number;
    latency_ms: Latency | null;
    mean_output: number | null;
  }>;
}

export type { FeatureDrift };

export interface DriftRun {
  run_id: string;
  name: string;
  version: string | null;
  source: string;
  threshold: number;
  correction: string;
  features: FeatureDrift[];
  drifted_features: string[];
  drifted_share: number;
  dataset_drift: boolean;
  created_at: string;
}

export interface Curve {
  n: number;
  x: number[];
  cdf: number[];
}

export interface DriftCurves {
  name: string;
  run_id: string;
  feature: string;
  statistic: number;
  p_value_adjusted: number;
  drift_detected: boolean;
  reference: Curve | null;
  current: Curve | null;
  ks: { x: number; reference_cdf: number; current_cdf: number; distance: number } | null;
  note: string | null;
}

/** What promote_model, rollback_model and archive_model answer, for a dry run and a change alike. */
export interface StageChange {
  name: string;
  dry_run: boolean;
  action: string;
  changes: Array<{ version: string; from: Stage; to: Stage }>;
  production_before: string | null;
  production_after: string | null;
  alerts: Array<{ severity: string; message: string }>;
}

/** What configure_ab_test answers. */
export interface TrafficChange {
  name: string;
  dry_run: boolean;
  before: Record<string, number>;
  after: Record<string, number>;
  routing: 'sticky' | 'random';
  alerts: Array<{ severity: string; message: string }>;
}

/** A tool call's result as MCP carries it. */
export interface ToolResult {
  isError?: boolean;
  content?: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

/** How the dashboard reaches the server: through an MCP Apps host, or as an MCP client of /mcp. */
export interface Connection {
  /** Calls one of our tools; transport failures throw, tool errors come back with isError. */
  call(name: string, args: Record<string, unknown>): Promise<ToolResult>;
  /** The tools this caller may call, or null when the host cannot tell (then errors tell). */
  tools(): Set<string> | null;
  /** Shown in the header: who and where. */
  label(): string;
}

/** What get_model_performance answers (src/mcp/tools/performance.ts). */
export interface MetricValue {
  value: number | null;
  n: number;
  ci95: { low: number; high: number } | null;
}

export interface Performance {
  name: string;
  outcomes: number;
  versions: Array<{
    version: string;
    stage: Stage;
    task: 'regression' | 'classification';
    outcomes: number;
    primary_metric: string;
    metrics: Record<string, MetricValue | null>;
    baseline: Array<{ metric: string; baseline: number; value: number | null; change: number | null; worse_by: number | null }>;
    series: Array<{ start: string; n: number; value: number | null }>;
  }>;
  comparison: null | {
    metric: 'mae' | 'accuracy';
    since: string | null;
    alpha: number;
    control: string;
    variants: Array<{ version: string; weight: number; outcomes: number; value: number | null; ci95: { low: number; high: number } | null }>;
    challengers: Array<{
      version: string;
      difference: number | null;
      ci: { low: number; high: number } | null;
      p_value: number | null;
      verdict: 'better' | 'worse' | 'not yet';
      min_effect: number | null;
      outcomes_needed: number | null;
    }>;
  };
}
