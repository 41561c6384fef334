import { ecdfChart } from './charts.js';
import { h, ms, num, pct, pValue, when } from './dom.js';
import { fieldValue, INFORMATIONAL, VERDICT, wireName, type DriftStatistic } from '../monitoring/statistics/index.js';
import { performanceSection } from './performance-panel.js';
import type {
  AuditEntry,
  Connection,
  DriftCurves,
  DriftRun,
  HealthReport,
  History,
  ModelList,
  Performance,
  StageChange,
  ToolResult,
  Traffic,
  TrafficChange,
  VersionSummary,
} from './types.js';

/**
 * The dashboard: health, models and their transitions, traffic, drift. It reads and acts only
 * through our MCP tools (the Connection), so read-only mode, roles and approval apply to it as
 * to any agent; a change is always a dry run first, shown as a preview, then the real call.
 */

type Failed = { error: string; code: string };
type Maybe<T> = T | Failed;
const failed = (x: unknown): x is Failed => typeof x === 'object' && x !== null && 'error' in x && 'code' in x;

interface ModelView {
  name: string;
  versions: VersionSummary[];
  traffic: Maybe<Traffic> | null;
  history: Maybe<History> | null;
  drift: Maybe<DriftRun> | null;
  performance: Maybe<Performance> | null;
}

type Step = 'edit' | 'previewing' | 'preview' | 'running' | 'failed';

