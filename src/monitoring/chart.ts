import { Resvg } from '@resvg/resvg-js';
import { ksLocation, upperBound } from './curves.js';

/** One panel of the drift chart: a feature's two samples, sorted. */
export interface CdfPanel {
  feature: string;
  reference: Float64Array;
  current: Float64Array;
  pValue: number;
}

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
const fmt = (x: number) => (Math.abs(x) >= 1000 || (Math.abs(x) < 0.01 && x !== 0) ? x.toExponential(2) : x.toPrecision(4).replace(/\.?0+$/, ''));

/**
 * The reference and current empirical CDFs of each feature, side by side, with the KS distance
 * drawn where it occurs: an SVG built here and rasterised to PNG by resvg (Rust, prebuilt
 * binaries from the npm registry, no download at install time).
 */
export function renderCdfChart(title: string, panels: readonly CdfPanel[]): Buffer {
  const pw = 300;
  const ph = 230;
  const m = { l: 44, r: 12, t: 40, b: 36 };
  const width = Math.max(1, panels.length) * pw;
  const height = ph + 30;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<g font-size="11"><line x1="${width - 250}" y1="15" x2="${width - 230}" y2="15" stroke="#1f77b4" stroke-width="2"/><text x="${width - 226}" y="19">reference</text>`,
    `<line x1="${width - 160}" y1="15" x2="${width - 140}" y2="15" stroke="#ff7f0e" stroke-width="2"/><text x="${width - 136}" y="19">current</text></g>`,
  ];
  panels.forEach((p, k) => {
    const ox = k * pw;
    const oy = 30;
    const lo = Math.min(p.reference[0], p.current[0]);
    const hi = Math.max(p.reference[p.reference.length - 1], p.current[p.current.length - 1]);
    const span = hi > lo ? hi - lo : 1;
    const sx = (x: number) => ox + m.l + ((x - lo) / span) * (pw - m.l - m.r);
    const sy = (f: number) => oy + m.t + (1 - f) * (ph - m.t - m.b);
    const curve = (sorted: Float64Array) => {
      const pts: string[] = [];
      const steps = 240;
      for (let s = 0; s <= steps; s++) {
        const x = lo + (span * s) / steps;
        pts.push(`${sx(x).toFixed(1)},${sy(upperBound(sorted, x) / sorted.length).toFixed(1)}`);
      }
      return pts.join(' ');
    };
    const at = ksLocation(p.reference, p.current);
    parts.push(
      `<g>`,
      `<text x="${ox + m.l}" y="${oy + 14}" font-size="12" font-weight="bold">${esc(p.feature)}</text>`,
      `<text x="${ox + m.l}" y="${oy + 30}" font-size="10">D = ${fmt(Math.abs(at.fa - at.fb))}, p = ${p.pValue.toExponential(2)}</text>`,
      `<rect x="${ox + m.l}" y="${oy + m.t}" width="${pw - m.l - m.r}" height="${ph - m.t - m.b}" fill="none" stroke="#999"/>`,
      ...[0, 0.5, 1].map((f) => `<text x="${ox + m.l - 4}" y="${sy(f) + 4}" font-size="10" text-anchor="end">${f}</text>`),
      `<text x="${ox + m.l}" y="${oy + ph - m.b + 14}" font-size="10">${fmt(lo)}</text>`,
      `<text x="${ox + pw - m.r}" y="${oy + ph - m.b + 14}" font-size="10" text-anchor="end">${fmt(hi)}</text>`,
      `<polyline points="${curve(p.reference)}" fill="none" stroke="#1f77b4" stroke-width="1.8"/>`,
      `<polyline points="${curve(p.current)}" fill="none" stroke="#ff7f0e" stroke-width="1.8"/>`,
      `<line x1="${sx(at.x)}" y1="${sy(at.fa)}" x2="${sx(at.x)}" y2="${sy(at.fb)}" stroke="#d62728" stroke-width="2.5"/>`,
      `<text x="${ox + m.l + (pw - m.l - m.r) / 2}" y="${oy + ph - m.b + 28}" font-size="10" text-anchor="middle">KS distance in red at ${esc(fmt(at.x))}</text>`,
      `</g>`,
    );
  });
  parts.push('</svg>');
  return new Resvg(parts.join(''), { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
}
