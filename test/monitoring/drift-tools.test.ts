import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { call, connect, dumpTables, errorCode, fixture, ok, registerDemoVersions, readCsvRows, testApp, text } from '../helpers.js';

interface Dataset {
  file: string;
  shifted_features?: string[];
  ks_vs_reference?: Record<string, { statistic: number; pvalue: number }>;
}
const datasets = (JSON.parse(fs.readFileSync(fixture('models.json'), 'utf8')) as { datasets: Dataset[] }).datasets;

interface Run {
  run_id: string;
  features: Array<{
    feature: string;
    statistic: number;
    p_value: number;
    p_value_adjusted: number;
    psi: number;
    drift_detected: boolean;
    n_ref: number;
    n_cur: number;
    method: string;
  }>;
  drifted_features: string[];
  dataset_drift: boolean;
  source: string;
}

const csvRows = readCsvRows;

let app: AppContext;
let work: string;
let client: Client;

beforeEach(async () => {
  ({ app, work } = await testApp());
  client = await connect(app, { clientName: 'drift-test' });
  await registerDemoVersions(client);
  await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production' });
  await ok(client, 'promote_model', { name: 'nba_win_predictor', version: 'v1.5', target_stage: 'production' });
});
afterEach(async () => {
  await client.close();
  await app.close();
});

