import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { PendingPredictions, WriterProgress } from '../../serving/ports.js';
import { ThreadedSink, WRITER_RESOURCE_LIMITS } from '../threaded-sink.js';

/**
 * Entries per transaction in the writer, and predictions (a batch entry's rows add ~80 bytes each
 * of features): short enough that a registry write on the main connection waits a few ms at most.
 */
const ENTRIES_PER_TRANSACTION = 1000;
const ROWS_PER_TRANSACTION = 20_000;
/** Entries per INSERT statement: fewer round trips through the statement machinery (~30% of an entry's cost at one per INSERT). */
const ENTRIES_PER_INSERT = 32;
/** The writer thread's nice value on Linux (see writerThread). */
export const WRITER_NICE = 10;

/**
 * The trim's deletes, a slice per statement (parameters: the cutoff, then the slice's size). Each
 * finds its rows along an index (test/store/store.test.ts reads their plans): in seq order the
 * age cutoff scanned the whole log when nothing was that old, reading each entry's features to
 * reach created_at (1.1 s at 4 GB of 1 000-row entries), once a minute.
 */
export const TRIM_SQL = {
  olderThan: 'DELETE FROM predictions WHERE seq IN (SELECT seq FROM predictions WHERE created_at < ? ORDER BY created_at LIMIT ?)',
  upTo: 'DELETE FROM predictions WHERE seq IN (SELECT seq FROM predictions WHERE seq <= ? ORDER BY seq LIMIT ?)',
  minutesBefore: 'DELETE FROM prediction_minutes WHERE rowid IN (SELECT rowid FROM prediction_minutes WHERE minute < ? ORDER BY minute LIMIT ?)',
  secondsBefore: 'DELETE FROM prediction_seconds WHERE rowid IN (SELECT rowid FROM prediction_seconds WHERE second < ? ORDER BY second LIMIT ?)',
} as const;

interface WriterData {
  dbPath: string;
  /** This writer's row in prediction_log_progress. */
  writerId: string;
  sqlitePath: string;
  busyTimeoutMs: number;
  entriesPerTransaction: number;
  rowsPerTransaction: number;
  entriesPerInsert: number;
  /** The thread's nice value (Linux). */
  nice: number;
  trimSql: typeof TRIM_SQL;
}

/**
 * Writes the prediction log on a worker thread with its own SQLite connection: an entry costs
 * ~5–10 µs to encode and insert, which on the event loop would be taken from requests.
 */
export class PredictionWriter extends ThreadedSink {
  constructor(dbPath: string, readProgress: (writerId: string) => WriterProgress | null, busyTimeoutMs = 5000) {
    super(
      (writerId) => {
        const data: WriterData = {
          dbPath,
          writerId,
          sqlitePath: createRequire(import.meta.url).resolve('better-sqlite3'),
          busyTimeoutMs,
          entriesPerTransaction: ENTRIES_PER_TRANSACTION,
          rowsPerTransaction: ROWS_PER_TRANSACTION,
          entriesPerInsert: ENTRIES_PER_INSERT,
          nice: WRITER_NICE,
          trimSql: TRIM_SQL,
        };
        // The thread's code is writerThread's source: one file, type-checked with the rest, and
        // runnable from src (tests) and dist alike.
        return new Worker(`(${writerThread.toString()})()`, { eval: true, workerData: data, resourceLimits: WRITER_RESOURCE_LIMITS });
      },
      async (writerId) => readProgress(writerId),
      'prediction log writer',
    );
  }
}

/**
 * The writer thread. Self-contained on purpose (it runs from its source text): no imports and
 * no values of this module (types are fine: they are gone at run time). Column order follows
 * the INSERT below.
 */
