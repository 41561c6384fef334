import type { OutcomeColumns, StoredOutcome } from './ports.js';

/**
 * A window's outcomes column by column, as stores fill them and measuring reads them: numbers in
 * typed arrays (NaN where the stored value is null: neither engine stores NaN, both keep it as
 * null), versions and labels as codes into their lists (−1: null). A window of 100 000 is then a
 * few typed arrays instead of 100 000 objects.
 */

/** Codes of strings in the order first seen. */
export class Codes {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();

  code(s: string | null): number {
    if (s === null) return -1;
    let c = this.index.get(s);
    if (c === undefined) {
      c = this.values.length;
      this.index.set(s, c);
      this.values.push(s);
    }
    return c;
  }
}

const grown = <A extends Float64Array | Int32Array>(a: A, size: number): A => {
  const b = new (a.constructor as new (n: number) => A)(size);
  b.set(a);
  return b;
};

/** Fills a window row by row (in the order the store reads it: newest prediction first). */
export class OutcomeColumnsBuilder {
  private n = 0;
  private readonly versions = new Codes();
  private readonly labels = new Codes();
  private version = new Int32Array(1024);
  private predictedAt = new Float64Array(1024);
  private predicted = new Float64Array(1024);
  private actual = new Float64Array(1024);
  private predictedLabel = new Int32Array(1024);
  private actualLabel = new Int32Array(1024);
  private pActual = new Float64Array(1024);
  private brier = new Float64Array(1024);
  private pPositive = new Float64Array(1024);

  push(
    version: string,
    predictedAt: number,
    predicted: number | null,
    actual: number | null,
    predictedLabel: string | null,
    actualLabel: string | null,
    pActual: number | null,
    brier: number | null,
    pPositive: number | null,
  ): void {
    if (this.n === this.version.length) this.grow();
    const i = this.n++;
    this.version[i] = this.versions.code(version);
    this.predictedAt[i] = predictedAt;
    this.predicted[i] = predicted ?? NaN;
    this.actual[i] = actual ?? NaN;
    this.predictedLabel[i] = this.labels.code(predictedLabel);
    this.actualLabel[i] = this.labels.code(actualLabel);
    this.pActual[i] = pActual ?? NaN;
    this.brier[i] = brier ?? NaN;
    this.pPositive[i] = pPositive ?? NaN;
  }

  build(): OutcomeColumns {
    const n = this.n;
    return {
      length: n,
      versions: this.versions.values,
      labels: this.labels.values,
      version: this.version.subarray(0, n),
      predictedAt: this.predictedAt.subarray(0, n),
      predicted: this.predicted.subarray(0, n),
      actual: this.actual.subarray(0, n),
      predictedLabel: this.predictedLabel.subarray(0, n),
      actualLabel: this.actualLabel.subarray(0, n),
      pActual: this.pActual.subarray(0, n),
      brier: this.brier.subarray(0, n),
      pPositive: this.pPositive.subarray(0, n),
    };
  }

  private grow(): void {
    const size = this.version.length * 2;
    this.version = grown(this.version, size);
    this.predictedAt = grown(this.predictedAt, size);
    this.predicted = grown(this.predicted, size);
    this.actual = grown(this.actual, size);
    this.predictedLabel = grown(this.predictedLabel, size);
    this.actualLabel = grown(this.actualLabel, size);
    this.pActual = grown(this.pActual, size);
    this.brier = grown(this.brier, size);
    this.pPositive = grown(this.pPositive, size);
  }
}

/** Outcomes as columns, in the same order. */
export function columnsOf(rows: readonly StoredOutcome[]): OutcomeColumns {
  const b = new OutcomeColumnsBuilder();
  for (const o of rows) b.push(o.version, o.predictedAt, o.predicted, o.actual, o.predictedLabel, o.actualLabel, o.pActual, o.brier, o.pPositive);
  return b.build();
}

const orNull = (x: number) => (Number.isNaN(x) ? null : x);
const labelOf = (w: OutcomeColumns, c: number) => (c < 0 ? null : w.labels[c]);

/** The window's outcomes as objects, in its order (for tests and small windows). */
export function rowsOf(w: OutcomeColumns): StoredOutcome[] {
  return Array.from({ length: w.length }, (_, i) => ({
    version: w.versions[w.version[i]],
    predictedAt: w.predictedAt[i],
    predicted: orNull(w.predicted[i]),
    actual: orNull(w.actual[i]),
    predictedLabel: labelOf(w, w.predictedLabel[i]),
    actualLabel: labelOf(w, w.actualLabel[i]),
    pActual: orNull(w.pActual[i]),
    brier: orNull(w.brier[i]),
    pPositive: orNull(w.pPositive[i]),
  }));
}

/** The rows of each version of the window (by its code), in the window's order. */
export function rowsByVersion(w: OutcomeColumns): Int32Array[] {
  const counts = new Int32Array(w.versions.length);
  for (let i = 0; i < w.length; i++) counts[w.version[i]]++;
  const out = Array.from(counts, (n) => new Int32Array(n));
  const filled = new Int32Array(w.versions.length);
  for (let i = 0; i < w.length; i++) {
    const v = w.version[i];
    out[v][filled[v]++] = i;
  }
  return out;
}
