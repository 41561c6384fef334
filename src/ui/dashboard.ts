import { ecdfChart } from './charts.js';
import { h } from './dom.js';
import { driftSection } from './drift-panel.js';
import { healthSection } from './health-panel.js';
import { modelsSection } from './models-panel.js';
import { performanceSection } from './performance-panel.js';
import { trafficSection } from './traffic-panel.js';
import type { Connection, DriftCurves, DriftRun, HealthReport, History, ModelList, Performance, ToolResult, Traffic, VersionSummary } from './types.js';
import { errorOf, failed, messageOf, resultText, type DashboardView, type Maybe, type ModelView, type Pending } from './view-model.js';

/**
 * The dashboard: health, models and their transitions, traffic, drift. It reads and acts only
 * through our MCP tools (the Connection), so read-only mode, roles and approval apply to it as
 * to any agent; a change is always a dry run first, shown as a preview, then the real call.
 */

export const WRITE_TOOLS = ['promote_model', 'rollback_model', 'configure_ab_test'] as const;

/** Audit entries read per model (the models panel shows the newest transitions of them). */
const HISTORY_READ = 50;

export class Dashboard implements DashboardView {
  private health: Maybe<HealthReport> | null = null;
  models: ModelView[] = [];
  listError: string | null = null;
  private driftModel: string | null = null;
  driftFeature: string | null = null;
  curves: Maybe<DriftCurves> | null = null;
  pending: Pending | null = null;
  private notice: { kind: 'ok' | 'error'; text: string } | null = null;
  private loading = false;
  private again = false;
  updated: Date | null = null;
  private chart: { key: string; el: HTMLElement; destroy(): void } | null = null;

  constructor(
    readonly root: HTMLElement,
    private readonly conn: Connection,
  ) {
    this.render();
  }

  /** True while a person is editing or confirming a change: automatic refreshes wait. */
  busy(): boolean {
    return this.pending !== null || this.loading;
  }

  /** Points the drift view (and the eye) at a model named by the tool call the host shows us with. */
  focus(name: unknown): void {
    if (typeof name === 'string' && name) this.driftModel = name;
  }

  /**
   * Shows a tool result the host sent (the call this view belongs to, or a later one) at once,
   * then refreshes everything else.
   */
  showResult(result: ToolResult): void {
    const s = result.structuredContent;
    if (!result.isError && s) {
      if (Array.isArray(s.components)) this.health = s as unknown as HealthReport;
      else if (typeof s.run_id === 'string' && Array.isArray(s.features)) {
        const run = s as unknown as DriftRun;
        this.driftModel = run.name;
        const m = this.models.find((x) => x.name === run.name);
        if (m) m.drift = run;
      } else if (Array.isArray(s.versions) && 'comparison' in s && typeof s.name === 'string') {
        const m = this.models.find((x) => x.name === s.name);
        if (m) m.performance = s as unknown as Performance;
      } else if (Array.isArray(s.variants) && typeof s.name === 'string') {
        const m = this.models.find((x) => x.name === s.name);
        if (m) m.traffic = s as unknown as Traffic;
      }
      this.render();
    }
    void this.refresh();
  }

  canWrite(tool: string): boolean {
    const tools = this.conn.tools();
    return tools === null || tools.has(tool);
  }

  private async read<T>(tool: string, args: Record<string, unknown>): Promise<Maybe<T>> {
    try {
      const r = await this.conn.call(tool, args);
      return r.isError ? errorOf(r) : ((r.structuredContent ?? {}) as T);
    } catch (e) {
      return { error: `${tool}: ${messageOf(e)}`, code: 'transport' };
    }
  }

  /** Reads everything again through the tools; calls made meanwhile are folded into one more. */
  async refresh(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    this.renderHeader();
    try {
      const [health, list] = await Promise.all([this.read<HealthReport>('health_check', {}), this.read<ModelList>('list_models', { limit: 500 })]);
      this.health = health;
      if (failed(list)) {
        this.listError = list.error;
      } else {
        this.listError = null;
        const byName = new Map<string, VersionSummary[]>();
        for (const v of list.versions) byName.set(v.name, [...(byName.get(v.name) ?? []), v]);
        this.models = await Promise.all(
          [...byName].map(async ([name, versions]) => {
            const [traffic, history, drift, performance] = await Promise.all([
              this.read<Traffic>('get_traffic_config', { name }),
              this.read<History>('get_model_history', { name, limit: HISTORY_READ }),
              this.read<DriftRun>('get_drift_report', { name }),
              this.read<Performance>('get_model_performance', { name }),
            ]);
            // No run yet is not an error worth showing in red.
            return { name, versions, traffic, history, drift: failed(drift) && drift.code === 'not_found' ? null : drift, performance };
          }),
        );
      }
      await this.loadCurves();
      this.updated = new Date();
    } finally {
      this.loading = false;
      this.render();
    }
    if (this.again) {
      this.again = false;
      await this.refresh();
    }
  }

  /** The drift run on show: the focused model's, else the latest run of any model. */
  driftView(): { model: ModelView; run: DriftRun } | null {
    const withRuns = this.models.filter((m): m is ModelView & { drift: DriftRun } => m.drift !== null && !failed(m.drift));
    const chosen = withRuns.find((m) => m.name === this.driftModel) ?? [...withRuns].sort((a, b) => b.drift.created_at.localeCompare(a.drift.created_at))[0];
    return chosen ? { model: chosen, run: chosen.drift } : null;
  }

