// The structured answers of the tools the dashboard reads: inferred from the tools' output schemas
// (src/mcp/output-schemas/), so they cannot drift from what the server answers. Type-only imports:
// nothing of zod or the server is bundled for them, and the schema modules import only zod and
// Node-free domain constants, so this project (no Node types) can check them.
import type { z } from 'zod';
import type { driftCurvesOutput, driftRunOutput } from '../mcp/output-schemas/drift.js';
import type { healthCheckOutput } from '../mcp/output-schemas/health.js';
import type { modelPerformanceOutput } from '../mcp/output-schemas/performance.js';
import type { listModelsOutput, modelHistoryOutput, stageChangeOutput } from '../mcp/output-schemas/registry.js';
import type { configureAbTestOutput, trafficConfigOutput } from '../mcp/output-schemas/serving.js';

/** What a tool with this output shape answers in structuredContent. */
type Answer<S extends z.ZodRawShape> = z.output<z.ZodObject<S>>;

export type HealthReport = Answer<typeof healthCheckOutput>;
export type Status = HealthReport['status'];

export type ModelList = Answer<typeof listModelsOutput>;
export type VersionSummary = ModelList['versions'][number];
export type History = Answer<typeof modelHistoryOutput>;
export type AuditEntry = History['entries'][number];

export type Traffic = Answer<typeof trafficConfigOutput>;

export type DriftRun = Answer<typeof driftRunOutput>;
export type FeatureDrift = DriftRun['features'][number];
export type DriftCurves = Answer<typeof driftCurvesOutput>;
export type Curve = NonNullable<DriftCurves['reference']>;

/** What promote_model, rollback_model and archive_model answer, for a dry run and a change alike. */
export type StageChange = Answer<typeof stageChangeOutput>;
/** What configure_ab_test answers. */
export type TrafficChange = Answer<typeof configureAbTestOutput>;

export type Performance = Answer<typeof modelPerformanceOutput>;

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
