import fs from 'node:fs/promises';
import path from 'node:path';
import type { AppContext } from './context.js';
import type { Actor } from './registry/types.js';
import { stickyBucket } from './serving/sticky.js';
import { pickerFor, pickVersion } from './serving/traffic.js';

/**
 * The demo's past week, so that a first look at the status page finds a system in use: hourly
 * traffic on both demo models with the outcomes of every prediction recorded, nba_points v1 on
 * the reference distribution for four days and on the shifted "current" one for three (its
 * error grows; performance_degradation fires; the drift run of its last three days finds the
 * shift), and nba_win_predictor split 50/50 between v1.5 and v2.0 by sticky routing on game ids
 * (the A/B comparison). Every draw comes from one seeded generator: the data, the routing and
 * so every metric are the same at each start; only the times follow the clock.
 */

const SEED = 20261123;
const DAYS = 7;
const SLOTS_PER_DAY = 8;
/** Days (of DAYS) on the reference distribution before the shift. */
const DAYS_BEFORE_SHIFT = 4;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Table {
  features: number[][];
  targets: number[];
}

/** A fixture CSV: feature columns, then the target column. */
async function table(dir: string, file: string): Promise<Table> {
  const [, ...lines] = (await fs.readFile(path.join(dir, file), 'utf8')).trim().split('\n');
  const rows = lines.map((l) => l.split(',').map(Number));
  return { features: rows.map((r) => r.slice(0, -1)), targets: rows.map((r) => r[r.length - 1]) };
}

/** mulberry32: a small seeded generator, enough to shuffle fixture rows reproducibly. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

type Outcome = { predictionId: string; actual: number };

/** Predicts `rows` with `version` as made at `at`; answers their outcomes (the rows' ids paired with their targets), to be recorded later. */
async function served(app: AppContext, name: string, version: string, rows: Array<{ features: number[]; target: number }>, at: number): Promise<Outcome[]> {
  if (!rows.length) return [];
  const b = await app.serving.predictBatch(
    name,
    rows.map((r) => r.features),
    { version, at },
  );
  return rows.map((r, i) => ({ predictionId: `${b.batchId}:${i}`, actual: r.target }));
}

export async function simulateHistory(app: AppContext, fixtures: string, who: Actor, now = Date.now()): Promise<void> {
  const random = seeded(SEED);
  const [reference, current, games] = await Promise.all([
    table(fixtures, 'nba_points_reference.csv'),
    table(fixtures, 'nba_points_current.csv'),
    table(fixtures, 'nba_win_current.csv'),
  ]);
  const rowsOf = (t: Table) =>
    shuffled(
      t.features.map((features, i) => ({ features, target: t.targets[i], key: `game-${i}` })),
      random,
    );
  const before = rowsOf(reference).slice(0, 1200);
  const after = rowsOf(current).slice(0, 900);
  const matches = rowsOf(games);

  const split = { 'v1.5': 0.5, 'v2.0': 0.5 };
  await app.serving.configureTraffic('nba_win_predictor', split, 'sticky', { ...who, reason: 'demo: A/B test of v2.0 against v1.5' }, false);
  const picker = pickerFor({ weights: split, routing: 'sticky', updatedAt: null });

  const slots = DAYS * SLOTS_PER_DAY;
  const cut = <T>(rows: readonly T[], slot: number, of: number) =>
    rows.slice(Math.floor((slot * rows.length) / of), Math.floor(((slot + 1) * rows.length) / of));
  const shiftSlot = DAYS_BEFORE_SHIFT * SLOTS_PER_DAY;
  // A day's results arrive the next morning: recorded once a day per model, as a feed would.
  let day: Record<'nba_points' | 'nba_win_predictor', Outcome[]> = { nba_points: [], nba_win_predictor: [] };
  const recordDay = async () => {
    for (const [name, outcomes] of Object.entries(day))
      if (outcomes.length) await app.performance.record(name, { outcomes }, { ...who, reason: "demo: the day's results" }, false);
    day = { nba_points: [], nba_win_predictor: [] };
  };
  for (let slot = 0; slot < slots; slot++) {
    const at = now - DAYS * DAY + slot * (DAY / SLOTS_PER_DAY) + Math.floor(random() * HOUR);
    const points = slot < shiftSlot ? cut(before, slot, shiftSlot) : cut(after, slot - shiftSlot, slots - shiftSlot);
    day.nba_points.push(...(await served(app, 'nba_points', 'v1', points, at)));
    const byVersion = new Map<string, typeof matches>();
    for (const game of cut(matches, slot, slots)) {
      const version = pickVersion(picker, stickyBucket('nba_win_predictor', game.key));
      byVersion.set(version, [...(byVersion.get(version) ?? []), game]);
    }
    for (const [version, rows] of byVersion) day.nba_win_predictor.push(...(await served(app, 'nba_win_predictor', version, rows, at)));
    if ((slot + 1) % SLOTS_PER_DAY === 0) await recordDay();
  }
  await app.predictionLog.flush();

  await app.drift.setReference('nba_points', { rows: reference.features }, { ...who, reason: 'demo: the training data of v1' });
  await app.drift.detect(
    'nba_points',
    { window: { sinceHours: (DAYS - DAYS_BEFORE_SHIFT) * 24 }, threshold: 0.05, correction: 'fdr', datasetDriftShare: 0.5 },
    who.actor,
  );
}
