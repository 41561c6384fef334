import type { ModelVersion } from '../registry/types.js';
import type { BatchOutput } from './outputs.js';
import { takesOneRow } from './runner.js';

/**
 * Runs `n` rows (row-major, `k` features) of a version in its model process; `requests` is how
 * many callers the run serves (the session cache counts a lookup for each).
 */
export type RunRows = (version: ModelVersion, matrix: Float64Array, n: number, k: number, requests: number) => Promise<BatchOutput>;

/** A request of at most this many rows may share a run; larger ones are a run of their own already. */
export const COALESCE_MAX_ROWS_EACH = 16;
/** At most this many rows in one shared run. */
export const COALESCE_MAX_ROWS = 512;

interface Waiting {
  matrix: Float64Array;
  n: number;
  k: number;
  resolve: (out: BatchOutput) => void;
  reject: (e: unknown) => void;
}

/**
 * Small runs of one version asked for within one turn of the event loop go to the model process
 * as one run: each run is a round trip to another process (a write, a wake-up there, a read back:
 * ~60–100 µs), and under load the requests that one turn's socket reads bring are answered by one
 * round trip instead of one each. Nothing waits for company: the runs gathered go out at the end
 * of the turn that asked for them (setImmediate), which is when a lone run would be sent anyway
 * once its request's callbacks are done. Each caller gets the rows of its own request.
 *
 * A shared run that fails on its rows (a value beyond the input's range, a run onnxruntime
 * refused) is run again request by request, so that an error is only ever told to the request
 * whose rows caused it, in the words it would get alone. A failure of the process (`fatal`: a
 * limit met, a crash, a model that does not load) would fail each alone too: it is passed to all.
 */
export class RunCoalescer {
  private pending = new Map<ModelVersion, Waiting[]>();
  private scheduled = false;

  constructor(
    private readonly runRows: RunRows,
    private readonly fatal: (e: unknown) => boolean,
  ) {}

  run(version: ModelVersion, matrix: Float64Array, n: number, k: number): Promise<BatchOutput> {
    if (n > COALESCE_MAX_ROWS_EACH || takesOneRow(version)) return this.runRows(version, matrix, n, k, 1);
    return new Promise<BatchOutput>((resolve, reject) => {
      let list = this.pending.get(version);
      if (!list) this.pending.set(version, (list = []));
      list.push({ matrix, n, k, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [version, list] of pending) {
      let start = 0;
      while (start < list.length) {
        let end = start;
        let rows = 0;
        while (end < list.length && rows + list[end].n <= COALESCE_MAX_ROWS) rows += list[end++].n;
        const group = list.slice(start, end);
        if (group.length === 1) this.alone(version, group[0]);
        else void this.together(version, group, rows);
        start = end;
      }
    }
  };

  private alone(version: ModelVersion, w: Waiting): void {
    this.runRows(version, w.matrix, w.n, w.k, 1).then(w.resolve, w.reject);
  }

  private async together(version: ModelVersion, group: readonly Waiting[], rows: number): Promise<void> {
    const k = group[0].k;
    const matrix = new Float64Array(rows * k);
    let at = 0;
    for (const w of group) {
      matrix.set(w.matrix, at);
      at += w.matrix.length;
    }
    let output: BatchOutput;
    try {
      output = await this.runRows(version, matrix, rows, k, group.length);
    } catch (e) {
      if (this.fatal(e)) for (const w of group) w.reject(e);
      else for (const w of group) this.alone(version, w);
      return;
    }
    let row = 0;
    for (const w of group) {
      w.resolve(slice(output, row, row + w.n));
      row += w.n;
    }
  }
}

/** Rows [from, to) of a run's output. */
function slice(output: BatchOutput, from: number, to: number): BatchOutput {
  let probabilities: Record<string, number[]> | null = null;
  if (output.probabilities) {
    probabilities = Object.create(null) as Record<string, number[]>;
    for (const label of Object.keys(output.probabilities)) probabilities[label] = output.probabilities[label].slice(from, to);
  }
  return { predictions: output.predictions.slice(from, to), probabilities };
}
