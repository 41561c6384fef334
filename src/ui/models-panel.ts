import { h, when } from './dom.js';
import { pendingPanel } from './pending-panel.js';
import type { AuditEntry, History, VersionSummary } from './types.js';
import { failed, type DashboardView, type Maybe, splitText } from './view-model.js';

/** The models panel: each model's versions and stages, promote and roll back, and its recent transitions. */

/** Transitions shown of the audit entries read (recorded outcomes are audited too, but are not transitions). */
const TRANSITIONS_SHOWN = 8;
const isTransition = (e: AuditEntry) => e.action !== 'record_outcomes';

export function modelsSection(d: DashboardView): HTMLElement {
  const cards = d.models.map((m) => {
    const production = m.versions.find((v) => v.stage === 'production');
    const rows = m.versions.map((v) =>
      h(
        'tr',
        { 'data-version': v.version, 'data-stage': v.stage },
        h('td', {}, h('b', {}, v.version)),
        h('td', {}, h('span', { class: `stage ${v.stage}` }, v.stage)),
        h('td', { class: 'muted nowrap created' }, when(v.created_at)),
        h('td', { class: 'actions' }, d.canWrite('promote_model') && v.stage !== 'production' ? promoteButtons(d, m.name, v) : ''),
      ),
    );
    const rollback =
      production && d.canWrite('rollback_model')
        ? h(
            'button',
            {
              type: 'button',
              class: 'btn small',
              'data-action': 'rollback',
              onclick: () =>
                void d.start({
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
      pendingPanel(d, m.name, ['promote', 'rollback']),
      timeline(m.history),
    );
  });
  return h(
    'section',
    { class: 'card', id: 'models' },
    h('h2', {}, 'Models'),
    cards.length ? cards : h('p', { class: 'muted' }, d.listError ? '' : d.updated ? 'No model registered yet.' : 'Loading…'),
  );
}

function promoteButtons(d: DashboardView, name: string, v: VersionSummary): HTMLElement[] {
  const targets = (['staging', 'production'] as const).filter((t) => t !== v.stage);
  return targets.map((target) =>
    h(
      'button',
      {
        type: 'button',
        class: `btn small${target === 'production' ? ' primary' : ''}`,
        'data-action': `promote-${target}`,
        onclick: () =>
          void d.start({
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

function timeline(history: Maybe<History> | null): HTMLElement {
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
