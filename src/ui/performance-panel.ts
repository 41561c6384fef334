import { h, num, pValue, when } from './dom.js';
import type { Performance } from './types.js';

type MetricValue = Performance['versions'][number]['metrics']['mae'];

/**
 * The performance panel: per model with outcomes, each version's primary metric over time (one
 * line per version, drawn in SVG) next to its registered baseline, and the A/B comparison: each
 * variant's metric with its 95% interval, the challenger − control difference with its interval
 * against zero, the p-value and the verdict.
 */

const SVG = 'http://www.w3.org/2000/svg';
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd'];

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  ...children: Array<SVGElement | string>
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** Each version's series as a line over a shared time axis, with the y range of all of them. */
function seriesChart(p: Performance): SVGSVGElement {
  const W = 900;
  const H = 170;
  const pad = { l: 42, r: 8, t: 8, b: 20 };
  const points = p.versions.flatMap((v) => v.series.filter((s) => s.value !== null).map((s) => ({ t: Date.parse(s.start), y: s.value as number })));
  const t0 = Math.min(...points.map((q) => q.t));
  const t1 = Math.max(...points.map((q) => q.t));
  let y0 = Math.min(...points.map((q) => q.y));
  let y1 = Math.max(...points.map((q) => q.y));
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0 || 1)) * (W - pad.l - pad.r);
  const y = (v: number) => pad.t + (1 - (v - y0) / (y1 - y0)) * (H - pad.t - pad.b);
  const axis = [y0, (y0 + y1) / 2, y1].map((v) =>
    svg(
      'g',
      {},
      svg('line', { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), class: 'gridline' }),
      svg('text', { x: pad.l - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, num(v, 3)),
    ),
  );
  const lines = p.versions.map((v, i) => {
    const pts = v.series.filter((s) => s.value !== null).map((s) => `${x(Date.parse(s.start)).toFixed(1)},${y(s.value as number).toFixed(1)}`);
    return svg('polyline', { points: pts.join(' '), fill: 'none', stroke: COLORS[i % COLORS.length], 'stroke-width': 2, 'data-series': v.version });
  });
  const dates = [t0, t1].map((t, i) =>
    svg('text', { x: x(t), y: H - 4, 'text-anchor': i ? 'end' : 'start', class: 'tick' }, when(new Date(t).toISOString()).slice(5)),
  );
  return svg(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'series', role: 'img', 'aria-label': `${p.versions[0]?.primary_metric ?? 'metric'} over time per version` },
    ...axis,
    ...lines,
    ...dates,
  );
}

/** The difference's interval on a scale symmetric around zero: where it lies tells the verdict. */
function intervalBar(low: number, high: number, difference: number): SVGSVGElement {
  const W = 200;
  const span = Math.max(Math.abs(low), Math.abs(high), 1e-12) * 1.15;
  const x = (v: number) => ((v + span) / (2 * span)) * W;
  return svg(
    'svg',
    { viewBox: `0 0 ${W} 18`, class: 'ci-bar', role: 'img', 'aria-label': `interval ${num(low, 4)} to ${num(high, 4)}` },
    svg('line', { x1: x(0), x2: x(0), y1: 0, y2: 18, class: 'zero' }),
    svg('line', { x1: x(low), x2: x(high), y1: 9, y2: 9, class: 'ci' }),
    svg('circle', { cx: x(difference), cy: 9, r: 4, class: 'estimate' }),
  );
}

