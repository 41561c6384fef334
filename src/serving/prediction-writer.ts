import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { BatchOutput } from './runner.js';

/**
 * Predictions waiting to be written: one request's rows that share a model, version, outcome,
 * latency and time (a predict call, or one served version's share of a batch). Features and
 * outputs stay as the typed arrays and columns the request produced; the writer thread turns
 * them into rows, so the request thread pays neither JSON nor SQLite for them.
 */
export interface PendingPredictions {
  /** A single prediction's id, or the batch id: row j is logged as `${id}:${indices[j]}`. */
  id: string;
  indices: number[] | null;
  rows: number;
  name: string;
  version: string | null;
  ok: boolean;
  error: string | null;
  /** Row-major features of these rows (rows × width); null when the request failed before they were read. */
  matrix: Float64Array | null;
  width: number;
  /** What the caller sent, for a request that failed before its features were read. */
  rawFeatures: unknown;
  /** The answer of these rows, row j at index j. */
  output: BatchOutput | null;
  latencyMs: number;
  routingKey: string | null;
  at: number;
}

export interface WriteResult {
  /** Rows written, from the start of what was sent (all of them when error is null). */
  written: number;
  error: { message: string; code: string | null } | null;
}

/** Rows per transaction in the writer: short enough that a registry write on the main connection waits a few ms at most. */
const ROWS_PER_TRANSACTION = 1000;
/** Rows per INSERT statement: fewer round trips through the statement machinery (~30% of a row's cost at one row per INSERT). */
const ROWS_PER_INSERT = 32;

interface WriterData {
  dbPath: string;
  sqlitePath: string;
  busyTimeoutMs: number;
  rowsPerTransaction: number;
  rowsPerInsert: number;
}

/** The thread's answer to a request: rows written, or rows trimmed, and the error that stopped it. */
interface Reply {
  id: number;
  written?: number;
  removed?: number;
  error: WriteResult['error'];
}

/**
 * Writes the prediction log on a worker thread with its own SQLite connection: serializing
 * features and outputs and inserting rows cost ~10 µs a row, which on the event loop would be
 * taken from requests (a 10 000-row batch's log took ~100 ms there). The main thread only posts
 * the pending requests (structured clone, ~1 µs a request). Writes are answered in order.
 */
export class PredictionWriter {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly waiting = new Map<number, (r: Reply) => void>();

  constructor(
    private readonly dbPath: string,
    private readonly busyTimeoutMs = 5000,
  ) {}

  async write(batch: readonly PendingPredictions[]): Promise<WriteResult> {
    const r = await this.request({ batch });
    return { written: r.written ?? 0, error: r.error };
  }

  /**
   * Deletes logged predictions older than `before` and beyond the newest `keep`, in slices of a
   * few thousand rows so the main connection's writes wait milliseconds at most; answers how
   * many went.
   */
  async trim(before: string, keep: number): Promise<number> {
    const r = await this.request({ trim: { before, keep } });
    if (r.error) throw new Error(r.error.message);
    return r.removed ?? 0;
  }

