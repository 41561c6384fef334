import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { loadConfig, packageRoot } from '../src/config.js';
import { createAppContext, type AppContext } from '../src/context.js';
import { createMcpServer } from '../src/mcp/server.js';

export const FIXTURES = path.join(packageRoot, 'fixtures');
export const fixture = (name: string) => path.join(FIXTURES, name);

/** nba_points' features in the model's order, as the fixtures' manifest records them. */
export const NBA_POINTS_FEATURES: readonly string[] = (
  JSON.parse(fs.readFileSync(fixture('models.json'), 'utf8')) as { models: Array<{ name: string; feature_names: string[] }> }
).models.find((m) => m.name === 'nba_points')!.feature_names;

export function tempDir(prefix = 'mlops-mcp-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A real AppContext on a fresh home in a temp dir; file arguments may reach fixtures/ and `work`. */
export async function testApp(env: Record<string, string> = {}): Promise<{ app: AppContext; home: string; work: string }> {
  const root = tempDir();
  const home = path.join(root, 'home');
  const work = path.join(root, 'work');
  fs.mkdirSync(work);
  const config = loadConfig({ MLOPS_MCP_HOME: home, MLOPS_MCP_ALLOWED_DIRS: `${FIXTURES}:${work}`, LOG_LEVEL: 'silent', ...env }, root);
  return { app: await createAppContext(config, pino({ level: 'silent' })), home, work };
}

/** A real SDK Client connected to our server through the in-memory transport. */
export async function connect(app: AppContext, options: { readOnly?: boolean; clientName?: string } = {}): Promise<Client> {
  const server = createMcpServer(app, { readOnly: options.readOnly ?? false, transport: 'memory' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: options.clientName ?? 'test-client', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

/**
 * The prediction log's tables: predictions (failed ones too) are logged by design, by a writer
 * thread on a timer, whose progress row changes with every flush; tests that check a failed call
 * changed nothing leave them out.
 */
export const PREDICTION_LOG_TABLES = ['predictions', 'prediction_minutes', 'prediction_seconds', 'prediction_log_progress'] as const;

/** Every row of every table, in order: equal dumps mean the database content is unchanged. */
export function dumpTables(dbPath: string, exclude: readonly string[] = []): Record<string, unknown[]> {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const tables = (
      db
        .prepare("SELECT name, wr FROM pragma_table_list WHERE schema = 'main' AND name IN (SELECT name FROM sqlite_master WHERE type = 'table') ORDER BY name")
        .all() as Array<{ name: string; wr: number }>
    ).filter((t) => !exclude.includes(t.name));
    // A WITHOUT ROWID table has no rowid: its primary key orders it.
    return Object.fromEntries(tables.map(({ name, wr }) => [name, db.prepare(`SELECT * FROM "${name}"${wr ? '' : ' ORDER BY rowid'}`).all()]));
  } finally {
    db.close();
  }
}

/** A digest of dumpTables: cheap to compare many times (deep equality of blob columns is slow). */
export function dumpDigest(dbPath: string, exclude: readonly string[] = []): string {
  const json = JSON.stringify(dumpTables(dbPath, exclude), (_k, v: unknown) =>
    v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer'
      ? createHash('sha256')
          .update(Buffer.from((v as { data: number[] }).data))
          .digest('hex')
      : v,
  );
  return createHash('sha256').update(json).digest('hex');
}

export interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

export async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

/** Calls a tool that must succeed, and returns its structured content. */
export async function ok<T = Record<string, unknown>>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const r = await call(client, name, args);
  if (r.isError) throw new Error(`${name} failed: ${r.content[0]?.text}`);
  return r.structuredContent as T;
}

export const text = (r: ToolResult) => r.content.map((c) => c.text ?? '').join('\n');
export const errorCode = (r: ToolResult) => (r._meta?.['mlops-mcp/error'] as { code?: string } | undefined)?.code;

/** A numeric CSV with a header row (the fixtures' format), one object per row. */
export function readCsvRows(file: string): Array<Record<string, number>> {
  const [header, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const cols = header.split(',');
  return lines.map((line) => {
    const cells = line.split(',').map(Number);
    return Object.fromEntries(cols.map((c, i) => [c, cells[i]]));
  });
}

/** Registers the demo's four models (no promotions) into an app's registry. */
export async function registerDemoVersions(client: Client): Promise<void> {
  await ok(client, 'register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v1.onnx'), version: 'v1' });
  await ok(client, 'register_model', { name: 'nba_points', artifact_path: fixture('nba_points_v2.onnx'), version: 'v2' });
  await ok(client, 'register_model', { name: 'nba_win_predictor', artifact_path: fixture('nba_win_predictor_v1.5.onnx'), version: 'v1.5' });
  await ok(client, 'register_model', { name: 'nba_win_predictor', artifact_path: fixture('nba_win_predictor_v2.0.onnx'), version: 'v2.0' });
}

/** One prediction of the log, as docs/architecture.md describes an entry's rows. */
export interface LoggedPrediction {
  id: string;
  version: string | null;
  ok: boolean;
  features: number[] | null;
  prediction: number | string | null;
  probabilities: Record<string, number> | null;
  createdAt: string;
}

/**
 * The prediction log read from the file as a person with sqlite3 would (migration 8): each entry
 * expanded to its predictions, ids <batch_id>:<row index> for batch rows, in log order.
 */
export function readPredictionLog(dbPath: string, where = '1'): LoggedPrediction[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    type Entry = {
      id: string;
      row_indices: Buffer | null;
      row_count: number;
      version: string | null;
      ok: number;
      width: number | null;
      features: Buffer | string | null;
      output: string | null;
      created_at: string;
    };
    const entries = db.prepare(`SELECT * FROM predictions WHERE ${where} ORDER BY seq`).all() as Entry[];
    const out: LoggedPrediction[] = [];
    for (const e of entries) {
      const indices = e.row_indices ? Array.from({ length: e.row_indices.length / 4 }, (_, j) => e.row_indices!.readInt32LE(4 * j)) : null;
      const output = e.output ? (JSON.parse(e.output) as { predictions: Array<number | string>; probabilities: Record<string, number[]> | null }) : null;
      for (let j = 0; j < e.row_count; j++) {
        const features =
          Buffer.isBuffer(e.features) && e.width
            ? Array.from({ length: e.width }, (_, i) => (e.features as Buffer).readDoubleLE(8 * (j * e.width! + i)))
            : null;
        out.push({
          id: indices ? `${e.id}:${indices[j]}` : e.id,
          version: e.version,
          ok: e.ok === 1,
          features,
          prediction: output ? output.predictions[j] : null,
          probabilities: output?.probabilities ? Object.fromEntries(Object.entries(output.probabilities).map(([label, p]) => [label, p[j]])) : null,
          createdAt: e.created_at,
        });
      }
    }
    return out;
  } finally {
    db.close();
  }
}
