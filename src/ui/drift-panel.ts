import { fieldValue, INFORMATIONAL, VERDICT, wireName, type DriftStatistic } from '../monitoring/statistics/index.js';
import { h, num, pct, pValue, when } from './dom.js';
import { failed, type DashboardView, type Failed } from './view-model.js';

/** The drift panel: the run on show, a row per feature with a column per statistic in the list, and the chosen feature's ECDFs. */

export function driftSection(d: DashboardView): HTMLElement {
  const view = d.driftView();
  const errors = d.models.filter((m) => failed(m.drift)).map((m) => h('p', { class: 'error' }, `${m.name}: ${(m.drift as Failed).error}`));
  if (!view) {
    return h(
      'section',
      { class: 'card', id: 'drift' },
      h('h2', {}, 'Drift'),
      errors,
      h('p', { class: 'muted' }, d.updated ? 'No drift run yet: set a reference with set_drift_reference, then run detect_drift.' : 'Loading…'),
    );
  }
  const { run } = view;
  const runs = d.models.filter((m) => m.drift !== null && !failed(m.drift));
  const picker =
    runs.length > 1
      ? h(
          'select',
          { 'aria-label': 'model', 'data-drift-model': '', onchange: (e: Event) => void d.chooseDriftModel((e.target as HTMLSelectElement).value) },
          runs.map((m) => h('option', { value: m.name, selected: m.name === run.name }, m.name)),
        )
      : h('b', {}, run.name);
  const rows = [...run.features]
    .sort((a, b) => b.statistic - a.statistic)
    .map((f) =>
      h(
        'tr',
        { 'data-feature': f.feature, 'data-drifted': String(f.drift_detected), class: f.feature === d.driftFeature ? 'selected' : '' },
        h(
          'td',
          {},
          h(
            'button',
            { type: 'button', class: 'link', onclick: () => void d.chooseFeature(f.feature), 'aria-pressed': String(f.feature === d.driftFeature) },
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
      chartFigure(d),
    ),
  );
}

function chartFigure(d: DashboardView): HTMLElement {
  const c = d.curves;
  if (c === null) return h('div', { class: 'muted small' }, d.driftFeature ? 'Loading curves…' : '');
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

/** A drift statistic's column header: its label, its meaning as the tooltip. */
function statisticHeader(s: DriftStatistic): HTMLElement {
  return h('th', { title: s.display.hint, 'data-statistic': s.name }, s.display.label);
}

/** A feature's value of a drift statistic, from the answer's wire name ('–' in a run stored before the statistic was computed). */
function statisticCell(s: DriftStatistic, f: object): HTMLElement {
  const v = fieldValue(f, wireName(s.display.field));
  return h('td', { 'data-statistic': s.name }, typeof v === 'number' ? s.display.format(v) : '–');
}
