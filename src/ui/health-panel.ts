import { h, ms, when } from './dom.js';
import type { HealthReport } from './types.js';
import { failed, type Maybe } from './view-model.js';

/** The health panel: every component's status, latency and detail. */
export function healthSection(hr: Maybe<HealthReport> | null): HTMLElement {
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