interface Pending {
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

export const WRITE_TOOLS = ['promote_model', 'rollback_model', 'configure_ab_test'] as const;

/** Audit entries read per model, and the transitions shown of them (recorded outcomes are audited too, but are not transitions). */
const HISTORY_READ = 50;
const TRANSITIONS_SHOWN = 8;
const isTransition = (e: AuditEntry) => e.action !== 'record_outcomes';

/** The answer's summary for people: its first text (the next one repeats the structured answer as JSON). */
const resultText = (r: ToolResult) => (r.content?.find((c) => c.type === 'text')?.text ?? '').trim();
const errorOf = (r: ToolResult): Failed => {
  const text = resultText(r) || 'the tool failed without a message';
  const code = (r._meta?.['mlops-mcp/error'] as { code?: string } | undefined)?.code ?? /^([a-z_]+):/.exec(text)?.[1] ?? 'error';
  return { error: text, code };
};
const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class Dashboard {
  private health: Maybe<HealthReport> | null = null;
  private models: ModelView[] = [];
  private listError: string | null = null;
  private driftModel: string | null = null;
  private driftFeature: string | null = null;
  private curves: Maybe<DriftCurves> | null = null;
  private pending: Pending | null = null;
  private notice: { kind: 'ok' | 'error'; text: string } | null = null;
  private loading = false;
  private again = false;
  private updated: Date | null = null;
  private chart: { key: string; el: HTMLElement; destroy(): void } | null = null;

  constructor(
    private readonly root: HTMLElement,
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

  private canWrite(tool: string): boolean {
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
  private driftView(): { model: ModelView; run: DriftRun } | null {
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

  private async chooseFeature(feature: string): Promise<void> {
    this.driftFeature = feature;
    this.render();
    await this.loadCurves();
    this.render();
  }

  private async chooseDriftModel(name: string): Promise<void> {
    this.driftModel = name;
    this.driftFeature = null;
    this.render();
    await this.loadCurves();
    this.render();
  }

  // ---- actions: dry run, preview, then the call --------------------------------------------

  private async start(p: Omit<Pending, 'step' | 'reason'>): Promise<void> {
    this.notice = null;
    this.pending = { ...p, step: p.kind === 'traffic' ? 'edit' : 'previewing', reason: '' };
    this.render();
    if (this.pending.step === 'previewing') await this.preview();
  }

  private async preview(): Promise<void> {
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

  private async confirm(): Promise<void> {
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

  private cancel(): void {
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
    const drift = this.driftSection();
    this.root.replaceChildren(
      this.headerEl,
      notice || '',
      listError || '',
      h(
        'main',
        { class: 'grid' },
        this.healthSection(),
        this.modelsSection(),
        this.trafficSection(),
        performanceSection(this.models, this.updated !== null),
        drift,
      ),
    );
    this.mountChart();
  }

  private healthSection(): HTMLElement {
    const hr = this.health;
    let body: Node | string;
    if (hr === null) body = h('p', { class: 'muted' }, 'Loading…');
    else if (failed(hr)) body = h('p', { class: 'error' }, hr.error);
    else
      body = h(
        'ul',
        { class: 'components' },
        hr.components.map((c) =>
          h(
            'li',
            { 'data-component': c.name, 'data-status': c.status },
            h('span', { class: `dot ${c.status}`, title: c.status }),
            h('span', { class: 'name' }, c.name.replaceAll('_', ' '), c.critical ? '' : h('small', { class: 'muted' }, ' (non-critical)')),
            h('span', { class: `status ${c.status}` }, c.status),
            h('span', { class: 'latency muted' }, ms(c.latency_ms)),
            h('span', { class: 'detail muted' }, c.detail),
          ),
        ),
      );
    const summary = hr && !failed(hr) ? `${hr.healthy_components}/${hr.total_components} healthy · checked ${when(hr.checked_at)} UTC` : '';
    return h('section', { class: 'card', id: 'health' }, h('h2', {}, 'Health ', h('small', { class: 'muted' }, summary)), body);
  }

  private modelsSection(): HTMLElement {
    const cards = this.models.map((m) => {
      const production = m.versions.find((v) => v.stage === 'production');
      const rows = m.versions.map((v) =>
        h(
          'tr',
          { 'data-version': v.version, 'data-stage': v.stage },
          h('td', {}, h('b', {}, v.version)),
          h('td', {}, h('span', { class: `stage ${v.stage}` }, v.stage)),
          h('td', { class: 'muted nowrap created' }, when(v.created_at)),
          h('td', { class: 'actions' }, this.canWrite('promote_model') && v.stage !== 'production' ? this.promoteButtons(m.name, v) : ''),
        ),
      );
      const rollback =
        production && this.canWrite('rollback_model')
          ? h(
              'button',
              {
                type: 'button',
                class: 'btn small',
                'data-action': 'rollback',
                onclick: () =>
                  void this.start({
                    kind: 'rollback',
                    tool: 'rollback_model',
                    model: m.name,
                    title: `Roll back ${m.name} (now ${production.version} in production)`,
                    args: { name: m.name },
                  }),
              },
              'Roll back',
            )
          : '';
      return h(
        'article',
        { class: 'model', 'data-model': m.name },
        h('h3', {}, m.name, ' ', h('small', { class: 'muted' }, production ? `production: ${production.version}` : 'no production version'), ' ', rollback),
        h('table', { class: 'versions' }, h('tbody', {}, rows)),
        this.pendingPanel(m.name, ['promote', 'rollback']),
        this.timeline(m.history),
      );
    });
    return h(
      'section',
      { class: 'card', id: 'models' },
      h('h2', {}, 'Models'),
      cards.length ? cards : h('p', { class: 'muted' }, this.listError ? '' : this.updated ? 'No model registered yet.' : 'Loading…'),
    );
  }

  private promoteButtons(name: string, v: VersionSummary): HTMLElement[] {
    const targets = (['staging', 'production'] as const).filter((t) => t !== v.stage);
    return targets.map((target) =>
      h(
        'button',
        {
          type: 'button',
          class: `btn small${target === 'production' ? ' primary' : ''}`,
          'data-action': `promote-${target}`,
          onclick: () =>
            void this.start({
              kind: 'promote',
              tool: 'promote_model',
              model: name,
              title: `Promote ${name} ${v.version} to ${target}`,
              args: { name, version: v.version, target_stage: target },
            }),
        },
        `→ ${target}`,
      ),
    );
  }

  private timeline(history: Maybe<History> | null): HTMLElement {
    if (history === null) return h('div');
    if (failed(history)) return h('p', { class: 'error' }, history.error);
    const item = (e: AuditEntry) =>
      h(
        'li',
        { 'data-audit': e.action },
        h('span', { class: 'when muted' }, when(e.created_at)),
        h(
          'span',
          { class: 'what' },
          h('b', {}, e.action.replaceAll('_', ' ')),
          e.version ? ` ${e.version}` : '',
          e.from_stage && e.to_stage ? ` ${e.from_stage} → ${e.to_stage}` : e.to_stage ? ` (${e.to_stage})` : '',
          e.details && typeof e.details.after === 'object' && e.details.after ? ` ${splitText(e.details.after as Record<string, number>)}` : '',
        ),
        h(
          'span',
          { class: 'who muted' },
          'by ',
          e.actor_name ? `${e.actor} (${e.actor_name})` : e.actor,
          e.reason ? ` — “${e.reason}”` : '',
          e.approved_by ? `, approved by ${e.approved_by}${e.approver_reason ? ` (“${e.approver_reason}”)` : ''}` : '',
        ),
      );
    const transitions = history.entries.filter(isTransition);
    const more = history.next_cursor !== null || transitions.length > TRANSITIONS_SHOWN;
    const shown = transitions.slice(0, TRANSITIONS_SHOWN);
    return h(
      'details',
      { class: 'timeline', open: true },
      h('summary', {}, `Transitions (${shown.length}${more ? '+' : ''}, newest first)`),
      h('ol', {}, shown.map(item)),
    );
  }

  private trafficSection(): HTMLElement {
    const cards = this.models.map((m) => {
      const t = m.traffic;
      if (t === null) return h('article', { class: 'model' }, h('h3', {}, m.name), h('p', { class: 'muted' }, 'Loading…'));
      if (failed(t)) return h('article', { class: 'model' }, h('h3', {}, m.name), h('p', { class: 'error' }, t.error));
      const variants = t.variants.filter((v) => v.weight > 0 || v.count > 0);
      const bar = h(
        'div',
        { class: 'split', role: 'img', 'aria-label': `split ${splitText(t.weights)}` },
        Object.entries(t.weights).map(([v, w], i) =>
          h('span', { class: `seg c${i % 4}`, style: `flex-grow:${w}`, title: `${v} ${pct(w, 0)}` }, `${v} ${pct(w, 0)}`),
        ),
      );
      const table = h(
        'table',
        { class: 'variants' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, 'version'), h('th', {}, 'weight'), h('th', {}, 'calls'), h('th', {}, 'errors'), h('th', {}, 'p50'), h('th', {}, 'p95')),
        ),
        h(
          'tbody',
          {},
          variants.map((v) =>
            h(
              'tr',
              { 'data-variant': v.version, 'data-weight': v.weight },
              h('td', {}, h('b', {}, v.version), ' ', h('span', { class: `stage ${v.stage ?? 'archived'}` }, v.stage ?? 'gone')),
              h('td', {}, pct(v.weight, 0)),
              h('td', {}, v.count),
              h('td', { class: v.error_rate > 0.05 ? 'error' : '' }, pct(v.error_rate)),
              h('td', { class: 'nowrap' }, ms(v.latency_ms?.p50)),
              h('td', { class: 'nowrap' }, ms(v.latency_ms?.p95)),
            ),
          ),
        ),
      );
      const edit = this.canWrite('configure_ab_test')
        ? h('button', { type: 'button', class: 'btn small', 'data-action': 'edit-split', onclick: () => this.editSplit(m, t) }, 'Change split')
        : '';
      return h(
        'article',
        { class: 'model', 'data-traffic': m.name },
        h(
          'h3',
          {},
          m.name,
          ' ',
          h(
            'small',
            { class: 'muted' },
            t.explicit ? `A/B split, ${t.routing} routing` : Object.keys(t.weights).length ? 'all to production' : 'nothing routed',
          ),
          ' ',
          edit,
        ),
        Object.keys(t.weights).length ? bar : '',
        variants.length ? table : h('p', { class: 'muted' }, 'No traffic yet.'),
        h('p', { class: 'muted small' }, `since ${when(t.since)} UTC`),
        this.pendingPanel(m.name, ['traffic']),
      );
    });
    return h(
      'section',
      { class: 'card', id: 'traffic' },
      h('h2', {}, 'Traffic'),
      cards.length ? cards : h('p', { class: 'muted' }, this.updated ? 'No model registered yet.' : 'Loading…'),
    );
  }

  private editSplit(m: ModelView, t: Traffic): void {
    const weights: Record<string, string> = {};
    for (const v of m.versions) if (v.stage !== 'archived') weights[v.version] = String(Object.hasOwn(t.weights, v.version) ? t.weights[v.version] : 0);
    void this.start({
      kind: 'traffic',
      tool: 'configure_ab_test',
      model: m.name,
      title: `Traffic split of ${m.name}`,
      args: {},
      weights,
      routing: t.routing ?? 'sticky',
    });
  }

  private driftSection(): HTMLElement {
    const view = this.driftView();
    const errors = this.models.filter((m) => failed(m.drift)).map((m) => h('p', { class: 'error' }, `${m.name}: ${(m.drift as Failed).error}`));
    if (!view) {
      return h(
        'section',
        { class: 'card', id: 'drift' },
        h('h2', {}, 'Drift'),
        errors,
        h('p', { class: 'muted' }, this.updated ? 'No drift run yet: set a reference with set_drift_reference, then run detect_drift.' : 'Loading…'),
      );
    }
    const { run } = view;
    const runs = this.models.filter((m) => m.drift !== null && !failed(m.drift));
    const picker =
      runs.length > 1
        ? h(
            'select',
            { 'aria-label': 'model', 'data-drift-model': '', onchange: (e: Event) => void this.chooseDriftModel((e.target as HTMLSelectElement).value) },
            runs.map((m) => h('option', { value: m.name, selected: m.name === run.name }, m.name)),
          )
        : h('b', {}, run.name);
    const rows = [...run.features]
      .sort((a, b) => b.statistic - a.statistic)
      .map((f) =>
        h(
          'tr',
          { 'data-feature': f.feature, 'data-drifted': String(f.drift_detected), class: f.feature === this.driftFeature ? 'selected' : '' },
          h(
            'td',
            {},
            h(
              'button',
              { type: 'button', class: 'link', onclick: () => void this.chooseFeature(f.feature), 'aria-pressed': String(f.feature === this.driftFeature) },
              f.feature,
            ),
          ),
          statisticCell(VERDICT, f),
          h('td', {}, pValue(f.p_value_adjusted)),
          INFORMATIONAL.map((s) => statisticCell(s, f)),
          h('td', {}, f.drift_detected ? h('span', { class: 'status unhealthy' }, 'drift') : h('span', { class: 'status healthy' }, 'ok')),
        ),
      );
    return h(
      'section',
      { class: 'card', id: 'drift', 'data-run': run.run_id },
      h('h2', {}, 'Drift ', picker),
      errors,
      h(
        'p',
        { class: 'small' },
        h(
          'b',
          { class: run.dataset_drift ? 'error' : '' },
          `${run.drifted_features.length} of ${run.features.length} features drifted (${pct(run.drifted_share, 0)})`,
        ),
        run.dataset_drift ? ' — dataset drift' : ' — no dataset drift',
        h('span', { class: 'muted' }, ` · ${run.source} · threshold ${run.threshold}, correction ${run.correction} · ${when(run.created_at)} UTC`),
      ),
      h(
        'div',
        { class: 'drift-body' },
        h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { class: 'features' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'feature'),
                statisticHeader(VERDICT),
                h('th', { title: 'adjusted p-value' }, 'p'),
                INFORMATIONAL.map(statisticHeader),
                h('th', {}, ''),
              ),
            ),
            h('tbody', {}, rows),
          ),
        ),
        this.chartFigure(),
      ),
    );
  }