function comparisonBlock(p: Performance): HTMLElement | string {
  const c = p.comparison;
  if (!c) return '';
  const metric = c.metric === 'mae' ? 'MAE (lower is better)' : 'accuracy';
  const variants = h(
    'table',
    { class: 'variants' },
    h('thead', {}, h('tr', {}, h('th', {}, 'variant'), h('th', {}, c.metric), h('th', {}, '95% interval'), h('th', {}, 'outcomes'))),
    h(
      'tbody',
      {},
      c.variants.map((v) =>
        h(
          'tr',
          { 'data-ab-variant': v.version },
          h('td', {}, h('b', {}, v.version), v.version === c.control ? h('small', { class: 'muted' }, ' control') : ''),
          h('td', {}, num(v.value, 4)),
          h('td', { class: 'nowrap' }, v.ci95 ? `${num(v.ci95.low, 4)} – ${num(v.ci95.high, 4)}` : '–'),
          h('td', {}, v.outcomes),
        ),
      ),
    ),
  );
  const challengers = c.challengers.map((ch) =>
    h(
      'div',
      { class: 'verdict-row', 'data-challenger': ch.version, 'data-verdict': ch.verdict },
      h('span', { class: `pill verdict ${ch.verdict.replace(' ', '-')}` }, ch.verdict),
      h(
        'span',
        {},
        `${ch.version} − ${c.control}: `,
        h('b', {}, num(ch.difference, 4)),
        ch.ci ? ` [${num(ch.ci.low, 4)}, ${num(ch.ci.high, 4)}]` : '',
        ch.p_value === null ? '' : `, p = ${pValue(ch.p_value)}`,
      ),
      ch.ci && ch.difference !== null ? intervalBar(ch.ci.low, ch.ci.high, ch.difference) : '',
      h(
        'small',
        { class: 'muted' },
        ch.outcomes_needed === null
          ? ''
          : ch.outcomes_needed > 0
            ? `${ch.outcomes_needed} more outcomes to detect ${num(ch.min_effect, 4)} with 80% power`
            : 'enough outcomes for 80% power',
      ),
    ),
  );
  return h(
    'div',
    { class: 'ab', 'data-ab': p.name },
    h('h4', {}, `A/B: ${metric}`, h('small', { class: 'muted' }, c.since ? ` · since ${when(c.since)} UTC · alpha ${c.alpha}` : ` · alpha ${c.alpha}`)),
    variants,
    challengers,
  );
}

export function performanceSection(models: ReadonlyArray<{ name: string; performance: Performance | { error: string } | null }>, loaded: boolean): HTMLElement {
  const cards = models.flatMap((m) => {
    const p = m.performance;
    if (p === null) return [];
    if ('error' in p) return [h('article', { class: 'model' }, h('h3', {}, m.name), h('p', { class: 'error' }, p.error))];
    if (!p.versions.length) return [];
    const rows = p.versions.map((v, i) => {
      // primary_metric names one of metrics' keys (mae or accuracy); the schema says only string.
      const metrics: Record<string, MetricValue | undefined> = v.metrics;
      const primary = metrics[v.primary_metric];
      const base = v.baseline.find((b) => b.metric === v.primary_metric);
      return h(
        'tr',
        { 'data-performance-version': v.version },
        h(
          'td',
          {},
          h('span', { class: 'swatch', style: `background:${COLORS[i % COLORS.length]}` }),
          h('b', {}, v.version),
          ' ',
          h('span', { class: `stage ${v.stage}` }, v.stage),
        ),
        h(
          'td',
          {},
          `${v.primary_metric} `,
          h('b', {}, num(primary?.value, 4)),
          primary?.ci95 ? h('small', { class: 'muted' }, ` [${num(primary.ci95.low, 4)}, ${num(primary.ci95.high, 4)}]`) : '',
        ),
        h('td', {}, v.outcomes),
        h(
          'td',
          { class: base?.worse_by && base.worse_by > 0.02 ? 'error' : '' },
          base ? `baseline ${num(base.baseline, 4)} (${base.change !== null && base.change >= 0 ? '+' : ''}${num(base.change, 4)})` : '',
        ),
      );
    });
    return [
      h(
        'article',
        { class: 'model', 'data-performance': m.name },
        h('h3', {}, m.name, ' ', h('small', { class: 'muted' }, `${p.outcomes} outcomes`)),
        h('figure', { class: 'series-figure' }, h('figcaption', { class: 'muted' }, `${p.versions[0].primary_metric} over time`), seriesChart(p)),
        h('table', { class: 'variants' }, h('tbody', {}, rows)),
        comparisonBlock(p),
      ),
    ];
  });
  return h(
    'section',
    { class: 'card', id: 'performance' },
    h('h2', {}, 'Performance ', h('small', { class: 'muted' }, 'from recorded outcomes')),
    cards.length
      ? cards
      : h('p', { class: 'muted' }, loaded ? 'No outcomes recorded yet: record_outcomes joins what happened to logged predictions.' : 'Loading…'),
  );
}
