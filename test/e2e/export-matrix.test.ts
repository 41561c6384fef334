import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, fixture, ok, readCsvRows, tempDir, text } from '../helpers.js';
import { spawnHttp, type SpawnedHttp } from './spawn.js';

/**
 * The compatibility matrix: every model of fixtures/exports (each library's default export, see
 * tools/make-export-fixtures.py) registered on a real server as it was exported, and its
 * answers through predict and batch_predict (MCP over HTTP) and the REST API compared with the
 * library's own predictions on the same 200 rows.
 */

interface Manifest {
  features: string[];
  tolerance: number;
  models: Array<{ name: string; file: string; library: string; estimator: string; register: Record<string, string> }>;
  refused: Array<{ name: string; file: string; why: string }>;
}
interface Answer {
  predictions: Array<number | string | number[]>;
  probabilities: Record<string, number[]> | null;
}

const dir = fixture('exports');
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
const rows = readCsvRows(path.join(dir, 'data.csv')).map((r) => manifest.features.map((f) => r[f]));
const expected = (name: string) => JSON.parse(fs.readFileSync(path.join(dir, `${name}.expected.json`), 'utf8')) as Answer;

/** The largest difference between two answers; labels (and probability labels) must be equal. */
function difference(got: Answer, want: Answer, where: string): number {
  expect(got.predictions.length, where).toBe(want.predictions.length);
  let max = 0;
  got.predictions.forEach((p, i) => {
    const w = want.predictions[i];
    if (typeof w === 'string' || (want.probabilities && typeof w === 'number')) expect(p, `${where} row ${i}`).toBe(w);
    else if (Array.isArray(w)) (p as number[]).forEach((x, j) => (max = Math.max(max, Math.abs(x - w[j]))));
    else max = Math.max(max, Math.abs((p as number) - w));
  });
  expect(got.probabilities === null, where).toBe(want.probabilities === null);
  if (want.probabilities) {
    expect(Object.keys(got.probabilities!).sort(), where).toEqual(Object.keys(want.probabilities).sort());
    for (const [label, probs] of Object.entries(want.probabilities)) probs.forEach((q, i) => (max = Math.max(max, Math.abs(got.probabilities![label][i] - q))));
  }
  return max;
}

let server: SpawnedHttp;
let mcp: Client;
const post = async (route: string, body: unknown) => {
  const r = await fetch(`${server.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(r.status, `${route}: ${await r.clone().text()}`).toBe(200);
  return r.json() as Promise<Record<string, unknown>>;
};
const matrix: Array<Record<string, string>> = [];

beforeAll(async () => {
  server = await spawnHttp([], { MLOPS_MCP_HOME: path.join(tempDir(), 'home'), LOG_LEVEL: 'warn' });
  mcp = new Client({ name: 'export-matrix', version: '1' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
});
afterAll(async () => {
  console.info(`[export-matrix] max |answer - library| over ${rows.length} rows:\n${matrix.map((m) => Object.values(m).join('  ')).join('\n')}`);
  await mcp?.close();
  await server?.stop();
});

describe('models as their libraries export them, registered as exported', () => {
  it.each(manifest.models.map((m) => [m.name, m] as const))(
    '%s: predict, batch_predict and REST answer as the library does',
    { timeout: 60_000 },
    async (name, m) => {
      await ok(mcp, 'register_model', { name, artifact_path: path.join(dir, m.file), feature_names: manifest.features, ...m.register });
      await ok(mcp, 'promote_model', { name, version: 'v1', target_stage: 'production' });
      const want = expected(name);

      const single: Answer = { predictions: [], probabilities: want.probabilities ? {} : null };
      for (const row of rows) {
        const p = await ok<{ prediction: number | string | number[]; probabilities: Record<string, number> | null }>(mcp, 'predict', { name, features: row });
        single.predictions.push(p.prediction);
        for (const [label, q] of Object.entries(p.probabilities ?? {})) (single.probabilities![label] ??= []).push(q);
      }
      const batch = await ok<Answer>(mcp, 'batch_predict', { name, rows });
      const rest = (await post(`/api/v1/predict/${name}`, { rows })) as unknown as Answer;
      const invocations = (await post(`/invocations/${name}`, { dataframe_split: { columns: manifest.features, data: rows } })) as { predictions: unknown[] };
      const mlflow: Answer = want.probabilities
        ? {
            predictions: invocations.predictions.map((p) => (p as { label: number | string }).label),
            probabilities: Object.fromEntries(
              Object.keys(want.probabilities).map((label) => [
                label,
                invocations.predictions.map((p) => (p as { probabilities: Record<string, number> }).probabilities[label]),
              ]),
            ),
          }
        : { predictions: invocations.predictions as Answer['predictions'], probabilities: null };

      const diffs = {
        predict: difference(single, want, 'predict'),
        batch_predict: difference(batch, want, 'batch_predict'),
        rest: difference(rest, want, 'REST'),
        invocations: difference(mlflow, want, '/invocations'),
      };
      for (const [how, d] of Object.entries(diffs)) expect(d, how).toBeLessThanOrEqual(manifest.tolerance);
      matrix.push({
        name: name.padEnd(22),
        library: m.library.padEnd(13),
        ...Object.fromEntries(Object.entries(diffs).map(([k, d]) => [k, `${k} ${d.toExponential(1)}`])),
      });
    },
  );

  it.each(manifest.refused.map((m) => [m.name, m] as const))('%s is refused at registration, saying how to export it', async (name, m) => {
    const r = await call(mcp, 'register_model', { name, artifact_path: path.join(dir, m.file) });
    expect(r.isError, text(r)).toBe(true);
    expect(text(r)).toMatch(/^invalid_model: .*dynamic_axes/);
  });
});
