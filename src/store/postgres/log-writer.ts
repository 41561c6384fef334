import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import type { PendingPredictions, WriterProgress } from '../../serving/ports.js';
import { ThreadedSink, WRITER_RESOURCE_LIMITS } from '../threaded-sink.js';
import { clientConfig } from './connection.js';

/**
 * Entries and rows per transaction: COPY pays per statement, not per row, so batches are large;
 * a transaction commits every few ms at most, so the progress row advances as often.
 */
const ENTRIES_PER_TRANSACTION = 2000;
const ROWS_PER_TRANSACTION = 40_000;
/** Predictions deleted per statement when trimming inside a partition (a whole day goes by DROP). */
const TRIM_SLICE = 5000;
/** The writer thread's nice value on Linux, as the SQLite writer's (see its writerThread). */
const WRITER_NICE = 10;

interface WriterData {
  config: pg.ClientConfig;
  writerId: string;
  pgPath: string;
  copyPath: string;
  entriesPerTransaction: number;
  rowsPerTransaction: number;
  trimSlice: number;
  nice: number;
}

/**
 * Writes the prediction log on a worker thread with a PostgreSQL connection of its own, by COPY
 * into the day partitions, creating each day's partition (and the next day's) before its first
 * row. Several servers write at once: each keeps its counts under its own writer id.
 */
export class PostgresLogWriter extends ThreadedSink {
  constructor(url: string) {
    const require = createRequire(import.meta.url);
    super(
      (writerId) => {
        const data: WriterData = {
          // Only plain values cross to the thread: the type parsers (functions) stay here.
          config: { ...clientConfig(url, 'mlops-mcp prediction log'), types: undefined },
          writerId,
          pgPath: require.resolve('pg'),
          copyPath: require.resolve('pg-copy-streams'),
          entriesPerTransaction: ENTRIES_PER_TRANSACTION,
          rowsPerTransaction: ROWS_PER_TRANSACTION,
          trimSlice: TRIM_SLICE,
          nice: WRITER_NICE,
        };
        return new Worker(`(${writerThread.toString()})()`, { eval: true, workerData: data, resourceLimits: WRITER_RESOURCE_LIMITS });
      },
      (writerId) => readProgress(url, writerId),
      'prediction log writer',
    );
  }
}

/** This writer's progress row, read on a short-lived connection of its own (the thread's may be gone). */
async function readProgress(url: string, writerId: string): Promise<WriterProgress | null> {
  const client = new pg.Client(clientConfig(url, 'mlops-mcp prediction log'));
  await client.connect();
  try {
    const { rows } = await client.query<{ batch: string; entries: number }>('SELECT batch, entries FROM prediction_log_progress WHERE writer = $1', [writerId]);
    return rows[0] ? { batch: Number(rows[0].batch), entries: rows[0].entries } : null;
  } finally {
    await client.end();
  }
}

/**
 * The writer thread. Self-contained on purpose (it runs from its source text): no imports and no
 * values of this module (types are fine: they are gone at run time). Messages are handled one at
 * a time, in the order they came.
 */
