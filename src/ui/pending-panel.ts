import { h, num } from './dom.js';
import type { StageChange, ToolResult, TrafficChange } from './types.js';
import { type DashboardView, type Pending, resultText, splitText } from './view-model.js';

/** A change in progress, under the model it concerns: the split editor, the dry run's preview, the reason, confirm or cancel. */

export function pendingPanel(d: DashboardView, model: string, kinds: Array<Pending['kind']>): HTMLElement | string {
  const p = d.pending;
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
                const el = d.root.querySelector('[data-weight-sum]');
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
        { type: 'button', class: 'btn primary', 'data-action': 'preview', disabled: p.step === 'previewing', onclick: () => void d.preview() },
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
        { type: 'button', class: 'btn primary', 'data-action': 'confirm', disabled: p.step === 'running', onclick: () => void d.confirm() },
        p.step === 'running' ? 'Working… (the server may ask you to approve)' : 'Confirm',
      ),
    );
  }
  if (p.step === 'failed') body.push(h('p', { class: 'error', role: 'alert', 'data-error': '' }, p.error ?? 'failed'));
  buttons.push(
    h(
      'button',
      { type: 'button', class: 'btn', 'data-action': 'cancel', onclick: () => d.cancel() },
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