  private request(message: { batch?: readonly PendingPredictions[]; trim?: { before: string; keep: number } }): Promise<Reply> {
    const worker = this.start();
    const id = this.nextId++;
    // Held while a request is outstanding, so a shutdown that awaits it is not cut short.
    worker.ref();
    return new Promise<Reply>((resolve) => {
      this.waiting.set(id, resolve);
      worker.postMessage({ id, ...message });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // Held until it has closed its connection: an unref'd thread would let the process end first.
    worker.ref();
    worker.postMessage({ close: true });
    await exited;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const data: WriterData = {
      dbPath: this.dbPath,
      sqlitePath: createRequire(import.meta.url).resolve('better-sqlite3'),
      busyTimeoutMs: this.busyTimeoutMs,
      rowsPerTransaction: ROWS_PER_TRANSACTION,
      rowsPerInsert: ROWS_PER_INSERT,
    };
    // The thread's code is writerThread's source: one file, type-checked with the rest, and
    // runnable from src (tests) and dist alike.
    const worker = new Worker(`(${writerThread.toString()})()`, { eval: true, workerData: data });
    worker.unref();
    worker.on('message', (m: Reply) => {
      this.waiting.get(m.id)?.(m);
      this.waiting.delete(m.id);
      if (!this.waiting.size) worker.unref();
    });
    const fail = (message: string) => {
      if (this.worker === worker) this.worker = null; // the next write starts a new thread
      for (const [id, resolve] of this.waiting) resolve({ id, written: 0, error: { message, code: null } });
      this.waiting.clear();
    };
    worker.on('error', (e) => fail(`prediction log writer failed: ${e.message}`));
    worker.on('exit', (code) => fail(`prediction log writer exited (code ${code})`));
    this.worker = worker;
    return worker;
  }
}

/**
 * The writer thread. Self-contained on purpose (it runs from its source text): no imports and
 * no values of this module (types are fine: they are gone at run time). Column order follows
 * the INSERT below.
 */
function writerThread(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an eval'd worker is CommonJS
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const data = workerData as WriterData;
  // Typed loosely: the module is loaded by path at run time; its types are not needed here.
  const Database = require(data.sqlitePath) as new (file: string, options: { timeout: number }) => {
    pragma(sql: string): unknown;
    prepare(sql: string): { run(params: unknown[]): unknown; pluck(): { get(params: unknown[]): unknown } };
    transaction<A extends unknown[]>(fn: (...args: A) => void): { immediate(...args: A): void };
    close(): void;
  };
  const db = new Database(data.dbPath, { timeout: data.busyTimeoutMs });
  // Per connection: the durability docs/operations.md promises (WAL is a property of the file).
  db.pragma('synchronous = NORMAL');
  const COLUMNS = 11;
  const head = 'INSERT INTO predictions (id, model_name, version, ok, error, features, output, prediction_value, latency_ms, routing_key, created_at) VALUES ';
  const values = `(${new Array<string>(COLUMNS).fill('?').join(', ')})`;
  const insertOne = db.prepare(head + values);
  const insertMany = db.prepare(head + new Array<string>(data.rowsPerInsert).fill(values).join(', '));
  type Tally = { name: string; version: string; at: string; count: number; errors: number; sum: number; n: number };
  /**
   * The per-minute and per-second counts (migration 7), each keyed by created_at's first
   * `length` characters: what the rows of a transaction add to them is tallied here and
   * upserted at its end.
   */
  const totals = [
    { table: 'prediction_minutes', column: 'minute', length: 16 },
    { table: 'prediction_seconds', column: 'second', length: 19 },
  ].map(({ table, column, length }) => ({
    length,
    add: db.prepare(
      `INSERT INTO ${table} (model_name, version, ${column}, count, errors, value_sum, value_n) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (model_name, ${column}, version) DO UPDATE SET count = count + excluded.count, errors = errors + excluded.errors,
         value_sum = value_sum + excluded.value_sum, value_n = value_n + excluded.value_n`,
    ),
    /** Older than the age cutoff's `length` characters, a slice at a time. */
    prune: db.prepare(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${column} < ? LIMIT ?)`),
    tallies: new Map<string, Tally>(),
  }));
  const tally = (p: PendingPredictions, iso: string, prediction: unknown) => {
    for (const { length, tallies } of totals) {
      const at = iso.slice(0, length);
      const key = `${p.name}\0${p.version ?? ''}\0${at}`;
      let t = tallies.get(key);
      if (!t) tallies.set(key, (t = { name: p.name, version: p.version ?? '', at, count: 0, errors: 0, sum: 0, n: 0 }));
      t.count++;
      if (!p.ok) t.errors++;
      if (typeof prediction === 'number') {
        t.sum += prediction;
        t.n++;
      }
    }
  };

  let isoAt = Number.NaN;
  let iso = '';
  /** Writes row j of p as the 11 INSERT parameters at out[at…]. */
  const fill = (p: PendingPredictions, j: number, out: unknown[], at: number) => {
    let features: string | null = null;
    if (p.matrix) features = JSON.stringify(Array.from(p.matrix.subarray(j * p.width, (j + 1) * p.width)));
    else if (p.rawFeatures !== undefined) features = JSON.stringify(p.rawFeatures)?.slice(0, 10_000) ?? null;
    let output: string | null = null;
    const prediction = p.output?.predictions[j];
    if (p.output) {
      const probs = p.output.probabilities;
      let probabilities = 'null';
      if (probs) {
        const row: Record<string, number> = {};
        for (const label of Object.keys(probs)) row[label] = probs[label][j];
        probabilities = JSON.stringify(row);
      }
      output = `{"prediction":${JSON.stringify(prediction) ?? 'null'},"probabilities":${probabilities}}`;
    }
    if (p.at !== isoAt) {
      isoAt = p.at;
      iso = new Date(p.at).toISOString();
    }
    out[at] = p.indices ? `${p.id}:${p.indices[j]}` : p.id;
    out[at + 1] = p.name;
    out[at + 2] = p.version;
    out[at + 3] = p.ok ? 1 : 0;
    out[at + 4] = p.error;
    out[at + 5] = features;
    out[at + 6] = output;
    out[at + 7] = typeof prediction === 'number' ? prediction : null;
    out[at + 8] = p.latencyMs;
    out[at + 9] = p.routingKey;
    out[at + 10] = iso;
    tally(p, iso, prediction);
  };

  const many: unknown[] = new Array(COLUMNS * data.rowsPerInsert);
  const one: unknown[] = new Array(COLUMNS);
  /** Inserts rows [from, to) of the batch, counted across its requests. */
  const writeRange = db.transaction((batch: PendingPredictions[], from: number, to: number) => {
    for (const t of totals) t.tallies.clear();
    let row = 0;
    let filled = 0;
    for (const p of batch) {
      if (row + p.rows <= from) {
        row += p.rows;
        continue;
      }
      for (let j = Math.max(0, from - row); j < p.rows && row + j < to; j++) {
        fill(p, j, many, filled * COLUMNS);
        if (++filled === data.rowsPerInsert) {
          insertMany.run(many);
          filled = 0;
        }
      }
      row += p.rows;
      if (row >= to) break;
    }
    for (let i = 0; i < filled; i++) {
      for (let c = 0; c < COLUMNS; c++) one[c] = many[i * COLUMNS + c];
      insertOne.run(one);
    }
    for (const { add, tallies } of totals) for (const t of tallies.values()) add.run([t.name, t.version, t.at, t.count, t.errors, t.sum, t.n]);
  });

  const SLICE = 5000;
  const oldestBefore = db.prepare('DELETE FROM predictions WHERE seq IN (SELECT seq FROM predictions WHERE created_at < ? ORDER BY seq LIMIT ?)');
  const nthNewest = db.prepare('SELECT seq FROM predictions ORDER BY seq DESC LIMIT 1 OFFSET ?').pluck();
  const upTo = db.prepare('DELETE FROM predictions WHERE seq IN (SELECT seq FROM predictions WHERE seq <= ? ORDER BY seq LIMIT ?)');
  /** Runs a `DELETE … LIMIT ?` a slice per transaction until it deletes less than a slice; answers how many rows went. */
  const slices = (stmt: { run(params: unknown[]): unknown }, param: unknown): number => {
    let removed = 0;
    for (;;) {
      const changes = (db.transaction(() => stmt.run([param, SLICE])).immediate() as unknown as { changes: number }).changes;
      removed += changes;
      if (changes < SLICE) return removed;
    }
  };
  /** Deletes predictions by age, then beyond the newest `keep`, and counts older than the age; answers how many predictions went. */
  const trim = (before: string, keep: number): number => {
    let removed = slices(oldestBefore, before);
    const last = nthNewest.get([keep]);
    if (typeof last === 'number') removed += slices(upTo, last);
    for (const { length, prune } of totals) slices(prune, before.slice(0, length));
    return removed;
  };

  const failure = (e: unknown) => {
    const err = e as { message?: string; code?: string };
    return { message: String(err.message ?? e), code: typeof err.code === 'string' ? err.code : null };
  };
  parentPort!.on('message', (m: { close?: boolean; id: number; batch?: PendingPredictions[]; trim?: { before: string; keep: number } }) => {
    if (m.close) {
      db.close();
      process.exit(0);
    }
    if (m.trim) {
      try {
        parentPort!.postMessage({ id: m.id, removed: trim(m.trim.before, m.trim.keep), error: null });
      } catch (e) {
        parentPort!.postMessage({ id: m.id, removed: 0, error: failure(e) });
      }
      return;
    }
    const batch = m.batch ?? [];
    const total = batch.reduce((n, p) => n + p.rows, 0);
    let written = 0;
    try {
      while (written < total) {
        const to = Math.min(total, written + data.rowsPerTransaction);
        writeRange.immediate(batch, written, to);
        written = to;
      }
      parentPort!.postMessage({ id: m.id, written, error: null });
    } catch (e) {
      parentPort!.postMessage({ id: m.id, written, error: failure(e) });
    }
  });
}
