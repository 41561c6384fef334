import type { ValueMeta } from './model-protocol.js';
import type { TypedArray, WireTensor } from './model-wire.js';
import { runSession, type OrtSession } from './ort-session.js';

type Feeds = Array<{ name: string; tensor: WireTensor }>;

/** Values to fill an input with: what a run's time could depend on besides its shape. */
const FILLS: Record<string, Array<(i: number) => number>> = {
  // Ordinary values; subnormals (slow paths on some CPUs); values near the type's overflow.
  float32: [(i) => ((i % 17) - 8) / 8, () => 1e-40, (i) => (i % 2 ? 3e38 : -3e38)],
  float64: [(i) => ((i % 17) - 8) / 8, () => 5e-320, (i) => (i % 2 ? 1e300 : -1e300)],
  int32: [(i) => (i % 17) - 8, () => 0, (i) => (i % 2 ? 2 ** 30 : -(2 ** 30))],
  int64: [(i) => (i % 17) - 8, () => 0, (i) => (i % 2 ? 2 ** 40 : -(2 ** 40))],
};

function filled(type: string, n: number, fill: (i: number) => number): TypedArray {
  if (type === 'int64') return BigInt64Array.from({ length: n }, (_, i) => BigInt(fill(i)));
  const out = type === 'float32' ? new Float32Array(n) : type === 'float64' ? new Float64Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = fill(i);
  return out;
}

/**
 * Feeds of `rows` rows (the first symbolic dimension; any other symbolic dimension 1) filled by
 * fill number `which` of FILLS (-1: zeros); null when an input is not a numeric tensor.
 */
export function feedsOf(inputs: readonly ValueMeta[], rows: number, which: number): Feeds | null {
  const feeds: Feeds = [];
  for (const m of inputs) {
    const fills = FILLS[m.type];
    if (!m.isTensor || !fills) return null;
    const dims = m.shape.map((d, i) => (typeof d === 'number' ? d : i === 0 ? rows : 1));
    feeds.push({
      name: m.name,
      tensor: {
        type: m.type,
        dims,
        data: filled(
          m.type,
          dims.reduce((a, b) => a * b, 1),
          fills[which] ?? zero,
        ),
      },
    });
  }
  return feeds;
}

const zero = () => 0;

/** One row of zeros: registration's check runs it. */
export const zeroFeeds = (inputs: readonly ValueMeta[]): Feeds | null => feedsOf(inputs, 1, -1);

/**
 * The longest of a few runs of `rows` rows, each fill timed as the median of five runs (after
 * one to warm up): what one run of the model at most that size can take, given that its time
 * depends on the shapes and on slow arithmetic paths, not on which values take which path.
 * Stops at the first run past `stopPast` µs (that answer is enough). Null when a run fails on
 * such inputs.
 */
export function timeRuns(s: OrtSession, rows: number, stopPast: number, maxOutputBytes: number): number | null {
  const fetches = s.outputs.map((m) => m.name);
  let longest = 0;
  for (let which = 0; which < 3; which++) {
    const feeds = feedsOf(s.inputs, rows, which);
    if (!feeds) return null;
    const took: number[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const t0 = performance.now();
        runSession(s, feeds, fetches, maxOutputBytes);
        const micros = (performance.now() - t0) * 1000;
        if (micros > stopPast) return micros;
        // The first run warms caches up and is not counted.
        if (i) took.push(micros);
      }
    } catch {
      return null;
    }
    longest = Math.max(longest, took.sort((a, b) => a - b)[2]);
  }
  return longest;
}