  private chartFigure(): HTMLElement {
    const c = this.curves;
    if (c === null) return h('div', { class: 'muted small' }, this.driftFeature ? 'Loading curves…' : '');
    if (failed(c)) return h('p', { class: 'error' }, c.error);
    const ks = c.ks;
    return h(
      'figure',
      { class: 'ecdf', 'data-chart': 'ecdf', 'data-feature': c.feature },
      h(
        'figcaption',
        {},
        h('b', {}, c.feature),
        ': empirical CDFs, ',
        h('span', { class: 'key ref' }, 'reference'),
        ' vs ',
        h('span', { class: 'key cur' }, 'current'),
        ks
          ? h(
              'span',
              { 'data-ks': ks.distance },
              ` — KS distance D = ${c.statistic.toFixed(4)} at ${num(ks.x, 4)} (${ks.reference_cdf.toFixed(3)} vs ${ks.current_cdf.toFixed(3)}), `,
              h('span', { class: 'key ks' }, 'in red'),
            )
          : '',
      ),
      h('div', { class: 'chart-slot' }),
      c.note ? h('p', { class: 'muted small' }, c.note) : '',
    );
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

  private pendingPanel(model: string, kinds: Array<Pending['kind']>): HTMLElement | string {
    const p = this.pending;
    if (!p || p.model !== model || !kinds.includes(p.kind)) return '';
    const buttons: HTMLElement[] = [];
    const body: Array<Node | string> = [];
    if (p.kind === 'traffic' && (p.step === 'edit' || p.step === 'failed' || p.step === 'previewing')) {
      const sum = Object.values(p.weights ?? {}).reduce((s, w) => s + (Number(w) || 0), 0);
      body.push(
        h(
          'div',
          { class: 'weights' },
          Object.entries(p.weights ?? {}).map(([v, w]) =>
            h(
              'label',
              {},
              v,
              h('input', {
                type: 'number',
                min: '0',
                max: '1',
                step: '0.05',
                value: w,
                'data-weight-input': v,
                oninput: (e: Event) => {
                  p.weights![v] = (e.target as HTMLInputElement).value;
                  const total = Object.values(p.weights ?? {}).reduce((s, x) => s + (Number(x) || 0), 0);
                  const el = this.root.querySelector('[data-weight-sum]');
                  if (el) el.textContent = `sum ${num(total, 4)}`;
                },
              }),
            ),
          ),
          h(
            'label',
            {},
            'routing',
            h(
              'select',
              { onchange: (e: Event) => (p.routing = (e.target as HTMLSelectElement).value as 'sticky' | 'random') },
              (['sticky', 'random'] as const).map((r) => h('option', { value: r, selected: p.routing === r }, r)),
            ),
          ),
          h('span', { class: 'muted', 'data-weight-sum': '' }, `sum ${num(sum, 4)}`),
        ),
      );
      buttons.push(
        h(
          'button',
          { type: 'button', class: 'btn primary', 'data-action': 'preview', disabled: p.step === 'previewing', onclick: () => void this.preview() },
          'Preview (dry run)',
        ),
      );
    }
    if (p.step === 'previewing') body.push(h('p', { class: 'muted' }, 'Asking the server for a dry run…'));
    if ((p.step === 'preview' || p.step === 'running') && p.preview) {
      body.push(previewBody(p.preview));
      body.push(
        h(
          'label',
          { class: 'reason' },
          'Reason (audited) ',
          h('input', {
            type: 'text',
            value: p.reason,
            maxlength: '1000',
            placeholder: 'why this change',
            'data-reason': '',
            oninput: (e: Event) => (p.reason = (e.target as HTMLInputElement).value),
          }),
        ),
      );
      buttons.push(
        h(
          'button',
          { type: 'button', class: 'btn primary', 'data-action': 'confirm', disabled: p.step === 'running', onclick: () => void this.confirm() },
          p.step === 'running' ? 'Working… (the server may ask you to approve)' : 'Confirm',
        ),
      );
    }
    if (p.step === 'failed') body.push(h('p', { class: 'error', role: 'alert', 'data-error': '' }, p.error ?? 'failed'));
    buttons.push(
      h(
        'button',
        { type: 'button', class: 'btn', 'data-action': 'cancel', onclick: () => this.cancel() },
        p.step === 'failed' && p.kind !== 'traffic' ? 'Close' : 'Cancel',
      ),
    );
    return h(
      'div',
      { class: 'pending', 'data-pending': p.kind, 'data-step': p.step },
      h('h4', {}, p.title, p.step === 'preview' ? ' — dry run, nothing changed yet' : ''),
      body,
      h('div', { class: 'buttons' }, buttons),
    );
  }
}

function splitText(w: Record<string, number>): string {
  return (
    Object.entries(w)
      .map(([v, x]) => `${v} ${pct(x, 0)}`)
      .join(' / ') || 'none'
  );
}

/** What a dry run says would change, from its structured answer; its text as a fallback. */
function previewBody(r: ToolResult): HTMLElement {
  const s = r.structuredContent;
  const text = resultText(r);
  if (s && Array.isArray(s.changes)) {
    const c = s as unknown as StageChange;
    return h(
      'div',
      { class: 'preview', 'data-preview': '' },
      c.changes.length
        ? h(
            'ul',
            {},
            c.changes.map((x) => h('li', {}, h('b', {}, x.version), ` ${x.from} → ${x.to}`)),
          )
        : h('p', {}, 'Nothing would change.'),
      h('p', {}, `production: ${c.production_before ?? 'none'} → ${c.production_after ?? 'none'}`),
      c.alerts.length
        ? h(
            'ul',
            { class: 'alerts' },
            c.alerts.map((a) => h('li', {}, `[${a.severity}] ${a.message}`)),
          )
        : '',
    );
  }
  if (s && typeof s.before === 'object' && typeof s.after === 'object') {
    const t = s as unknown as TrafficChange;
    return h(
      'div',
      { class: 'preview', 'data-preview': '' },
      h('p', {}, `${splitText(t.before)} → `, h('b', {}, splitText(t.after)), ` (${t.routing})`),
      t.alerts.length
        ? h(
            'ul',
            { class: 'alerts' },
            t.alerts.map((a) => h('li', {}, `[${a.severity}] ${a.message}`)),
          )
        : '',
    );
  }
  return h('div', { class: 'preview', 'data-preview': '' }, h('p', {}, text));
}

/** A drift statistic's column header: its label, its meaning as the tooltip. */
function statisticHeader(s: DriftStatistic): HTMLElement {
  return h('th', { title: s.display.hint, 'data-statistic': s.name }, s.display.label);
}

/** A feature's value of a drift statistic, from the answer's wire name ('–' in a run stored before the statistic was computed). */
function statisticCell(s: DriftStatistic, f: object): HTMLElement {
  const v = fieldValue(f, wireName(s.display.field));
  return h('td', { 'data-statistic': s.name }, typeof v === 'number' ? s.display.format(v) : '–');
}
