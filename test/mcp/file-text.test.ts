import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, packageRoot } from '../../src/config.js';
import { createAppContext, type AppContext } from '../../src/context.js';
import { call, connect, errorCode, fixture, ok, registerDemoVersions, tempDir, testApp, text } from '../helpers.js';

// Answers never carry a file's text: not in an error (test/monitoring/drift-tools.test.ts), and
// not in a successful answer either; and by default the working directory is not reachable.

const apps: AppContext[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

const FEATURES =
  'is_home,days_rest,season_avg_points,season_avg_rebounds,season_avg_assists,last5_avg_points,last5_avg_rebounds,last5_avg_assists,minutes_avg,opponent_def_rating';
const ROWS = ['1,2,3,4,5,6,7,8,9,10', '0,1,2,3,4,5,6,7,8,9', '1,3,5,7,9,11,13,15,17,19'];

describe('set_drift_reference on a CSV with columns that are not features', () => {
  it('counts them and never names them: a header cell is a line of some file', async () => {
    const { app, work } = await testApp();
    apps.push(app);
    const client = await connect(app);
    await registerDemoVersions(client);
    // A header whose extra cells are a secret: an env assignment, and a bare token that looks like a name.
    const file = path.join(work, 'with-secrets.csv');
    fs.writeFileSync(file, [`${FEATURES},MLOPS_MCP_TOKEN=s3cr3t-admin-token,ghp_s3cr3tTokenLooksLikeAName`, ...ROWS.map((r) => `${r},1,2`)].join('\n'));
    for (const dryRun of [true, false]) {
      const r = await call(client, 'set_drift_reference', { name: 'nba_points', csv_path: file, dry_run: dryRun });
      expect(r.isError, text(r)).toBeFalsy();
      expect(JSON.stringify(r)).not.toMatch(/s3cr3t|MLOPS_MCP_TOKEN/);
      expect(r.structuredContent).toMatchObject({ rows: 3, ignored_columns: 2 });
      expect(text(r)).toContain('2 columns are not a feature and were ignored');
    }
    // Inline rows: keys are counted the same way.
    const rows = ROWS.map((line) => ({ ...Object.fromEntries(FEATURES.split(',').map((f, i) => [f, Number(line.split(',')[i])])), label: 1 }));
    expect((await ok<{ ignored_columns: number }>(client, 'set_drift_reference', { name: 'nba_points', rows })).ignored_columns).toBe(1);
  });
});

describe('the allowed directories by default', () => {
  it('are $MLOPS_MCP_HOME/imports (created at start) and fixtures/, not the working directory with its .env', async () => {
    const cwd = tempDir();
    fs.writeFileSync(path.join(cwd, '.env'), `${FEATURES},MLOPS_MCP_TOKEN=s3cr3t-admin-token\n${ROWS.join('\n')}\n`);
    const config = loadConfig({ MLOPS_MCP_HOME: path.join(cwd, 'registry'), LOG_LEVEL: 'silent' }, cwd);
    expect(config.allowedDirs).toEqual([path.join(cwd, 'registry', 'imports'), path.join(packageRoot, 'fixtures')]);
    const app = await createAppContext(config, pino({ level: 'silent' }));
    apps.push(app);
    expect(fs.statSync(path.join(cwd, 'registry', 'imports')).isDirectory()).toBe(true);
    const client = await connect(app);
    await registerDemoVersions(client); // from fixtures/
    const refused = await call(client, 'set_drift_reference', { name: 'nba_points', csv_path: path.join(cwd, '.env') });
    expect(errorCode(refused)).toBe('path_not_allowed');
    expect(text(refused)).not.toContain('s3cr3t');
    // What is copied into imports/ is reachable.
    const imported = path.join(cwd, 'registry', 'imports', 'reference.csv');
    fs.copyFileSync(fixture('nba_points_reference.csv'), imported);
    expect((await ok<{ rows: number }>(client, 'set_drift_reference', { name: 'nba_points', csv_path: imported })).rows).toBeGreaterThan(100);
  });
});
