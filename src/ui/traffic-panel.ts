import { h, ms, pct, when } from './dom.js';
import { pendingPanel } from './pending-panel.js';
import type { Traffic } from './types.js';
import { failed, type DashboardView, type ModelView, splitText } from './view-model.js';

/** The traffic panel: each model's split, its variants' calls, errors and latency, and the split editor. */

export function trafficSection(d: DashboardView): HTMLElement {
  const cards = d.models.map((m) => {
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
    const edit = d.canWrite('configure_ab_test')
      ? h('button', { type: 'button', class: 'btn small', 'data-action': 'edit-split', onclick: () => editSplit(d, m, t) }, 'Change split')
      : '';
    return h(
      'article',
      { class: 'model', 'data-traffic': m.name },
      h(
        'h3',
        {},
        m.name,
        ' ',
        h('small', { class: 'muted' }, t.explicit ? `A/B split, ${t.routing} routing` : Object.keys(t.weights).length ? 'all to production' : 'nothing routed'),
        ' ',
        edit,
      ),
      Object.keys(t.weights).length ? bar : '',
      variants.length ? table : h('p', { class: 'muted' }, 'No traffic yet.'),
      h('p', { class: 'muted small' }, `since ${when(t.since)} UTC`),
      pendingPanel(d, m.name, ['traffic']),
    );
  });
  return h(
    'section',
    { class: 'card', id: 'traffic' },
    h('h2', {}, 'Traffic'),
    cards.length ? cards : h('p', { class: 'muted' }, d.updated ? 'No model registered yet.' : 'Loading…'),
  );
}

function editSplit(d: DashboardView, m: ModelView, t: Traffic): void {
  const weights: Record<string, string> = {};
  for (const v of m.versions) if (v.stage !== 'archived') weights[v.version] = String(Object.hasOwn(t.weights, v.version) ? t.weights[v.version] : 0);
  void d.start({
    kind: 'traffic',
    tool: 'configure_ab_test',
    model: m.name,
    title: `Traffic split of ${m.name}`,
    args: {},
    weights,
    routing: t.routing ?? 'sticky',
  });
}