function writerThread(): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- an eval'd worker is CommonJS: it cannot import */
  const threads = require('node:worker_threads') as typeof import('node:worker_threads');
  const parentPort = threads.parentPort;
  const data = threads.workerData as WriterData;
  // A lower CPU priority, for this thread alone (on Linux setpriority(0) is per thread; elsewhere
  // it would lower the whole process, so only there). Its work is deferred by design; at equal
  // priority a flush (~7 ms of SQLite at 3 000 predictions/s) took the CPU a request thread was
  // woken on: stdio predict p99 0.3–0.6 ms higher on 2 cores. Not the lowest (19): the thread
  // holds SQLite's write lock while it writes, and at 19 behind CPU-bound neighbours a 7 ms write
  // held it ~0.5 s (the main thread's registry writes waited up to 1.1 s); at 10, ~80 ms.
  // Backpressure still holds requests if it falls behind. (It starts no threads of its own,
  // which would inherit this.)
  if (process.platform === 'linux') {
    try {
      (require('node:os') as typeof import('node:os')).setPriority(data.nice);
    } catch {
      // Not permitted: stay at normal priority.
    }
  }
  // Typed loosely: the module is loaded by path at run time; its types are not needed here.
  const Database = require(data.sqlitePath) as new (
    file: string,
    options: { timeout: number },
  ) => {
    pragma(sql: string): unknown;
    prepare(sql: string): { run(params: unknown[]): unknown; get(params: unknown[]): unknown; pluck(): { get(params: unknown[]): unknown } };
    transaction<A extends unknown[]>(fn: (...args: A) => void): { immediate(...args: A): void };
    close(): void;
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const db = new Database(data.dbPath, { timeout: data.busyTimeoutMs });
  // Per connection: the durability docs/operations.md promises (WAL is a property of the file).
  db.pragma('synchronous = NORMAL');
  // A small page cache: the thread appends and reads back only the last row, and better-sqlite3's
  // default (16 MB) filled with the overflow pages of 1 000-row entries (16 MB of the process's
  // resident memory under them).
  db.pragma('cache_size = -256');
  const COLUMNS = 16;
  const head =
    'INSERT INTO predictions (id, row_indices, row_count, row_offset, model_name, version, ok, error, width, features, output, value_sum, value_n, latency_ms, routing_key, created_at) VALUES ';
  const values = `(${new Array<string>(COLUMNS).fill('?').join(', ')})`;
  const insertOne = db.prepare(head + values);
  const insertMany = db.prepare(head + new Array<string>(data.entriesPerInsert).fill(values).join(', '));
  /** Predictions logged before the next entry, ever: read in each transaction (another process may write too). */
  const nextOffset = db.prepare('SELECT row_offset + row_count FROM predictions ORDER BY seq DESC LIMIT 1').pluck();
  type Tally = { name: string; version: string; at: string; count: number; errors: number; sum: number; n: number };
  /**
   * The per-minute and per-second counts (migration 7), each keyed by created_at's first
   * `length` characters: what the entries of a transaction add to them is tallied here and
   * upserted at its end.
   */
  const totals = [
    { table: 'prediction_minutes', column: 'minute', length: 16, prune: data.trimSql.minutesBefore },
    { table: 'prediction_seconds', column: 'second', length: 19, prune: data.trimSql.secondsBefore },
  ].map(({ table, column, length, prune }) => ({
    length,
    add: db.prepare(
      `INSERT INTO ${table} (model_name, version, ${column}, count, errors, value_sum, value_n) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (model_name, ${column}, version) DO UPDATE SET count = count + excluded.count, errors = errors + excluded.errors,
         value_sum = value_sum + excluded.value_sum, value_n = value_n + excluded.value_n`,
    ),
    /** Older than the age cutoff's `length` characters, a slice at a time. */
    prune: db.prepare(prune),
    tallies: new Map<string, Tally>(),
  }));
  const tally = (p: PendingPredictions, iso: string, sum: number, n: number) => {
    for (const { length, tallies } of totals) {
      const at = iso.slice(0, length);
      const key = `${p.name}\0${p.version ?? ''}\0${at}`;
      let t = tallies.get(key);
      if (!t) tallies.set(key, (t = { name: p.name, version: p.version ?? '', at, count: 0, errors: 0, sum: 0, n: 0 }));
      t.count += p.rows;
      if (!p.ok) t.errors += p.rows;
      t.sum += sum;
      t.n += n;
    }
  };
  /** A typed array's bytes as a Buffer, without copying them (the clone from the main thread is ours). */
  const bytes = (a: Float64Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

  let isoAt = Number.NaN;
  let iso = '';
  /** Writes entry p, the `offset`-th prediction onward, as the INSERT parameters at out[at…]. */
  const fill = (p: PendingPredictions, offset: number, out: unknown[], at: number) => {
    let features: Buffer | string | null = null;
    if (p.matrix) features = bytes(p.matrix);
    else features = p.rawFeatures;
    let sum = 0;
    let n = 0;
    if (p.output) {
      for (const v of p.output.predictions) {
        if (typeof v === 'number') {
          sum += v;
          n++;
        }
      }
    }
    if (p.at !== isoAt) {
      isoAt = p.at;
      iso = new Date(p.at).toISOString();
    }
    out[at] = p.id;
    out[at + 1] = p.indices ? bytes(Int32Array.from(p.indices)) : null;
    out[at + 2] = p.rows;
    out[at + 3] = offset;
    out[at + 4] = p.name;
    out[at + 5] = p.version;
    out[at + 6] = p.ok ? 1 : 0;
    out[at + 7] = p.error;
    out[at + 8] = p.matrix ? p.width : null;
    out[at + 9] = features;
    out[at + 10] = p.output ? JSON.stringify({ predictions: p.output.predictions, probabilities: p.output.probabilities }) : null;
    out[at + 11] = n ? sum : null;
    out[at + 12] = n;
    out[at + 13] = p.latencyMs;
    out[at + 14] = p.routingKey;
    out[at + 15] = iso;
    tally(p, iso, sum, n);
  };

  const progress = db.prepare(
    `INSERT INTO prediction_log_progress (writer, batch, entries, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (writer) DO UPDATE SET batch = excluded.batch, entries = excluded.entries, updated_at = excluded.updated_at`,
  );
  const dropProgress = db.prepare('DELETE FROM prediction_log_progress WHERE writer = ?');
  const staleProgress = db.prepare('DELETE FROM prediction_log_progress WHERE updated_at < ?');
  const many: unknown[] = new Array(COLUMNS * data.entriesPerInsert);
  const one: unknown[] = new Array(COLUMNS);
  /** Inserts entries [from, to) of the batch, and records that the first `to` of batch `seq` are written. */
  const writeRange = db.transaction((batch: PendingPredictions[], seq: number, from: number, to: number) => {
    for (const t of totals) t.tallies.clear();
    let offset = (nextOffset.get([]) as number | undefined) ?? 0;
    let filled = 0;
    for (let e = from; e < to; e++) {
      fill(batch[e], offset, many, filled * COLUMNS);
      offset += batch[e].rows;
      if (++filled === data.entriesPerInsert) {
        insertMany.run(many);
        filled = 0;
      }
    }
    for (let i = 0; i < filled; i++) {
      for (let c = 0; c < COLUMNS; c++) one[c] = many[i * COLUMNS + c];
      insertOne.run(one);
    }
    for (const { add, tallies } of totals) for (const t of tallies.values()) add.run([t.name, t.version, t.at, t.count, t.errors, t.sum, t.n]);
    progress.run([data.writerId, seq, to, new Date().toISOString()]);
  });

  /** Rows a trim deletes per transaction at most, at first, and the time a slice should take about. */
  const SLICE = 5000;
  const FIRST_SLICE = 500;
  const SLICE_MS = 20;
  const oldestBefore = db.prepare(data.trimSql.olderThan);
  const upTo = db.prepare(data.trimSql.upTo);
  const firstOffset = db.prepare('SELECT row_offset FROM predictions ORDER BY seq LIMIT 1').pluck();
  const seqBounds = db.prepare('SELECT (SELECT MIN(seq) FROM predictions) AS lo, (SELECT MAX(seq) FROM predictions) AS hi');
  const entryFrom = db.prepare('SELECT seq, row_offset + row_count AS through FROM predictions WHERE seq >= ? ORDER BY seq LIMIT 1');
  /** Lets the messages that came meanwhile (writes) run before the next slice. */
  const yieldToWrites = () => new Promise<void>((resolve) => setImmediate(resolve));
  /** Each statement's slice: halved after a slice over SLICE_MS, doubled (up to SLICE) after one under a quarter of it. */
  const sliceOf = new Map<object, number>();
  /**
   * Runs a `DELETE … LIMIT ?` a slice per transaction until it deletes less than a slice, with
   * the writes that came meanwhile between slices: a trim of a million single-row entries takes
   * seconds, and the log holds requests back once its backlog passes the high-water mark. A
   * slice's size follows the time it takes: 5 000 entries of 1 000 rows take ~250 ms to delete
   * (SQLite reads every overflow page it frees), 5 000 single-row entries a few ms.
   */
  const slices = async (stmt: { run(params: unknown[]): unknown }, param: unknown): Promise<void> => {
    for (;;) {
      const slice = sliceOf.get(stmt) ?? FIRST_SLICE;
      const began = performance.now();
      const changes = (db.transaction(() => stmt.run([param, slice])).immediate() as unknown as { changes: number }).changes;
      const took = performance.now() - began;
      if (took > SLICE_MS) sliceOf.set(stmt, Math.max(1, slice >> 1));
      else if (took < SLICE_MS / 4) sliceOf.set(stmt, Math.min(SLICE, slice * 2));
      if (changes < slice) return;
      await yieldToWrites();
    }
  };
  /**
   * The newest entry whose predictions all come before the `cutoff`-th one logged: a binary
   * search over seq, along which row_offset grows (a scan back from the newest would read every
   * entry that is kept).
   */
  const lastEntryBefore = (cutoff: number): number | null => {
    const bounds = seqBounds.get([]) as { lo: number | null; hi: number | null };
    let lo = bounds.lo ?? 1;
    let hi = bounds.hi ?? 0;
    let found: number | null = null;
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2);
      const e = entryFrom.get([mid]) as { seq: number; through: number } | undefined;
      if (!e || e.seq > hi) hi = mid - 1;
      else if (e.through <= cutoff) {
        found = e.seq;
        lo = e.seq + 1;
      } else hi = mid - 1;
    }
    return found;
  };
  /**
   * Deletes entries by age, then those wholly older than the newest `keep` predictions, and the
   * per-minute and per-second counts older than the age; answers how many predictions went
   * (entries go from the old end, so that is how far the first offset moved).
   */
  const trim = async (before: string, keep: number): Promise<number> => {
    const first = (firstOffset.get([]) as number | undefined) ?? 0;
    await slices(oldestBefore, before);
    const end = (nextOffset.get([]) as number | undefined) ?? 0;
    const last = lastEntryBefore(end - keep);
    if (last !== null) await slices(upTo, last);
    for (const { length, prune } of totals) await slices(prune, before.slice(0, length));
    staleProgress.run([before]); // rows of writers that ended without closing (a crash)
    return ((firstOffset.get([]) as number | undefined) ?? end) - first;
  };

  let trimming = Promise.resolve();
  const failure = (e: unknown) => {
    const err = e as { message?: string; code?: string };
    return { message: String(err.message ?? e), code: typeof err.code === 'string' ? err.code : null };
  };
  parentPort!.on('message', (m: { close?: boolean; id: number; batch?: PendingPredictions[]; seq?: number; trim?: { before: string; keep: number } }) => {
    if (m.close) {
      try {
        dropProgress.run([data.writerId]);
      } catch {
        // A database that refuses writes keeps the row; trim removes it once it is old.
      }
      db.close();
      process.exit(0);
    }
    if (m.trim) {
      // One trim at a time; writes go on between its slices (replies are matched by id).
      const { before, keep } = m.trim;
      trimming = trimming.then(() =>
        trim(before, keep).then(
          (removed) => parentPort!.postMessage({ id: m.id, removed, error: null }),
          (e: unknown) => parentPort!.postMessage({ id: m.id, removed: 0, error: failure(e) }),
        ),
      );
      return;
    }
    const batch = m.batch ?? [];
    let written = 0;
    try {
      // Transactions of at most entriesPerTransaction entries and about rowsPerTransaction rows:
      // short, so a registry write on the main connection waits a few ms at most.
      for (let from = 0; from < batch.length;) {
        let to = from;
        let rows = 0;
        while (to < batch.length && to - from < data.entriesPerTransaction && (rows === 0 || rows + batch[to].rows <= data.rowsPerTransaction))
          rows += batch[to++].rows;
        writeRange.immediate(batch, m.seq ?? 0, from, to);
        written += rows;
        from = to;
      }
      parentPort!.postMessage({ id: m.id, written, error: null });
    } catch (e) {
      parentPort!.postMessage({ id: m.id, written, error: failure(e) });
    }
  });
}
