import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fixture, tempDir, type ToolResult } from '../helpers.js';
import { spawnHttp } from './spawn.js';

/** npm test kills a few times; `npm run test:crash` (CRASH_KILLS=50) the full count. */
const KILLS = Number(process.env.CRASH_KILLS ?? 6);

interface Acknowledged {
  versions: Set<string>;
  references: Map<string, number>;
}

/** What must hold after any crash, whatever the server was doing. */
function checkInvariants(home: string, acked: Acknowledged): void {
  const db = new Database(path.join(home, 'registry.db'), { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const versions = db.prepare('SELECT model_name, version, stage, artifact_sha256, artifact_bytes FROM model_versions').all() as Array<{
      model_name: string;
      version: string;
      stage: string;
      artifact_sha256: string;
      artifact_bytes: number;
    }>;
    // Every registration the client saw acknowledged is there.
    const present = new Set(versions.map((v) => `${v.model_name}/${v.version}`));
    for (const v of acked.versions) expect(present.has(v), `acknowledged ${v} lost`).toBe(true);
    // No registry row points at a missing or partial artifact.
    for (const v of versions) {
      const file = path.join(home, 'artifacts', v.artifact_sha256.slice(0, 2), `${v.artifact_sha256}.onnx`);
      expect(fs.statSync(file).size, file).toBe(v.artifact_bytes);
    }
    // At most one production version per model, and stages agree with the audit trail.
    const models = new Set(versions.map((v) => v.model_name));
    for (const m of models) expect(versions.filter((v) => v.model_name === m && v.stage === 'production').length).toBeLessThanOrEqual(1);
    const lastAudited = db.prepare(
      'SELECT model_name, version, to_stage FROM audit_log a WHERE to_stage IS NOT NULL AND id = (SELECT MAX(id) FROM audit_log b WHERE b.model_name = a.model_name AND b.version = a.version AND b.to_stage IS NOT NULL)',
    );
    const audited = new Map((lastAudited.all() as Array<{ model_name: string; version: string; to_stage: string }>).map((r) => [`${r.model_name}/${r.version}`, r.to_stage]));
    for (const v of versions) expect(audited.get(`${v.model_name}/${v.version}`)).toBe(v.stage);
    // An acknowledged drift reference is whole.
    for (const [model, rows] of acked.references) {
      const ref = db.prepare("SELECT rows FROM drift_references WHERE model_name = ? AND version = ''").get(model) as { rows: number } | undefined;
      expect(ref?.rows).toBe(rows);
      const feats = db.prepare("SELECT n FROM drift_reference_features WHERE model_name = ? AND version = ''").all(model) as Array<{ n: number }>;
      expect(feats.length).toBeGreaterThan(0);
      for (const f of feats) expect(f.n).toBe(rows);
    }
  } finally {
    db.close();
  }
}

describe('kill -9 at random moments', () => {
  it(`keeps every acknowledged change and a consistent registry across ${KILLS} kills`, { timeout: 60_000 + KILLS * 15_000 }, async () => {
    const root = tempDir();
    const home = path.join(root, 'home');
    // A 100 000-row reference, big enough that some kills land during its write.
    const lines = fs.readFileSync(fixture('nba_points_reference.csv'), 'utf8').trim().split('\n');
    const big = path.join(root, 'big.csv');
    fs.writeFileSync(big, [lines[0], ...Array.from({ length: 20 }, () => lines.slice(1)).flat()].join('\n'));
    const acked: Acknowledged = { versions: new Set(), references: new Map() };
    let survived = 0;
    for (let k = 0; k < KILLS; k++) {
      const server = await spawnHttp(['--demo'], { MLOPS_MCP_HOME: home, MLOPS_MCP_ALLOWED_DIRS: `${root}:${path.dirname(fixture('x'))}`, LOG_LEVEL: 'error' });
      checkInvariants(home, acked); // the restarted server opened the crashed database
      const client = new Client({ name: `crash-${k}`, version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
      // A call in flight when the server dies gets no answer: time it out rather than wait a minute.
      const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args }, undefined, { timeout: 2000 })) as ToolResult;
      let stop = false;
      const writer = (async () => {
        for (let i = 0; !stop; i++) {
          const op = i % 5;
          try {
            if (op === 0) {
              const label = `k${k}-${i}`;
              const r = await call('register_model', { name: 'nba_points', artifact_path: fixture(i % 2 ? 'nba_points_v1.onnx' : 'nba_points_v2.onnx'), version: label });
              if (!r.isError) acked.versions.add(`nba_points/${label}`);
            } else if (op === 1) {
              await call('promote_model', { name: 'nba_points', version: i % 2 ? 'v1' : 'v2', target_stage: 'production', archive_existing: false });
            } else if (op === 2) {
              await call('configure_ab_test', { name: 'nba_win_predictor', weights: { 'v1.5': 0.5, 'v2.0': 0.5 } });
            } else if (op === 3) {
              await call('batch_predict', { name: 'nba_win_predictor', rows: Array.from({ length: 200 }, () => [0.5, 0.5, 110, 110, 110, 110, 1, 1]) });
            } else if (k % 2 === 0) {
              const r = await call('set_drift_reference', { name: 'nba_points', csv_path: big });
              if (!r.isError) acked.references.set('nba_points', 100_000);
            }
          } catch {
            return; // the connection died with the server
          }
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 900));
      stop = true;
      server.child.kill('SIGKILL');
      await server.stop();
      await writer;
      await client.close().catch(() => undefined);
      survived++;
    }
    const last = await spawnHttp([], { MLOPS_MCP_HOME: home, LOG_LEVEL: 'error' });
    checkInvariants(home, acked);
    await last.stop();
    expect(survived).toBe(KILLS);
    expect(acked.versions.size).toBeGreaterThan(0);
  });
});
