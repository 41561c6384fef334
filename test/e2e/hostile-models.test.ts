/**
 * Hostile models against the built server over HTTP (issue 21, item 1): a model that loops for
 * as long as its input says, one that asks for gigabytes at registration or when run. The server
 * runs models in processes of its own, each run held to MODEL_RUN_TIMEOUT_MS and each process to
 * MODEL_MEMORY_MB, and checks a model the same way before registering it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, dumpDigest, errorCode, fixture, ok, PREDICTION_LOG_TABLES, tempDir, text } from '../helpers.js';
import { chainGraph, residentMiB } from '../serving/hostile.js';
import { childPids, spawnHttp, type SpawnedHttp } from './spawn.js';

const RUN_TIMEOUT_MS = 1500;
const MEMORY_MB = 768;
const POINTS_ROW = [1, 2, 24.1, 6.2, 5, 27.4, 5.8, 6.1, 34.5, 112.3];

let server: SpawnedHttp;
let client: Client;
let home: string;
let work: string;

/** A process's resident MiB, or 0 once it has ended. */
function residentOr0(pid: number): number {
  try {
    return residentMiB(pid);
  } catch {
    return 0;
  }
}

/** Samples a number every 20 ms while `work` runs; answers the largest seen and what work answered. */
async function peakWhile<T>(sample: () => number, work: Promise<T>): Promise<{ peak: number; result: T }> {
  let peak = sample();
  let done = false;
  const sampling = (async () => {
    while (!done) {
      peak = Math.max(peak, sample());
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const result = await work.finally(() => (done = true));
  await sampling;
  return { peak, result };
}

beforeAll(async () => {
  const root = tempDir();
  home = path.join(root, 'home');
  work = path.join(root, 'work');
  fs.mkdirSync(work);
  server = await spawnHttp(['--demo'], {
    MLOPS_MCP_HOME: home,
    MLOPS_MCP_ALLOWED_DIRS: `${path.dirname(fixture('x'))}:${work}`,
    MODEL_RUN_TIMEOUT_MS: String(RUN_TIMEOUT_MS),
    MODEL_MEMORY_MB: String(MEMORY_MB),
    LOG_LEVEL: 'error',
  });
  client = new Client({ name: 'hostile-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
  for (const f of ['loop-from-input', 'expand-from-input']) {
    await ok(client, 'register_model', { name: f.replaceAll('-', '_'), artifact_path: fixture(`hostile/${f}.onnx`) });
  }
}, 60_000);

afterAll(async () => {
  await client?.close();
  await server?.stop('SIGKILL');
});

describe('a hostile model cannot stall or bloat the server', () => {
  it("stops a looping model's run at MODEL_RUN_TIMEOUT_MS while /healthz and another model answer promptly", async () => {
    await ok(client, 'predict', { name: 'nba_points', features: POINTS_ROW });
    const started = performance.now();
    // 10^12 iterations: hours of a core if nothing stopped it.
    const hostile = call(client, 'predict', { name: 'loop_from_input', version: 'v1', features: [1e12] }).then((r) => ({ r, ms: performance.now() - started }));
    let finished = false;
    void hostile.then(() => (finished = true));
    const health: number[] = [];
    const predict: number[] = [];
    while (!finished) {
      let t = performance.now();
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      health.push(performance.now() - t);
      t = performance.now();
      const r = await fetch(`${server.url}/api/v1/predict/nba_points`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ features: POINTS_ROW }),
      });
      expect(r.status).toBe(200);
      predict.push(performance.now() - t);
    }
    const { r, ms } = await hostile;
    expect(r.isError).toBe(true);
    expect(errorCode(r)).toBe('invalid_model');
    expect(text(r)).toMatch(new RegExp(`loop_from_input v1 ran longer than MODEL_RUN_TIMEOUT_MS \\(${RUN_TIMEOUT_MS} ms\\): it was stopped`));
    expect(ms).toBeGreaterThanOrEqual(RUN_TIMEOUT_MS);
    expect(ms).toBeLessThan(RUN_TIMEOUT_MS + 3000);
    // Before, one such call held every request until it ended (here: never).
    expect(health.length).toBeGreaterThan(5);
    expect(Math.max(...health), `healthz ms: ${health.map((h) => h.toFixed(1)).join(' ')}`).toBeLessThan(300);
    expect(Math.max(...predict), `predict ms: ${predict.map((h) => h.toFixed(1)).join(' ')}`).toBeLessThan(500);
    // The killed process's place is taken; the model answers a harmless row again.
    const again = await ok<{ prediction: number }>(client, 'predict', { name: 'loop_from_input', version: 'v1', features: [5] });
    expect(again.prediction).toBe(5);
  }, 30_000);

  it('keeps the server small while a model allocates gigabytes: the run fails naming MODEL_MEMORY_MB', async () => {
    const pid = server.child.pid as number;
    const before = residentMiB(pid);
    // Each asks for 1 GiB (X expanded to 2^28 rows of float), three at once.
    const calls = Promise.all(Array.from({ length: 3 }, () => call(client, 'predict', { name: 'expand_from_input', version: 'v1', features: [2 ** 28] })));
    let modelPeak = 0;
    const sample = () => {
      for (const c of childPids(pid)) modelPeak = Math.max(modelPeak, residentOr0(c));
      return residentMiB(pid);
    };
    const { peak, result } = await peakWhile(sample, calls);
    for (const r of result) {
      expect(errorCode(r)).toBe('invalid_model');
      expect(text(r)).toMatch(new RegExp(`expand_from_input v1 needed more memory than MODEL_MEMORY_MB \\(${MEMORY_MB} MiB\\)`));
    }
    // Before, one such call left 1.2 GB resident in the server, three 2.3 GB.
    expect(peak - before, `server RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MiB`).toBeLessThan(100);
    // The model processes asked for 1 GiB each and got less than their cap.
    expect(modelPeak).toBeGreaterThan(0);
    expect(modelPeak).toBeLessThan(MEMORY_MB);
    expect((await ok<{ prediction: number }>(client, 'predict', { name: 'expand_from_input', version: 'v1', features: [1000] })).prediction).toBe(1000);
  }, 30_000);

  it('reads and loads a 60 000-node graph at registration while /healthz answers promptly', async () => {
    const big = path.join(work, 'big-graph.onnx');
    fs.writeFileSync(big, chainGraph(60_000));
    let finished = false;
    const registering = call(client, 'register_model', { name: 'big_graph', artifact_path: big, dry_run: true }).finally(() => (finished = true));
    const health: number[] = [];
    while (!finished) {
      const t = performance.now();
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      health.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
    const r = await registering;
    expect(r.isError, text(r)).toBeFalsy();
    // Before, onnxruntime's load (~1.5 s) and our own reading of the graph (~0.3 s) held the event loop.
    expect(health.length).toBeGreaterThan(5);
    expect(Math.max(...health), `healthz ms: ${health.map((h) => h.toFixed(1)).join(' ')}`).toBeLessThan(150);
  }, 30_000);

  for (const dryRun of [true, false]) {
    it(`refuses${dryRun ? ' on a dry run' : ''} a model that needs gigabytes or never ends, naming the limit, and writes nothing`, async () => {
      const pid = server.child.pid as number;
      const before = residentMiB(pid);
      const db = path.join(home, 'registry.db');
      const digest = dumpDigest(db, PREDICTION_LOG_TABLES);
      const artifacts = () => fs.readdirSync(path.join(home, 'artifacts'), { recursive: true }).sort();
      const stored = artifacts();
      const cases = [
        // 198 bytes that fold into a 1 GiB constant while loading (2.1 GB resident in process before).
        ['constant-of-shape', /needed more memory than MODEL_MEMORY_MB \(768 MiB\) allows a model process (to load|on a row of zeros); nothing was registered/],
        ['expand-constant', /needed more memory than MODEL_MEMORY_MB \(768 MiB\) allows a model process on a row of zeros; nothing was registered/],
        ['loop-forever', /ran longer than MODEL_RUN_TIMEOUT_MS \(1500 ms\) on a row of zeros and was stopped; nothing was registered/],
      ] as const;
      const { peak, result } = await peakWhile(
        () => residentMiB(pid),
        Promise.all(
          cases.map(([f]) =>
            call(client, 'register_model', { name: `hostile_${f.replaceAll('-', '_')}`, artifact_path: fixture(`hostile/${f}.onnx`), dry_run: dryRun }),
          ),
        ),
      );
      cases.forEach(([, message], i) => {
        expect(errorCode(result[i])).toBe('invalid_model');
        expect(text(result[i])).toMatch(message);
      });
      expect(peak - before, `server RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MiB`).toBeLessThan(100);
      expect(dumpDigest(db, PREDICTION_LOG_TABLES)).toBe(digest);
      expect(artifacts()).toEqual(stored);
      // The checks ran in a process of their own: the models being served answer as before.
      await ok(client, 'predict', { name: 'nba_points', features: POINTS_ROW });
    }, 60_000);
  }
});
