import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Curve, DriftCurves } from './types.js';

// uPlot (about 50 KB minified) draws the ECDFs on a canvas; Observable Plot would bring D3
// along (several hundred KB), more than the whole app may weigh.

export const REFERENCE_COLOR = '#1f77b4';
export const CURRENT_COLOR = '#ff7f0e';
export const KS_COLOR = '#d62728';

/** F(x) of a downsampled ECDF: the CDF of the last point at or before x (0 before the first). */
function stepAt(c: Curve, x: number): number {
  let lo = 0;
  let hi = c.x.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (c.x[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 0 : c.cdf[lo - 1];
}

/** Both curves on one x axis (uPlot's data layout), starting a little left of the data at 0. */
export function alignCurves(curves: ReadonlyArray<Curve>): number[][] {
  const xs = [...new Set(curves.flatMap((c) => c.x))].sort((a, b) => a - b);
  if (!xs.length) return [[], ...curves.map(() => [])];
  const span = xs[xs.length - 1] - xs[0] || Math.abs(xs[0]) || 1;
  const x = [xs[0] - span * 0.03, ...xs];
  return [x, ...curves.map((c) => x.map((v) => stepAt(c, v)))];
}

const cssVar = (name: string, fallback: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

/**
 * The reference and current empirical CDFs of one feature as step lines, with the KS distance
 * drawn as a red segment where the two are farthest apart. Follows its container's width.
 */
export function ecdfChart(container: HTMLElement, curves: DriftCurves): { destroy(): void } {
  const shown = [curves.reference, curves.current].filter((c): c is Curve => c !== null);
  const data = alignCurves(shown);
  const fg = cssVar('--fg-muted', '#666');
  const grid = cssVar('--grid', 'rgba(128,128,128,0.18)');
  const stepped = uPlot.paths.stepped!({ align: 1 });
  const series: uPlot.Series[] = [{ label: curves.feature }];
  if (curves.reference)
    series.push({ label: `reference (n=${curves.reference.n})`, stroke: REFERENCE_COLOR, width: 2, paths: stepped, points: { show: false } });
  if (curves.current) series.push({ label: `current (n=${curves.current.n})`, stroke: CURRENT_COLOR, width: 2, paths: stepped, points: { show: false } });
  const ks = curves.ks;
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif' };
  const width = () => Math.max(240, Math.floor(container.clientWidth));
  const plot = new uPlot(
    {
      width: width(),
      height: 220,
      scales: { x: { time: false }, y: { range: [0, 1] } },
      series,
      axes: [{ ...axis }, { ...axis, size: 40, values: (_u, ticks) => ticks.map((t) => t.toFixed(1)) }],
      legend: { live: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      hooks: {
        draw: [
          (u) => {
            if (!ks) return;
            const x = u.valToPos(ks.x, 'x', true);
            const y1 = u.valToPos(ks.reference_cdf, 'y', true);
            const y2 = u.valToPos(ks.current_cdf, 'y', true);
            const ctx = u.ctx;
            const px = devicePixelRatio;
            ctx.save();
            ctx.strokeStyle = KS_COLOR;
            ctx.lineWidth = 3 * px;
            ctx.beginPath();
            ctx.moveTo(x, y1);
            ctx.lineTo(x, y2);
            ctx.stroke();
            ctx.fillStyle = KS_COLOR;
            ctx.font = `${12 * px}px system-ui, sans-serif`;
            const label = `D = ${ks.distance.toFixed(3)}`;
            const right = x + ctx.measureText(label).width + 8 * px < u.bbox.left + u.bbox.width;
            ctx.textAlign = right ? 'left' : 'right';
            ctx.fillText(label, x + (right ? 6 : -6) * px, (y1 + y2) / 2 + 4 * px);
            ctx.restore();
          },
        ],
      },
    },
    data as uPlot.AlignedData,
    container,
  );
  const resize = new ResizeObserver(() => {
    const w = width();
    if (w !== plot.width) plot.setSize({ width: w, height: 220 });
  });
  resize.observe(container);
  return {
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}
