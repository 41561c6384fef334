import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { STALE_TEMP_MS } from '../../src/registry/artifacts.js';
import { fixture, tempDir, text, type ToolResult } from '../helpers.js';
import { freshDatabase, postgresUrl } from '../postgres/server.js';
import { readerFor, type StoreReader } from '../store/reader.js';
import { spawnHttp } from './spawn.js';

/** npm test kills a few times; `npm run test:crash` (CRASH_KILLS=50) the full count. */
const KILLS = Number(process.env.CRASH_KILLS ?? 6);

// ---------------------------------------------------------------------------------------------
// What the client sent and saw acknowledged

/**
 * What the writer changes, one "subject" at a time; each change sets the subject's whole state:
 *   version:<model>/<label>  the version's stage ('missing' until registered)
 *   production:<model>       the production version's label ('none' without one)
 *   weights:<model>          the A/B split as canonical JSON ('none' without one)
 *   reference:<model>        the model-wide drift reference's row count ('none' without one)
 */
type Kind = 'version' | 'production' | 'weights' | 'reference';
type Subject = `${Kind}:${string}`;

interface Sent {
  value: string;
  acked: boolean;
}

/**
 * Per subject, the changes sent, in order, each marked once the client saw it acknowledged.
 * The writer makes one call at a time, so after a crash a subject's state is the effect of the
 * last change that landed: the last acknowledged one (it must have landed, and every earlier
 * one with it), or one sent later whose answer the crash swallowed (it may or may not have).
 */
class Ledger {
  private readonly subjects = new Map<Subject, { initial: string; sent: Sent[] }>();

  /** Starts following a subject whose state is `initial` now. */
  follow(subject: Subject, initial: string): void {
    if (!this.subjects.has(subject)) this.subjects.set(subject, { initial, sent: [] });
  }

  send(subject: Subject, value: string): Sent {
    const s = this.subjects.get(subject);
    if (!s) throw new Error(`not following ${subject}`);
    const change = { value, acked: false };
    s.sent.push(change);
    return change;
  }

  /** The states the database may show for a subject after a crash. */
  allowed(subject: Subject): string[] {
    const { initial, sent } = this.subjects.get(subject)!;
    const last = sent.findLastIndex((c) => c.acked);
    return [last < 0 ? initial : sent[last].value, ...sent.slice(last + 1).map((c) => c.value)];
  }