function writerThread(): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- an eval'd worker is CommonJS: it cannot import */
  const threads = require('node:worker_threads') as typeof import('node:worker_threads');
  const parentPort = threads.parentPort;
  const data = threads.workerData as WriterData;
  // A lower CPU priority for this thread alone (Linux's setpriority is per thread): its work is
  // deferred by design, and a request thread should win the core.
  if (process.platform === 'linux') {
    try {
      (require('node:os') as typeof import('node:os')).setPriority(data.nice);
    } catch {
      // Not permitted: stay at normal priority.
    }
  }
  const pgModule = require(data.pgPath) as typeof import('pg');
  const { from: copyFrom } = require(data.copyPath) as typeof import('pg-copy-streams');
  /* eslint-enable @typescript-eslint/no-require-imports */

  let client: import('pg').Client | null = null;
  const connected = async (): Promise<import('pg').Client> => {
    if (client) return client;
    const c = new pgModule.Client(data.config);
    // A connection that fails between writes is forgotten; the next write opens a new one.
    c.on('error', () => {
      if (client === c) client = null;
    });
    await c.connect();
    client = c;
    return c;
  };
  const drop = () => {
    const c = client;
    client = null;
    void c?.end().catch(() => undefined);
  };

  /** Days (YYYY-MM-DD, UTC) whose partition is known to exist. */
  const days = new Set<string>();
  const partition = (day: string) => `predictions_p${day.replaceAll('-', '')}`;
  const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  /** Creates the partitions of these days and of the day after each, under a lock every writer takes for it. */
  const ensurePartitions = async (c: import('pg').Client, wanted: Iterable<string>) => {
    const missing = new Set<string>();
    for (const day of wanted) for (const d of [day, nextDay(day)]) if (!days.has(d)) missing.add(d);
    if (!missing.size) return;
    await c.query('BEGIN');
    try {
      await c.query("SELECT pg_advisory_xact_lock(hashtext('mlops-mcp prediction partitions'))");
      for (const day of [...missing].sort()) {
        await c.query(
          `CREATE TABLE IF NOT EXISTS ${partition(day)} PARTITION OF predictions FOR VALUES FROM ('${day}T00:00:00Z') TO ('${nextDay(day)}T00:00:00Z')`,
        );
      }
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
    for (const d of missing) days.add(d);
  };

  // COPY's text format: tab-separated, \N for null, backslash escapes; PostgreSQL text cannot
  // hold U+0000, which is kept as U+FFFD (as the store's other writes do).
  const escapes: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u0000': '\uFFFD' };
  // eslint-disable-next-line no-control-regex -- COPY's text format escapes these control characters
  const text = (s: string | null) => (s === null ? '\\N' : s.replace(/[\\\n\r\t\u0000]/g, (ch) => escapes[ch]));
  const bytea = (a: Float64Array | Int32Array | null) => (a === null ? '\\N' : `\\\\x${Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex')}`);
  const num = (n: number | null) => (n === null ? '\\N' : String(n));

  type Tally = { name: string; version: string; at: string; count: number; errors: number; sum: number; n: number };
  /** Per minute, per second (created_at cut to 16 and 19 characters) and per day, what a transaction adds. */
  const totals = [16, 19].map((length) => ({ length, tallies: new Map<string, Tally>() }));
  const dayRows = new Map<string, number>();

  let isoAt = Number.NaN;
  let iso = '';
  /** One entry as a line of COPY text, tallied. */
  const line = (p: PendingPredictions): string => {
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
    const day = iso.slice(0, 10);
    dayRows.set(day, (dayRows.get(day) ?? 0) + p.rows);
    return [
      text(p.id),
      bytea(p.indices ? Int32Array.from(p.indices) : null),
      String(p.rows),
      text(p.name),
      text(p.version),
      p.ok ? 't' : 'f',
      text(p.error),
      p.matrix ? String(p.width) : '\\N',
      bytea(p.matrix),
      text(p.matrix ? null : p.rawFeatures),
      text(p.output ? JSON.stringify({ predictions: p.output.predictions, probabilities: p.output.probabilities }) : null),
      num(n ? sum : null),
      String(n),
      String(p.latencyMs),
      text(p.routingKey),
      iso,
      data.writerId,
    ].join('\t');
  };
  const COPY =
    'COPY predictions (id, row_indices, row_count, model_name, version, ok, error, width, features, raw_input, output, value_sum, value_n, latency_ms, routing_key, created_at, writer) FROM STDIN';
  const upsertTotals = (table: string, column: string) =>
    `INSERT INTO ${table} (model_name, version, ${column}, writer, count, errors, value_sum, value_n)
     SELECT m, v, t, $1, c, e, s, n FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::bigint[], $6::bigint[], $7::float8[], $8::bigint[]) AS u(m, v, t, c, e, s, n)
     ON CONFLICT (model_name, ${column}, version, writer) DO UPDATE SET count = ${table}.count + excluded.count, errors = ${table}.errors + excluded.errors,
       value_sum = ${table}.value_sum + excluded.value_sum, value_n = ${table}.value_n + excluded.value_n`;
  const UPSERT = [upsertTotals('prediction_minutes', 'minute'), upsertTotals('prediction_seconds', 'second')];
  const pad = (at: string) => (at.length === 16 ? `${at}:00Z` : `${at}Z`);

  /** Copies entries [from, to) of the batch in one transaction, with their counts and this writer's progress. */
  const writeRange = async (c: import('pg').Client, batch: PendingPredictions[], seq: number, from: number, to: number) => {
    for (const t of totals) t.tallies.clear();
    dayRows.clear();
    const lines: string[] = [];
    for (let e = from; e < to; e++) lines.push(line(batch[e]));
    await ensurePartitions(c, dayRows.keys());
    await c.query('BEGIN');
    try {
      await new Promise<void>((resolve, reject) => {
        const stream = c.query(copyFrom(COPY));
        stream.on('error', reject);
        stream.on('finish', resolve);
        stream.end(Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
      });
      for (let i = 0; i < totals.length; i++) {
        const ts = [...totals[i].tallies.values()];
        await c.query(UPSERT[i], [
          data.writerId,
          ts.map((t) => t.name),
          ts.map((t) => t.version),
          ts.map((t) => pad(t.at)),
          ts.map((t) => t.count),
          ts.map((t) => t.errors),
          ts.map((t) => t.sum),
          ts.map((t) => t.n),
        ]);
      }
      await c.query(
        `INSERT INTO prediction_days (day, writer, rows) SELECT d, $1, r FROM unnest($2::date[], $3::bigint[]) AS u(d, r)
         ON CONFLICT (day, writer) DO UPDATE SET rows = prediction_days.rows + excluded.rows`,
        [data.writerId, [...dayRows.keys()], [...dayRows.values()]],
      );
      await c.query(
        `INSERT INTO prediction_log_progress (writer, batch, entries, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (writer) DO UPDATE SET batch = excluded.batch, entries = excluded.entries, updated_at = excluded.updated_at`,
        [data.writerId, seq, to],
      );
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  };

  /** The connection's work so far (writes, and the pieces of a trim). */
  let queue: Promise<unknown> = Promise.resolve();
  /** Runs `task` alone on the connection: after the work queued before it, before the work queued after. */
  const exclusive = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  };

  const write = async (batch: PendingPredictions[], seq: number): Promise<number> => {
    const c = await connected();
    let written = 0;
    try {
      for (let from = 0; from < batch.length;) {
        let to = from;
        let rows = 0;
        while (to < batch.length && to - from < data.entriesPerTransaction && (rows === 0 || rows + batch[to].rows <= data.rowsPerTransaction))
          rows += batch[to++].rows;
        await writeRange(c, batch, seq, from, to);
        written += rows;
        from = to;
      }
      return written;
    } catch (e) {
      // A partition may have been dropped meanwhile (trimming on another server): look again.
      days.clear();
      throw Object.assign(e instanceof Error ? e : new Error(String(e)), { written });
    }
  };

  /**
   * Deletes the day's entries that match `where`, a slice at a time until a slice comes back
   * short; answers the rows removed. From the partition itself: a ctid is a place in one table,
   * and through the parent it would also match the entries at those places in every other day.
   */
  const deleteInSlices = async (c: import('pg').Client, day: string, where: string, values: unknown[]): Promise<number> => {
    const table = partition(day);
    let removed = 0;
    for (;;) {
      const { rows } = await exclusive(() =>
        c.query<{ n: string | null; entries: number }>(
          `WITH d AS (DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE ${where} LIMIT ${data.trimSlice})) RETURNING row_count)
           SELECT sum(row_count) AS n, count(*)::int AS entries FROM d`,
          values,
        ),
      );
      removed += Number(rows[0].n ?? 0);
      if (rows[0].entries < data.trimSlice) return removed;
    }
  };
  /** Records predictions deleted from a day's partition, so that count() stays exact. */
  const discount = async (c: import('pg').Client, day: string, rows: number) => {
    if (rows) {
      await c.query(
        `INSERT INTO prediction_days (day, writer, rows) VALUES ($1, '', $2)
         ON CONFLICT (day, writer) DO UPDATE SET rows = prediction_days.rows + excluded.rows`,
        [day, -rows],
      );
    }
  };
  /** Every partition's day, oldest first. */
  const partitionDays = async (c: import('pg').Client): Promise<string[]> => {
    const { rows } = await c.query<{ relname: string }>(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'predictions'::regclass",
    );
    return rows
      .map((r) => /^predictions_p(\d{4})(\d{2})(\d{2})$/.exec(r.relname))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => `${m[1]}-${m[2]}-${m[3]}`)
      .sort();
  };
  /** Deletes every entry before (at, seq): whole partitions by DROP, the rest in slices. */
  const removeBefore = async (c: import('pg').Client, at: string, seq: number | null): Promise<number> => {
    const cutDay = at.slice(0, 10);
    let removed = 0;
    for (const day of await exclusive(() => partitionDays(c))) {
      if (day >= cutDay) break;
      removed += await exclusive(async () => {
        await c.query('BEGIN');
        try {
          const { rows } = await c.query<{ n: string | null }>('DELETE FROM prediction_days WHERE day = $1 RETURNING rows', [day]);
          await c.query(`DROP TABLE IF EXISTS ${partition(day)}`);
          await c.query('COMMIT');
          days.delete(day);
          return rows.reduce((sum, r) => sum + Number(r.n ?? 0), 0);
        } catch (e) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw e;
        }
      });
    }
    const older = seq === null ? 'created_at < $1::timestamptz' : '(created_at, seq) < ($1::timestamptz, $2::bigint)';
    const inDay = await deleteInSlices(c, cutDay, older, seq === null ? [at] : [at, seq]).catch((e: { code?: string }) => {
      if (e.code === '42P01') return 0; // no partition for that day: nothing to delete there
      throw e;
    });
    await exclusive(() => discount(c, cutDay, inDay));
    return removed + inDay;
  };
  /**
   * The oldest entry to keep so that the newest `keep` predictions stay: minutes newest first
   * until they hold `keep`, then that minute's entries newest first. Minutes count what earlier
   * trims deleted too (they go by age only), but those rows are all older than any cut found
   * while the log still holds `keep`: a cut found among them deletes nothing.
   */
  const countCut = async (c: import('pg').Client, keep: number): Promise<{ at: string; seq: number } | null> => {
    const { rows: total } = await c.query<{ n: string | null }>('SELECT sum(rows) AS n FROM prediction_days');
    if (Number(total[0].n ?? 0) <= keep) return null;
    const { rows: minutes } = await c.query<{ minute: string; n: string }>(
      'SELECT minute, sum(count) AS n FROM prediction_minutes GROUP BY minute ORDER BY minute DESC',
    );
    let newer = 0;
    for (const m of minutes) {
      const n = Number(m.n);
      if (newer + n < keep) {
        newer += n;
        continue;
      }
      const { rows: entries } = await c.query<{ created_at: Date; seq: string; row_count: number }>(
        "SELECT created_at, seq, row_count FROM predictions WHERE created_at >= $1 AND created_at < $1::timestamptz + interval '1 minute' ORDER BY created_at DESC, seq DESC",
        [m.minute],
      );
      for (const e of entries) {
        newer += e.row_count;
        if (newer >= keep) return { at: e.created_at.toISOString(), seq: Number(e.seq) };
      }
      return null;
    }
    return null;
  };
  /**
   * By age, then by count, then the per-minute and per-second counts by age. One server trims
   * at a time (a session lock); another that finds it taken skips this round.
   */
  const trim = async (before: string, keep: number): Promise<number> => {
    const c = await connected();
    const { rows } = await exclusive(() => c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext('mlops-mcp prediction trim')) AS ok"));
    if (!rows[0].ok) return 0;
    try {
      let removed = await removeBefore(c, before, null);
      const cut = await exclusive(() => countCut(c, keep));
      if (cut) removed += await removeBefore(c, cut.at, cut.seq);
      for (const table of ['prediction_minutes', 'prediction_seconds']) {
        const column = table === 'prediction_minutes' ? 'minute' : 'second';
        for (;;) {
          const r = await exclusive(() =>
            c.query(`DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE ${column} < $1 LIMIT ${data.trimSlice}))`, [before]),
          );
          if ((r.rowCount ?? 0) < data.trimSlice) break;
        }
      }
      await exclusive(() => c.query('DELETE FROM prediction_log_progress WHERE updated_at < $1', [before])); // writers that ended without closing
      return removed;
    } finally {
      await exclusive(() => c.query("SELECT pg_advisory_unlock(hashtext('mlops-mcp prediction trim'))")).catch(() => undefined);
    }
  };

  const failure = (e: unknown) => {
    const err = e as { message?: string; code?: string };
    return { message: String(err.message ?? e), code: typeof err.code === 'string' ? err.code : null };
  };
  type Message = { close?: boolean; id: number; batch?: PendingPredictions[]; seq?: number; trim?: { before: string; keep: number } };
  const handle = async (m: Message) => {
    if (m.close) {
      try {
        const c = await connected();
        await c.query('DELETE FROM prediction_log_progress WHERE writer = $1', [data.writerId]);
      } catch {
        // A server that refuses writes keeps the row; trim removes it once it is old.
      }
      drop();
      process.exit(0);
    }
    if (m.trim) {
      try {
        parentPort!.postMessage({ id: m.id, removed: await trim(m.trim.before, m.trim.keep), error: null });
      } catch (e) {
        await exclusive(async () => drop()); // not under a write that is using the connection
        parentPort!.postMessage({ id: m.id, removed: 0, error: failure(e) });
      }
      return;
    }
    try {
      parentPort!.postMessage({ id: m.id, written: await write(m.batch ?? [], m.seq ?? 0), error: null });
    } catch (e) {
      drop();
      parentPort!.postMessage({ id: m.id, written: (e as { written?: number }).written ?? 0, error: failure(e) });
    }
  };
  // A trim runs in pieces, each with the connection to itself, and writes that came meanwhile
  // go between them: trimming a million entries takes seconds, and the log holds requests back
  // once its backlog passes the high-water mark. One trim at a time; replies are matched by id.
  let trimming = Promise.resolve();
  parentPort!.on('message', (m: Message) => {
    if (m.trim && !m.close) trimming = trimming.then(() => handle(m));
    else void exclusive(() => handle(m));
  });
}
