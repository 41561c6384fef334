import type { DriftCurves, DriftRun, History, Performance, ToolResult, Traffic, VersionSummary } from './types.js';
import { pct } from './dom.js';

/** What the dashboard holds and the panels draw from: the answers read, and the change in progress. */

export type Failed = { error: string; code: string };
export type Maybe<T> = T | Failed;
export const failed = (x: unknown): x is Failed => typeof x === 'object' && x !== null && 'error' in x && 'code' in x;

export interface ModelView {
  name: string;
  versions: VersionSummary[];
  traffic: Maybe<Traffic> | null;
  history: Maybe<History> | null;
  drift: Maybe<DriftRun> | null;
  performance: Maybe<Performance> | null;
}

type Step = 'edit' | 'previewing' | 'preview' | 'running' | 'failed';

/** A change being made: edited (a split), previewed by a dry run, then confirmed. */
export interface Pending {
  kind: 'promote' | 'rollback' | 'traffic';
  tool: 'promote_model' | 'rollback_model' | 'configure_ab_test';
  model: string;
  title: string;
  args: Record<string, unknown>;
  step: Step;
  reason: string;
  preview?: ToolResult;
  error?: string;
  /** The traffic editor's fields. */
  weights?: Record<string, string>;
  routing?: 'sticky' | 'random';
}

/** What the panels read of the dashboard and call on it (Dashboard implements it). */
export interface DashboardView {
  readonly root: HTMLElement;
  readonly models: readonly ModelView[];
  readonly listError: string | null;
  readonly updated: Date | null;
  readonly pending: Pending | null;
  readonly driftFeature: string | null;
  readonly curves: Maybe<DriftCurves> | null;
  canWrite(tool: string): boolean;
  driftView(): { model: ModelView; run: DriftRun } | null;
  start(p: Omit<Pending, 'step' | 'reason'>): Promise<void>;
  preview(): Promise<void>;
  confirm(): Promise<void>;
  cancel(): void;
  chooseFeature(feature: string): Promise<void>;
  chooseDriftModel(name: string): Promise<void>;
}

/** The answer's summary for people: its first text (the next one repeats the structured answer as JSON). */
export const resultText = (r: ToolResult) => (r.content?.find((c) => c.type === 'text')?.text ?? '').trim();
export const errorOf = (r: ToolResult): Failed => {
  const text = resultText(r) || 'the tool failed without a message';
  const code = (r._meta?.['mlops-mcp/error'] as { code?: string } | undefined)?.code ?? /^([a-z_]+):/.exec(text)?.[1] ?? 'error';
  return { error: text, code };
};
export const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function splitText(w: Record<string, number>): string {
  return (
    Object.entries(w)
      .map(([v, x]) => `${v} ${pct(x, 0)}`)
      .join(' / ') || 'none'
  );
}