  all(): Subject[] {
    return [...this.subjects.keys()];
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the database

/** A subject's state as the database has it, after checking that a reference is whole. */
async function readState(db: StoreReader, subject: Subject): Promise<string> {
  const [kind, target] = subject.split(/:(.*)/s) as [Kind, string];
  switch (kind) {
    case 'version': {
      const [model, version] = target.split('/');
      const [row] = await db.all<{ stage: string }>('SELECT stage FROM model_versions WHERE model_name = ? AND version = ?', [model, version]);
      return row?.stage ?? 'missing';
    }
    case 'production': {
      const [row] = await db.all<{ version: string }>("SELECT version FROM model_versions WHERE model_name = ? AND stage = 'production'", [target]);
      return row?.version ?? 'none';
    }
    case 'weights': {
      const [row] = await db.all<{ weights: string }>('SELECT weights FROM traffic_configs WHERE model_name = ?', [target]);
      return row ? canonicalWeights(JSON.parse(row.weights) as Record<string, number>) : 'none';
    }
    case 'reference': {
      const [ref] = await db.all<{ rows: number }>("SELECT rows FROM drift_references WHERE model_name = ? AND version = ''", [target]);
      if (!ref) return 'none';
      // Whole: every feature holds every row (never part of one write and part of another).
      const feats = await db.all<{ n: number }>("SELECT n FROM drift_reference_features WHERE model_name = ? AND version = ''", [target]);
      expect(feats.length, `${subject} has no features`).toBeGreaterThan(0);
      for (const f of feats) expect(f.n, `${subject} is partial`).toBe(ref.rows);
      return String(ref.rows);
    }
  }
}

/** Weights as the server stores them: versions sorted, zero weights left out. */
const canonicalWeights = (w: Record<string, number>) =>
  JSON.stringify(
    Object.fromEntries(
      Object.entries(w)
        .filter(([, x]) => x > 0)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ),
  );

const sha256File = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** What must hold after any crash, whatever the server was doing. */
async function checkInvariants(env: Record<string, string>, ledger: Ledger, registeredSha: Map<string, string>): Promise<void> {
  const home = env.MLOPS_MCP_HOME;
  const db = await readerFor(env);
  try {
    if (db.engine === 'sqlite') expect((await db.all<{ integrity_check: string }>('PRAGMA integrity_check'))[0].integrity_check).toBe('ok');
    // Every change the client saw acknowledged is there, or one it sent after.
    for (const subject of ledger.all()) expect(ledger.allowed(subject), `state of ${subject}`).toContain(await readState(db, subject));

    const versions = await db.all<{
      model_name: string;
      version: string;
      stage: string;
      artifact_sha256: string;
      artifact_bytes: number;
    }>('SELECT model_name, version, stage, artifact_sha256, artifact_bytes FROM model_versions');
    // No registry row points at a missing or partial artifact: the file is whole (its sha256 is
    // the row's) and is the file the client registered.
    for (const v of versions) {
      const file = path.join(home, 'artifacts', v.artifact_sha256.slice(0, 2), `${v.artifact_sha256}.onnx`);
      expect(fs.statSync(file).size, file).toBe(v.artifact_bytes);
      expect(sha256File(file), file).toBe(v.artifact_sha256);
      const sent = registeredSha.get(`${v.model_name}/${v.version}`);
      if (sent) expect(v.artifact_sha256, `${v.model_name}/${v.version} is not the file registered`).toBe(sent);
    }
    // At most one production version per model, and stages agree with the audit trail.
    for (const m of new Set(versions.map((v) => v.model_name))) {
      expect(versions.filter((v) => v.model_name === m && v.stage === 'production').length).toBeLessThanOrEqual(1);
    }
    const lastAudited = await db.all<{ model_name: string; version: string; to_stage: string }>(
      'SELECT model_name, version, to_stage FROM audit_log a WHERE to_stage IS NOT NULL AND id = (SELECT MAX(id) FROM audit_log b WHERE b.model_name = a.model_name AND b.version = a.version AND b.to_stage IS NOT NULL)',
    );
    const audited = new Map(lastAudited.map((r) => [`${r.model_name}/${r.version}`, r.to_stage]));
    for (const v of versions) expect(audited.get(`${v.model_name}/${v.version}`), `audit of ${v.model_name}/${v.version}`).toBe(v.stage);
  } finally {
    await db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Artifacts with unique bytes

const varint = (n: number) => {
  const bytes: number[] = [];
  for (; n > 127; n >>>= 7) bytes.push((n & 127) | 128);
  bytes.push(n);
  return Buffer.from(bytes);
};
const lengthDelimited = (field: number, payload: Buffer) => Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);

/**
 * The ONNX model with one more metadata_props entry (ModelProto field 14, a StringStringEntryProto
 * of key = 1 and value = 2). Appending a field to a protobuf message is valid, so every
 * registration stores a new artifact: storage dedups by sha256, and with the same two fixture
 * files the temp-write, fsync and rename would run twice in the whole test.
 */
function uniqueOnnx(source: string, value: string): Buffer {
  const entry = Buffer.concat([lengthDelimited(1, Buffer.from('crash_test_id')), lengthDelimited(2, Buffer.from(value))]);
  return Buffer.concat([fs.readFileSync(source), lengthDelimited(14, entry)]);
}

// ---------------------------------------------------------------------------------------------
// Temp files left by a kill

const isTemp = (name: string) => name.endsWith('.part');
const listTemps = (tmp: string) => (fs.existsSync(tmp) ? fs.readdirSync(tmp).filter(isTemp) : []);

/**
 * Before a restart: plants a temp file older than the server's threshold (a test cannot wait
 * ten minutes for a real one to age) and notes the young ones the kill left.
 */
function beforeRestart(tmp: string): { planted: string; young: string[] } {
  fs.mkdirSync(tmp, { recursive: true });
  // Leaving a minute's margin to the threshold (a run would need to last ten minutes to matter).
  const young = listTemps(tmp).filter((n) => Date.now() - fs.statSync(path.join(tmp, n)).mtimeMs < STALE_TEMP_MS - 60_000);
  const planted = `${randomUUID()}.part`;
  fs.writeFileSync(path.join(tmp, planted), 'a write that never finished');
  const old = new Date(Date.now() - STALE_TEMP_MS - 60_000);
  fs.utimesSync(path.join(tmp, planted), old, old);
  return { planted, young };
}

/**
 * After the restart: the stale file is gone, the young ones stay (another process could be
 * writing them), and the kills do not pile up
 * temp files (the writer has one call in flight at most, so one per kill at most).
 */
function afterRestart(tmp: string, before: { planted: string; young: string[] }, kills: number): void {
  const now = listTemps(tmp);
  expect(now, 'stale temp file removed at start').not.toContain(before.planted);
  for (const y of before.young) expect(now, 'young temp file kept').toContain(y);
  expect(now.length).toBeLessThanOrEqual(kills + 2);
}

// ---------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, capMs: number): Promise<void> {
  for (const end = Date.now() + capMs; !condition() && Date.now() < end;) await sleep(20);
}

/** A CSV of the reference fixture's rows repeated to `rows` data rows. */
function referenceCsv(file: string, rows: number): string {
  const [header, ...data] = fs.readFileSync(fixture('nba_points_reference.csv'), 'utf8').trim().split('\n');
  fs.writeFileSync(file, [header, ...Array.from({ length: rows }, (_, i) => data[i % data.length])].join('\n'));
  return file;
}

describe.each([
  { engine: 'sqlite', skip: false },
  { engine: 'postgresql', skip: postgresUrl === null },
])('kill -9 at random moments ($engine)', ({ engine, skip }) => {
  it.skipIf(skip)(`keeps every acknowledged change and a consistent registry across ${KILLS} kills`, { timeout: 60_000 + KILLS * 15_000 }, async () => {
    const root = tempDir();
    const home = path.join(root, 'home');
    const tmp = path.join(home, 'artifacts', 'tmp');
    const uploads = path.join(root, 'uploads');
    fs.mkdirSync(uploads);
    const env: Record<string, string> = { MLOPS_MCP_HOME: home, MLOPS_MCP_ALLOWED_DIRS: `${root}:${path.dirname(fixture('x'))}`, LOG_LEVEL: 'error' };
    if (engine === 'postgresql') env.MLOPS_MCP_DATABASE_URL = await freshDatabase();
    // 100 000-row references, big enough that some kills land during their write; two sizes so
    // the row count tells which write the database kept.
    const references = [referenceCsv(path.join(root, 'ref-a.csv'), 100_000), referenceCsv(path.join(root, 'ref-b.csv'), 99_999)];
    const referenceRows = [100_000, 99_999];

    const ledger = new Ledger();
    const registeredSha = new Map<string, string>();
    const errors: string[] = [];
    /** Per kind, how many kills came after one of its changes was acknowledged in that round (then checked on restart). */
    const checkedAfterKill: Record<Kind, number> = { version: 0, production: 0, weights: 0, reference: 0 };
    const inFlightAtKill: Record<string, number> = {};
    const tempsLeft = new Set<string>(); // kills that landed between an artifact's temp write and its rename
    let counter = 0; // varies promotions, weights and references from call to call
    const startedAt = Date.now();

    for (let k = 0; k <= KILLS; k++) {
      const temps = k > 0 ? beforeRestart(tmp) : null;
      const server = await spawnHttp(k < KILLS ? ['--demo'] : [], env);
      if (temps) {
        afterRestart(tmp, temps, k);
        for (const y of temps.young) tempsLeft.add(y);
      }
      if (k === 0) {
        // What the demo left: the states the first changes start from.
        const db = await readerFor(env);
        for (const s of ['production:nba_points', 'weights:nba_win_predictor', 'reference:nba_points'] as const) ledger.follow(s, await readState(db, s));
        await db.close();
      }
      await checkInvariants(env, ledger, registeredSha); // the restarted server opened the crashed database
      if (k === KILLS) {
        await server.stop();
        break;
      }

      const client = new Client({ name: `crash-${k}`, version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
      const ackedThisRound = new Set<Kind>();
      let inFlight = 'nothing';
      /**
       * One change: noted as sent before the call, acknowledged once answered without error.
       * A call in flight when the server dies ends when the client is closed after the kill; the
       * timeout is for a live server that stops answering (slow on a loaded machine is fine).
       */
      const change = async (subject: Subject, value: string, tool: string, args: Record<string, unknown>) => {
        const sent = ledger.send(subject, value);
        const r = await call(tool, args);
        if (!r.isError) {
          sent.acked = true;
          ackedThisRound.add(subject.split(':')[0] as Kind);
        }
        return !r.isError;
      };
      const call = async (tool: string, args: Record<string, unknown>) => {
        inFlight = tool;
        const r = (await client.callTool({ name: tool, arguments: args }, undefined, { timeout: 10_000 })) as ToolResult;
        inFlight = 'nothing';
        if (r.isError) errors.push(`${tool}: ${text(r)}`);
        return r;
      };

      // Short rounds kill early (during startup writes and the first calls) and write no
      // reference: one takes about a second, most of a short round, and their kills are meant
      // for the short writes (registrations, with their artifact writes, promotions, A/B
      // changes, prediction-log flushes). Long rounds kill at a random moment after the round's
      // first acknowledged reference (later than any short kill), so a reference, a promotion
      // and an A/B change were acknowledged before it, and it lands in any later write: every
      // other cycle writes a reference.
      const long = k % 2 === 1;
      let stop = false;
      const writer = (async () => {
        let lastRegistered: string | null = null;
        for (let i = 0; !stop; i++) {
          if (i % 6 === 5 && (!long || i % 12 !== 5)) continue;
          const n = counter++;
          try {
            switch (i % 6) {
              case 0: {
                const label = `k${k}-${i}`;
                const file = path.join(uploads, `${label}.onnx`);
                fs.writeFileSync(file, uniqueOnnx(fixture(n % 2 ? 'nba_points_v1.onnx' : 'nba_points_v2.onnx'), label));
                registeredSha.set(`nba_points/${label}`, sha256File(file));
                ledger.follow(`version:nba_points/${label}`, 'missing');
                lastRegistered = (await change(`version:nba_points/${label}`, 'none', 'register_model', {
                  name: 'nba_points',
                  artifact_path: file,
                  version: label,
                }))
                  ? label
                  : null;
                break;
              }
              case 1:
                if (lastRegistered)
                  await change(`version:nba_points/${lastRegistered}`, 'staging', 'promote_model', {
                    name: 'nba_points',
                    version: lastRegistered,
                    target_stage: 'staging',
                  });
                break;
              case 2: {
                const version = n % 2 ? 'v1' : 'v2';
                await change('production:nba_points', version, 'promote_model', {
                  name: 'nba_points',
                  version,
                  target_stage: 'production',
                  archive_existing: false,
                });
                break;
              }
              case 3: {
                const p = 1 + ((n * 37) % 99); // 1–99 %, rarely the same twice in a row
                const weights = { 'v1.5': p / 100, 'v2.0': (100 - p) / 100 };
                await change('weights:nba_win_predictor', canonicalWeights(weights), 'configure_ab_test', { name: 'nba_win_predictor', weights });
                break;
              }
              case 4:
                // Not checked (the prediction log is buffered): here for its flushes to be killed.
                await call('batch_predict', { name: 'nba_win_predictor', rows: Array.from({ length: 200 }, () => [0.5, 0.5, 110, 110, 110, 110, 1, 1]) });
                break;
              case 5:
                await change('reference:nba_points', String(referenceRows[n % 2]), 'set_drift_reference', { name: 'nba_points', csv_path: references[n % 2] });
                break;
            }
          } catch {
            return; // the connection died with the server, or a call timed out: no more calls this round
          }
        }
      })();

      if (!long) {
        await sleep(150 + Math.random() * 900);
      } else {
        await until(() => ackedThisRound.has('reference'), 15_000);
        await sleep(Math.random() * 3000);
      }
      stop = true;
      server.child.kill('SIGKILL');
      inFlightAtKill[inFlight] = (inFlightAtKill[inFlight] ?? 0) + 1;
      await server.stop();
      await client.close().catch(() => undefined); // fails the call in flight: the writer ends
      await writer;
      for (const kind of ackedThisRound) checkedAfterKill[kind]++; // checked by the next restart's checkInvariants
    }

    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    console.log(
      `crash test (${engine}): ${KILLS} kills in ${seconds} s; kills after an acknowledged change, by kind: ${JSON.stringify(checkedAfterKill)}; call in flight at the kill: ${JSON.stringify(inFlightAtKill)}; temp files left by kills: ${tempsLeft.size}`,
    );
    expect(errors, 'no call answered with an error').toEqual([]);
    // The run tested something: acknowledged changes of every kind were checked after a kill.
    for (const kind of ['version', 'production', 'weights', 'reference'] as const)
      expect(checkedAfterKill[kind], `kills after an acknowledged ${kind} change`).toBeGreaterThan(0);
  });
});