describe('drift on the demo data', () => {
  it('finds exactly the shifted features of each demo CSV, with scipy p-values, an alert and a stored run', async () => {
    for (const [model, ref, cur] of [
      ['nba_points', 'nba_points_reference.csv', 'nba_points_current.csv'],
      ['nba_win_predictor', 'nba_win_reference.csv', 'nba_win_current.csv'],
    ] as const) {
      const set = await ok<{ rows: number; ignored_columns: number; features: Array<{ feature: string; n: number }> }>(client, 'set_drift_reference', {
        name: model,
        csv_path: fixture(ref),
      });
      expect(set.ignored_columns).toBe(1); // the target column (points, home_win): counted, not named
      expect(set.features.every((f) => f.n === set.rows)).toBe(true);
      const run = await ok<Run>(client, 'detect_drift', { name: model, csv_path: fixture(cur) });
      const expected = datasets.find((d) => d.file === cur)!;
      expect([...run.drifted_features].sort()).toEqual([...expected.shifted_features!].sort());
      for (const f of run.features) {
        const scipy = expected.ks_vs_reference![f.feature];
        // scipy.stats.ks_2samp(method='auto') on the same CSV values, recorded by tools/make-fixtures.py.
        expect(Math.abs(f.statistic - scipy.statistic)).toBeLessThan(1e-12);
        if (scipy.pvalue === 0) expect(f.p_value).toBe(0);
        else expect(Math.abs(f.p_value - scipy.pvalue) / scipy.pvalue).toBeLessThan(1e-10);
        expect(f.method).toBe('exact');
      }
      const report = await ok<Run>(client, 'get_drift_report', { name: model });
      expect(report.run_id).toBe(run.run_id);
    }
    // The same finding again within the hour is stored as a run, not raised again; another finding is.
    const again = await ok<Run>(client, 'detect_drift', { name: 'nba_points', csv_path: fixture('nba_points_current.csv') });
    expect(again.drifted_features.length).toBe(3);
    const fewer = await ok<Run>(client, 'detect_drift', {
      name: 'nba_points',
      csv_path: fixture('nba_points_current.csv'),
      features: ['opponent_def_rating', 'is_home'],
    });
    expect(fewer.drifted_features).toEqual(['opponent_def_rating']);
    await ok(client, 'detect_drift', { name: 'nba_points', csv_path: fixture('nba_points_current.csv') }); // back to the first set: raised this hour already
    const alerts = await ok<{ alerts: Array<{ type: string; severity: string; message: string }> }>(client, 'get_alerts', { severity: 'warning' });
    expect(alerts.alerts.map((a) => a.type)).toEqual(['feature_drift', 'feature_drift', 'feature_drift']);
    expect(alerts.alerts[0].message).toMatch(/nba_points: 1 of 2 features drifted \(opponent_def_rating/);
    alerts.alerts.shift();
    expect(alerts.alerts[1].message).toMatch(/nba_points: 3 of 10 features drifted \(opponent_def_rating p=/);
    const health = await ok<{ components: Array<{ status: string; detail: string }> }>(client, 'health_check', { component: 'drift_monitoring' });
    expect(health.components[0].status).toBe('degraded');
    expect(health.components[0].detail).toContain('drift in');
  });

  it("keeps a read-only caller's check without letting it change the drift state others see", async () => {
    await ok(client, 'set_drift_reference', { name: 'nba_points', csv_path: fixture('nba_points_reference.csv') });
    const real = await ok<Run & { monitored: boolean }>(client, 'detect_drift', { name: 'nba_points', csv_path: fixture('nba_points_current.csv') });
    expect(real.monitored).toBe(true);
    const drift = async () =>
      (await ok<{ components: Array<{ status: string; detail: string }> }>(client, 'health_check', { component: 'drift_monitoring' })).components[0];
    const seen = await drift();
    expect(seen.status).toBe('degraded');
    const alertsBefore = (await ok<{ count: number }>(client, 'get_alerts', {})).count;
    // A read-only caller checks reference-like rows (no drift), and the drifted CSV again.
    const reader = await connect(app, { readOnly: true, clientName: 'viewer' });
    const sample = csvRows(fixture('nba_points_reference.csv')).filter((_, i) => i % 3 === 0);
    const hiding = await call(reader, 'detect_drift', { name: 'nba_points', current_rows: sample });
    expect(hiding.structuredContent).toMatchObject({ monitored: false, drifted_features: [] });
    expect(text(hiding)).toContain("Not the model's latest check");
    const again = await ok<Run & { monitored: boolean }>(reader, 'detect_drift', {
      name: 'nba_points',
      csv_path: fixture('nba_points_current.csv'),
      threshold: 0.01,
    });
    expect(again.monitored).toBe(false);
    // health_check, the latest report (what the dashboard shows) and the alerts are as they were.
    expect(await drift()).toEqual({ ...seen, latency_ms: expect.any(Number) });
    expect((await ok<Run>(client, 'get_drift_report', { name: 'nba_points' })).run_id).toBe(real.run_id);
    expect((await ok<{ count: number }>(client, 'get_alerts', {})).count).toBe(alertsBefore);
    // The reader's run is kept: found by its id.
    expect((await ok<Run & { monitored: boolean }>(reader, 'get_drift_report', { run_id: again.run_id })).monitored).toBe(false);
    await reader.close();
  });

  it('finds no drift in a sample of the reference itself, and applies corrections', async () => {
    await ok(client, 'set_drift_reference', { name: 'nba_points', csv_path: fixture('nba_points_reference.csv') });
    const sample = csvRows(fixture('nba_points_reference.csv')).filter((_, i) => i % 3 === 0);
    const run = await ok<Run>(client, 'detect_drift', { name: 'nba_points', current_rows: sample });
    expect(run.drifted_features).toEqual([]);
    expect(run.dataset_drift).toBe(false);
    const none = await ok<Run>(client, 'detect_drift', { name: 'nba_points', csv_path: fixture('nba_points_current.csv') });
    const bonf = await ok<Run>(client, 'detect_drift', { name: 'nba_points', csv_path: fixture('nba_points_current.csv'), correction: 'bonferroni' });
    bonf.features.forEach((f, i) => {
      expect(f.p_value).toBe(none.features[i].p_value);
      expect(f.p_value_adjusted).toBeCloseTo(Math.min(1, 10 * f.p_value), 12);
    });
    const subset = await ok<Run>(client, 'detect_drift', {
      name: 'nba_points',
      csv_path: fixture('nba_points_current.csv'),
      features: ['days_rest', 'is_home'],
    });
    expect(subset.features.map((f) => f.feature)).toEqual(['is_home', 'days_rest']);
  });

  it('checks the last predictions from the log after real predict calls', async () => {
    await ok(client, 'set_drift_reference', { name: 'nba_points', csv_path: fixture('nba_points_reference.csv') });
    const current = csvRows(fixture('nba_points_current.csv')).slice(0, 400);
    const features = (await ok<{ model: { feature_names: string[] } }>(client, 'get_model', { name: 'nba_points' })).model.feature_names;
    for (const row of current.slice(0, 150)) {
      await ok(client, 'predict', { name: 'nba_points', features: Object.fromEntries(features.map((f) => [f, row[f]])) });
    }
    await ok(client, 'batch_predict', { name: 'nba_points', rows: current.slice(150).map((r) => features.map((f) => r[f])) });
    const run = await ok<Run>(client, 'detect_drift', { name: 'nba_points', window: { last_n: 400 } });
    expect(run.features[0].n_cur).toBe(400);
    expect(run.source).toContain('prediction log');
    expect(run.drifted_features).toEqual(expect.arrayContaining(['season_avg_points', 'opponent_def_rating']));
    const hour = await ok<Run>(client, 'detect_drift', { name: 'nba_points', window: { since_hours: 1 }, version: 'v1' });
    expect(hour.features[0].n_cur).toBe(400);
  });

  it('returns a PNG chart of the CDFs when asked', async () => {
    await ok(client, 'set_drift_reference', { name: 'nba_points', csv_path: fixture('nba_points_reference.csv') });
    const r = await call(client, 'detect_drift', { name: 'nba_points', csv_path: fixture('nba_points_current.csv'), include_chart: true });
    const image = r.content.find((c) => c.type === 'image') as unknown as { data: string; mimeType: string };
    expect(image.mimeType).toBe('image/png');
    const png = Buffer.from(image.data, 'base64');
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.length).toBeGreaterThan(5000);
  });

  it('stores the reference compactly as sorted Float64 blobs and replaces it whole', async () => {
    await ok(client, 'set_drift_reference', { name: 'nba_points', csv_path: fixture('nba_points_reference.csv') });
    await ok(client, 'set_drift_reference', { name: 'nba_points', rows: csvRows(fixture('nba_points_current.csv')).slice(0, 50) });
    const dump = dumpTables(app.config.dbPath);
    const feats = dump.drift_reference_features as Array<{ feature: string; n: number; sorted_values: Buffer }>;
    expect(feats).toHaveLength(10);
    for (const f of feats) {
      expect(f.n).toBe(50);
      expect(f.sorted_values.length).toBe(8 * 50);
      const values = new Float64Array(f.sorted_values.buffer.slice(f.sorted_values.byteOffset, f.sorted_values.byteOffset + f.sorted_values.byteLength));
      expect([...values]).toEqual([...values].sort((a, b) => a - b));
    }
    const h = await ok<{ entries: Array<{ action: string }> }>(client, 'get_model_history', { name: 'nba_points', limit: 2 });
    expect(h.entries.map((e) => e.action)).toEqual(['set_drift_reference', 'set_drift_reference']);
  });

  it('reports progress while reading a large CSV', async () => {
    const lines = fs.readFileSync(fixture('nba_points_reference.csv'), 'utf8').trim().split('\n');
    const big = path.join(work, 'big.csv');
    fs.writeFileSync(big, [lines[0], ...Array.from({ length: 5 }, () => lines.slice(1)).flat()].join('\n'));
    const progress: number[] = [];
    const r = await client.callTool({ name: 'set_drift_reference', arguments: { name: 'nba_points', csv_path: big } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect((r.structuredContent as { rows: number }).rows).toBe(25_000);
    expect(progress).toEqual([10_000, 20_000]);
  });
});

describe('drift bad input: clear errors, nothing stored', () => {
  it.each([[{ name: 'nba_points', csv_path: fixture('nba_points_current.csv') }, 'not_found', /no drift reference.*set_drift_reference/]])(
    'detect_drift without a reference %j',
    async (args, code, message) => {
      const r = await call(client, 'detect_drift', args);
      expect(errorCode(r)).toBe(code);
      expect(text(r)).toMatch(message);
    },
  );

  it('refuses bad sources and bad data and leaves every table as it was', async () => {
    await ok(client, 'set_drift_reference', { name: 'nba_points', csv_path: fixture('nba_points_reference.csv') });
    fs.writeFileSync(
      path.join(work, 'nan.csv'),
      'is_home,days_rest,season_avg_points,season_avg_rebounds,season_avg_assists,last5_avg_points,last5_avg_rebounds,last5_avg_assists,minutes_avg,opponent_def_rating\n1,2,3,4,5,6,7,8,9,10\n1,2,abc,4,5,6,7,8,9,10\n',
    );
    fs.writeFileSync(path.join(work, 'other.csv'), 'a,b\n1,2\n3,4\n');
    fs.writeFileSync(path.join(work, 'empty.csv'), '');
    fs.writeFileSync(path.join(work, 'secrets.env'), 'API_TOKEN=s3cr3t-admin-token,DB_PASSWORD=hunter2\n');
    const before = dumpTables(app.config.dbPath);
    const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
      [
        'detect_drift',
        { name: 'nba_points', features: ['shoe_size'], csv_path: fixture('nba_points_current.csv') },
        'invalid_argument',
        /unknown feature shoe_size/,
      ],
      [
        'detect_drift',
        { name: 'nba_points', csv_path: path.join(work, 'nan.csv') },
        'invalid_argument',
        /line 3, column "season_avg_points": the cell is not a finite number/,
      ],
      [
        'detect_drift',
        { name: 'nba_points', csv_path: path.join(work, 'secrets.env') },
        'invalid_argument',
        /has no columns is_home, days_rest.* in its header row \(2 columns\)/,
      ],
      ['detect_drift', { name: 'nba_points', current_rows: [] }, 'invalid_argument', /current_rows is empty/],
      ['detect_drift', { name: 'nba_points', current_rows: [Array(10).fill(1)] }, 'invalid_argument', /too few rows/],
      ['detect_drift', { name: 'nba_points', csv_path: path.join(work, 'missing.csv') }, 'file_not_found', /does not exist/],
      ['detect_drift', { name: 'nba_points', csv_path: '/etc/passwd' }, 'path_not_allowed', /MLOPS_MCP_ALLOWED_DIRS/],
      ['detect_drift', { name: 'nba_points', csv_path: path.join(work, 'other.csv') }, 'invalid_argument', /has no columns is_home, days_rest/],
      ['detect_drift', { name: 'nba_points', csv_path: path.join(work, 'empty.csv') }, 'invalid_argument', /empty/],
      ['detect_drift', { name: 'nba_points' }, 'invalid_argument', /exactly one source/],
      ['detect_drift', { name: 'nba_points', current_rows: [[1]], window: { last_n: 5 } }, 'invalid_argument', /exactly one source/],
      ['detect_drift', { name: 'nba_points', window: {} }, 'invalid_argument', /last_n or since_hours/],
      ['detect_drift', { name: 'nba_points', window: { last_n: 10 } }, 'invalid_argument', /too few rows/],
      ['detect_drift', { name: 'nba_points', version: 'v7', csv_path: fixture('nba_points_current.csv') }, 'not_found', /no version "v7"/],
      ['detect_drift', { name: 'nba_points', threshold: 2, csv_path: fixture('nba_points_current.csv') }, 'validation', /threshold/],
      ['set_drift_reference', { name: 'nba_points', rows: [{ is_home: 1 }] }, 'invalid_argument', /row 0: missing features days_rest/],
      ['set_drift_reference', { name: 'nba_points', rows: [Array(10).fill(1)] }, 'invalid_argument', /at least 2/],
      ['set_drift_reference', { name: 'nba_points' }, 'invalid_argument', /exactly one of rows and csv_path/],
      ['set_drift_reference', { name: 'nope', rows: [[1], [2]] }, 'not_found', /No model named "nope"/],
      ['get_drift_report', { run_id: 'no-such-run' }, 'not_found', /No drift run/],
    ];
    for (const [tool, args, code, message] of cases) {
      const r = await call(client, tool, args);
      expect(r.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
      expect(text(r)).not.toMatch(/s3cr3t|hunter2|abc/); // errors never quote the file
      expect(text(r), JSON.stringify(args)).toMatch(message);
      if (code === 'validation') expect(text(r)).toMatch(new RegExp(`^invalid_argument: ${tool} arguments: `));
      else expect(errorCode(r), JSON.stringify(args)).toBe(code);
    }
    expect(dumpTables(app.config.dbPath)).toEqual(before);
  });

  it('changes nothing on a dry run of set_drift_reference', async () => {
    const before = dumpTables(app.config.dbPath);
    const r = await ok<{ dry_run: boolean; rows: number }>(client, 'set_drift_reference', {
      name: 'nba_points',
      csv_path: fixture('nba_points_reference.csv'),
      dry_run: true,
    });
    expect(r).toMatchObject({ dry_run: true, rows: 5000 });
    expect(dumpTables(app.config.dbPath)).toEqual(before);
  });
});