  private async loadCurves(): Promise<void> {
    const view = this.driftView();
    if (!view) {
      this.curves = null;
      return;
    }
    const { run } = view;
    if (!run.features.some((f) => f.feature === this.driftFeature)) {
      this.driftFeature = [...run.features].sort((a, b) => b.statistic - a.statistic)[0]?.feature ?? null;
    }
    if (!this.driftFeature) return;
    const current = this.curves;
    if (current && !failed(current) && current.run_id === run.run_id && current.feature === this.driftFeature) return;
    this.curves = await this.read<DriftCurves>('get_drift_curves', { name: run.name, run_id: run.run_id, feature: this.driftFeature });
  }

  async chooseFeature(feature: string): Promise<void> {
    this.driftFeature = feature;
    this.render();
    await this.loadCurves();
    this.render();
  }

  async chooseDriftModel(name: string): Promise<void> {
    this.driftModel = name;
    this.driftFeature = null;
    this.render();
    await this.loadCurves();
    this.render();
  }

  // ---- actions: dry run, preview, then the call --------------------------------------------

  async start(p: Omit<Pending, 'step' | 'reason'>): Promise<void> {
    this.notice = null;
    this.pending = { ...p, step: p.kind === 'traffic' ? 'edit' : 'previewing', reason: '' };
    this.render();
    if (this.pending.step === 'previewing') await this.preview();
  }

  async preview(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    if (p.kind === 'traffic') {
      const weights: Record<string, number> = {};
      for (const [v, w] of Object.entries(p.weights ?? {})) if (w.trim() !== '' && Number(w) !== 0) weights[v] = Number(w);
      p.args = { name: p.model, weights, routing: p.routing ?? 'sticky' };
    }
    p.step = 'previewing';
    this.render();
    try {
      const r = await this.conn.call(p.tool, { ...p.args, dry_run: true });
      if (this.pending !== p) return;
      if (r.isError) Object.assign(p, { step: 'failed', error: errorOf(r).error });
      else Object.assign(p, { step: 'preview', preview: r });
    } catch (e) {
      Object.assign(p, { step: 'failed', error: messageOf(e) });
    }
    this.render();
  }

  async confirm(): Promise<void> {
    const p = this.pending;
    if (!p || p.step !== 'preview') return;
    p.step = 'running';
    this.render();
    try {
      const r = await this.conn.call(p.tool, { ...p.args, ...(p.reason.trim() ? { reason: p.reason.trim() } : {}), dry_run: false });
      if (this.pending !== p) return;
      if (r.isError) {
        Object.assign(p, { step: 'failed', error: errorOf(r).error });
        this.render();
        return;
      }
      this.pending = null;
      this.notice = { kind: 'ok', text: resultText(r) };
    } catch (e) {
      Object.assign(p, { step: 'failed', error: messageOf(e) });
      this.render();
      return;
    }
    await this.refresh();
  }

  cancel(): void {
    this.pending = null;
    this.render();
  }

  // ---- rendering ----------------------------------------------------------------------------

  private headerEl: HTMLElement | null = null;

  private renderHeader(): void {
    const next = this.header();
    this.headerEl?.replaceWith(next);
    this.headerEl = next;
  }

  private header(): HTMLElement {
    const health = this.health && !failed(this.health) ? this.health : null;
    const tools = this.conn.tools();
    const writable = WRITE_TOOLS.filter((t) => this.canWrite(t));
    return h(
      'header',
      { class: 'top' },
      h('h1', {}, 'mlops-mcp'),
      health && h('span', { class: `pill ${health.status}`, 'data-overall': health.status }, health.status),
      h('span', { class: 'muted' }, this.conn.label()),
      tools !== null && writable.length === 0 && h('span', { class: 'pill read-only', title: 'tools/list offers no write tool to this caller' }, 'read-only'),
      h('span', { class: 'spacer' }),
      h(
        'span',
        { class: 'muted', 'data-updated': this.updated?.toISOString() ?? '' },
        this.loading ? 'refreshing…' : this.updated ? `updated ${this.updated.toLocaleTimeString()}` : '',
      ),
      h('button', { type: 'button', class: 'btn', onclick: () => void this.refresh(), disabled: this.loading, 'data-action': 'refresh' }, 'Refresh'),
    );
  }

  render(): void {
    this.headerEl = this.header();
    const notice =
      this.notice &&
      h(
        'div',
        { class: `notice ${this.notice.kind}`, role: 'status' },
        this.notice.text,
        h('button', { type: 'button', class: 'link', onclick: () => ((this.notice = null), this.render()), 'aria-label': 'dismiss' }, '×'),
      );
    const listError = this.listError && h('div', { class: 'notice error', role: 'alert' }, this.listError);
    const drift = driftSection(this);
    this.root.replaceChildren(
      this.headerEl,
      notice || '',
      listError || '',
      h(
        'main',
        { class: 'grid' },
        healthSection(this.health),
        modelsSection(this),
        trafficSection(this),
        performanceSection(this.models, this.updated !== null),
        drift,
      ),
    );
    this.mountChart();
  }

  /** Puts the chart in its slot: the same uPlot when the curves are unchanged, else a new one. */
  private mountChart(): void {
    const slot = this.root.querySelector<HTMLElement>('.chart-slot');
    const c = this.curves;
    if (!slot || !c || failed(c) || (!c.reference && !c.current)) {
      this.chart?.destroy();
      this.chart = null;
      return;
    }
    const key = `${c.run_id}/${c.feature}/${document.documentElement.dataset.theme ?? ''}`;
    if (this.chart?.key !== key) {
      this.chart?.destroy();
      const el = h('div', { class: 'chart' });
      slot.append(el);
      this.chart = { key, el, ...ecdfChart(el, c) };
    } else {
      slot.append(this.chart.el);
    }
  }
}
