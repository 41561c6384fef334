// A few lines instead of a framework: elements from tag, attributes and children.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Array<Child | Child[]>): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'class') el.className = String(v);
    else if (k in el && typeof v !== 'string') (el as unknown as Record<string, unknown>)[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

export const num = (x: number | null | undefined, digits = 3): string => {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (x !== 0 && (Math.abs(x) < 10 ** -digits || Math.abs(x) >= 1e6)) return x.toExponential(2);
  return String(Number(x.toFixed(digits)));
};

export const pct = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(digits)}%`);

export const ms = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : `${x < 10 ? x.toFixed(2) : x.toFixed(0)} ms`);

/** 2026-11-23T10:01:02.123Z → "2026-11-23 10:01" (UTC, as the audit trail stores it). */
export const when = (iso: string): string => iso.replace('T', ' ').slice(0, 16);

export const pValue = (p: number): string => (p < 1e-4 ? p.toExponential(1) : p.toFixed(4));
