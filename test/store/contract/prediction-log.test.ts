import { expect, it } from 'vitest';
import type { PendingPredictions } from '../../../src/serving/ports.js';
import { pending } from './pending.js';
import { PredictionLog, type PredictionLogOptions } from '../../../src/serving/prediction-log.js';
import type { Store } from '../../../src/store/store.js';
import type { WorkerChannel } from '../../../src/worker-channel.js';
import { describeEachEngine, silent, type Database, type Engine } from './engines.js';

/**
 * A PredictionLog with the engine's writer on a fresh database, the flush timer an hour away
 * (the test flushes), nothing trimmed unless `options` says so.
 */
async function withLog(
  engine: Engine,
  options: Partial<PredictionLogOptions>,
  body: (log: PredictionLog, store: Store, db: Database) => Promise<void>,
): Promise<void> {
  const db = await engine.database();
  const store = await db.open();
  const log = new PredictionLog(
    { sink: store.predictions.openSink(), logger: silent },
    { flushMs: 3_600_000, maxRows: 1e9, maxAgeMs: 1e12, maxPending: 1e9, ...options },
  );
  try {
    await body(log, store, db);
  } finally {
    await log.close();
  }
}

describeEachEngine('store contract: prediction log', (engine) => {
  it('counts per version since any moment exactly as a scan of the log would, across minute boundaries', async () => {
    await withLog(engine, {}, async (log, store) => {
      // 3 minutes of predictions, 7 s apart, alternating versions, every 5th failed (no output), one failed before routing.
      const t0 = Date.parse('2026-11-23T10:00:00.000Z');
      const appended: PendingPredictions[] = [];
      for (let i = 0; i < 26; i++) {
        const failed = i % 5 === 0;
        appended.push(
          pending(1 + (i % 3), {
            id: `r${i}`,
            name: 'nba_points',
            version: i % 2 ? 'v2' : 'v1',
            at: t0 + i * 7_000,
            ok: !failed,
            error: failed ? 'x' : null,
            output: failed ? null : pending(1 + (i % 3)).output,
          }),
        );
      }
      appended.push(
        pending(1, {
          id: 'unrouted',
          indices: null,
          name: 'nba_points',
          version: null,
          ok: false,
          error: 'no version',
          output: null,
          matrix: null,
          rawFeatures: '[1]',
          at: t0 + 65_000,
        }),
      );
      for (const p of appended) log.append(p);
      await log.flush();
      for (const offset of [0, 1, 6_999, 30_500, 59_999, 60_000, 61_234, 119_000, 150_000, 400_000]) {
        const since = new Date(t0 + offset).toISOString();
        const byVersion = new Map<string | null, { count: number; errors: number; sum: number; n: number }>();
        for (const p of appended.filter((x) => x.at >= t0 + offset)) {
          const v = byVersion.get(p.version) ?? { count: 0, errors: 0, sum: 0, n: 0 };
          v.count += p.rows;
          if (!p.ok) v.errors += p.rows;
          for (const y of p.output?.predictions ?? []) {
            v.sum += y as number;
            v.n++;
          }
          byVersion.set(p.version, v);
        }
        const round = (v: { count: number; errors: number; sum: number; n: number }) => ({ ...v, sum: Number(v.sum.toFixed(9)) });
        const order = ([a]: [string | null, unknown], [b]: [string | null, unknown]) => String(a).localeCompare(String(b));
        const got = [...(await store.predictions.tallies('nba_points', since, log.writerId)).tallies].map(
          ([k, v]) => [k, round(v)] as [string | null, unknown],
        );
        expect(got.sort(order), since).toEqual([...byVersion].map(([k, v]) => [k, round(v)] as [string | null, unknown]).sort(order));
      }
    });
  });

  it('database counts plus what a read finds not yet in the database are exact at every moment of a flush', { timeout: 60_000 }, async () => {
    await withLog(engine, {}, async (log, store) => {
      const since = '2026-11-23T10:00:00.000Z';
      const at = Date.parse(since) + 1_000;
      let total = 0;
      const states = new Set<string>();
      for (let round = 0; round < 3; round++) {
        // 2 500 single entries and three 20 000-row entries: a flush of several transactions.
        for (let i = 0; i < 2_500; i++) log.append(pending(1, { id: `r${round}-${i}`, at }));
        for (let i = 0; i < 3; i++) log.append(pending(20_000, { id: `b${round}-${i}`, at }));
        total += 2_500 + 60_000;
        const flushing = log.flush();
        let done = false;
        void flushing.then(() => (done = true));
        while (!done) {
          const read = log.startRead();
          const { tallies, progress } = await store.predictions.tallies('m', since, log.writerId);
          const unwritten = read.notInDatabase(progress).reduce((n, p) => n + p.rows, 0);
          read.end();
          expect((tallies.get('v1')?.count ?? 0) + unwritten).toBe(total);
          states.add(progress ? `${progress.batch}:${progress.entries}` : 'none');
          await new Promise((r) => setImmediate(r)); // the writer's replies come as events
        }
        await flushing;
        const read = log.startRead();
        expect(read.notInDatabase((await store.predictions.tallies('m', since, log.writerId)).progress)).toEqual([]);
        read.end();
      }
      // Seen part-way through a batch, not only before and after (several transactions per flush).
      expect([...states].some((k) => k !== 'none' && !k.endsWith(':2503'))).toBe(true);
    });
  });

  it('still counts a batch the writer finished after the read took its snapshot, until the read ends', async () => {
    await withLog(engine, {}, async (log, store) => {
      const since = '2026-11-23T10:00:00.000Z';
      for (let i = 0; i < 10; i++) log.append(pending(3, { id: `r${i}`, at: Date.parse(since) }));
      const read = log.startRead();
      const snapshot = await store.predictions.tallies('m', since, log.writerId);
      // The writer finishes while the read's answer is still on its way (a server round trip).
      await log.flush();
      expect((snapshot.tallies.get('v1')?.count ?? 0) + read.notInDatabase(snapshot.progress).reduce((n, p) => n + p.rows, 0)).toBe(30);
      read.end();
      const later = log.startRead();
      const now = await store.predictions.tallies('m', since, log.writerId);
      expect([now.tallies.get('v1')?.count, later.notInDatabase(now.progress)]).toEqual([30, []]);
      later.end();
    });
  });

  it('reads drift windows from entries newest first, cutting the oldest entry to its newest rows at last_n', async () => {
    await withLog(engine, {}, async (log, store) => {
      const t0 = Date.parse('2026-11-23T10:00:00.000Z');
      log.append(pending(5, { id: 'a', name: 'nba_points', at: t0 }));
      log.append(pending(1, { id: 'failed', name: 'nba_points', at: t0 + 500, ok: false, error: 'x', output: null }));
      log.append(pending(5, { id: 'b', name: 'nba_points', version: 'v2', at: t0 + 1_000 }));
      await log.flush();
      const window = await store.predictions.loggedFeatures('nba_points', { lastN: 7 });
      expect(window.map((e) => [e.version, e.rows, Array.from(e.values)])).toEqual([
        ['v2', 5, [0, 1, 1, 2, 2, 3, 3, 4, 4, 5]],
        ['v1', 2, [3, 4, 4, 5]],
      ]);
      expect((await store.predictions.loggedFeatures('nba_points', { version: 'v1', since: new Date(t0).toISOString() })).map((e) => e.rows)).toEqual([5]);
      expect(await store.predictions.loggedFeatures('nba_points', { since: new Date(t0 + 2_000).toISOString() })).toEqual([]);
    });
  });

  it('reads a window of many entries whole (more than one page of them)', async () => {
    await withLog(engine, {}, async (log, store) => {
      const t0 = Date.parse('2026-11-23T10:00:00.000Z');
      for (let i = 0; i < 5_000; i++) log.append(pending(1, { id: `p${i}`, indices: null, name: 'w', at: t0 + i }));
      await log.flush();
      const window = await store.predictions.loggedFeatures('w', { lastN: 4_500 });
      expect(window).toHaveLength(4_500);
      expect(window.map((e) => e.values[0])).toEqual(Array(4_500).fill(0));
      expect(await store.predictions.count()).toBe(5_000);
    });
  });

  it('trims by age, then the entries wholly older than the newest maxRows predictions, and keeps the count exact', async () => {
    const keep = 7_000;
    await withLog(engine, { maxRows: keep, maxAgeMs: 3_600_000 }, async (log, store, db) => {
      const now = Date.now();
      for (let i = 0; i < 3; i++) log.append(pending(1_000, { id: `old${i}`, name: 'nba_points', at: now - 7_200_000 })); // two hours old
      // 60 entries of 1 to 500 rows: the cut falls inside one of them.
      const sizes = Array.from({ length: 60 }, (_, i) => 1 + ((i * 137) % 500));
      sizes.forEach((n, i) => log.append(pending(n, { id: `new${i}`, name: 'nba_points', at: now + i })));
      await log.flush();
      expect(await store.predictions.count()).toBe(3_000 + sizes.reduce((a, b) => a + b, 0));
      await log.trim();
      // Kept: the newest entries whose rows reach into the newest `keep` predictions.
      let first = sizes.length;
      for (let rows = 0; rows < keep;) rows += sizes[--first];
      const kept = sizes.slice(first).reduce((a, b) => a + b, 0);
      const ids = (await db.rows<{ id: string }>('SELECT id FROM predictions ORDER BY seq')).map((r) => r.id);
      expect(ids).toEqual(sizes.slice(first).map((_, i) => `new${first + i}`));
      expect(kept).toBeGreaterThanOrEqual(keep);
      expect(kept - sizes[first]).toBeLessThan(keep);
      expect(await store.predictions.count()).toBe(kept);
      const cutoff = new Date(now - 3_600_000).toISOString();
      const minutes = await db.rows<{ n: number }>('SELECT COUNT(*) AS n FROM prediction_minutes WHERE minute < ?', [
        engine.name === 'sqlite' ? cutoff.slice(0, 16) : cutoff,
      ]);
      expect(Number(minutes[0].n)).toBe(0);
      // Trimming again finds nothing more to take.
      await log.trim();
      expect(await store.predictions.count()).toBe(kept);
    });
  });

  it("trims by age within the cutoff's day only: a later day's entries stay, and the count stays exact", async () => {
    const maxAgeMs = 2 * 86_400_000;
    await withLog(engine, { maxRows: 1_000_000, maxAgeMs }, async (log, store, db) => {
      const now = Date.now();
      // Just older than the cutoff, on its day; the rest today (on PostgreSQL, another day's partition).
      for (let i = 0; i < 3; i++) log.append(pending(10, { id: `old${i}`, name: 'nba_points', at: now - maxAgeMs - 50 + i }));
      for (let i = 0; i < 5; i++) log.append(pending(7, { id: `new${i}`, name: 'nba_points', at: now + i }));
      await log.flush();
      await log.trim();
      expect((await db.rows<{ id: string }>('SELECT id FROM predictions ORDER BY seq')).map((r) => r.id)).toEqual(['new0', 'new1', 'new2', 'new3', 'new4']);
      expect(await store.predictions.count()).toBe(35);
    });
  });

  it('counts what the committed transactions of a writer that died wrote, so the next flush writes the rest once', { timeout: 60_000 }, async () => {
    await withLog(engine, {}, async (log, store, db) => {
      const N = 100_000;
      for (let i = 0; i < N; i++) log.append(pending(1, { id: `p${i}`, indices: null }));
      const count = async () => {
        const [r] = await db.rows<{ n: number; d: number }>('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM predictions');
        return { n: Number(r.n), d: Number(r.d) };
      };
      const flushing = log.flush();
      while ((await count()).n === 0) await new Promise((r) => setTimeout(r, 1));
      // Fault injection: the thread dies as an out-of-memory kill would end it, between two of its transactions.
      const sink = (log as unknown as { deps: { sink: { channel: WorkerChannel<object, { id: number }> } } }).deps.sink;
      await sink.channel.take()?.terminate();
      await flushing;
      expect(log.status().failedFlushes).toBe(1); // it died with rows left to write
      const partial = (await count()).n;
      expect(partial).toBeGreaterThan(0);
      expect(partial).toBeLessThan(N);
      expect(log.status().pending).toBe(N - partial);
      await log.flush();
      expect(await count()).toEqual({ n: N, d: N });
      expect(log.status()).toMatchObject({ pending: 0, written: N });
      expect(await store.predictions.count()).toBe(N);
    });
  });

  it('lets writes go between the pieces of a long trim', { timeout: 60_000 }, async () => {
    const db = await engine.database();
    const sink = (await db.open()).predictions.openSink();
    try {
      // 12 000 entries: SQLite deletes them in several slices, PostgreSQL drops their day's partition.
      const batch = Array.from({ length: 12_000 }, (_, i) => pending(1, { id: `t${i}`, at: Date.now() }));
      expect((await sink.write(batch, 1)).written).toBe(12_000);
      const done: string[] = [];
      const trim = sink.trim(new Date(Date.now() + 86_400_000).toISOString(), 1).then(() => done.push('trim'));
      const write = sink.write([pending(1, { id: 'during', at: Date.now() + 2 * 86_400_000 })], 2).then((r) => done.push(`write ${r.written}`));
      await Promise.all([trim, write]);
      expect(done).toEqual(['write 1', 'trim']);
      expect(await db.rows<{ id: string }>('SELECT id FROM predictions')).toEqual([{ id: 'during' }]);
    } finally {
      await sink.close();
    }
  });

  it('keeps any text a request carried: routing keys and errors with tabs, newlines, backslashes and NUL', async () => {
    await withLog(engine, {}, async (log, store, db) => {
      const odd = 'a\tb\nc\\d\re\u0000f"g\'h€';
      log.append(
        pending(1, { id: 'odd', indices: null, routingKey: odd, ok: false, error: odd, output: null, matrix: null, rawFeatures: JSON.stringify({ k: odd }) }),
      );
      await log.flush();
      expect(log.status().lastFlushFailed).toBe(false);
      const [row] = await db.rows<{ routing_key: string; error: string }>('SELECT routing_key, error FROM predictions');
      const kept = engine.name === 'sqlite' ? odd : odd.replace('\u0000', '\uFFFD');
      expect(row).toEqual({ routing_key: kept, error: kept });
      expect(await store.predictions.count()).toBe(1);
    });
  });
});
