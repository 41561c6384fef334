import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { STATISTICS } from '../../src/monitoring/statistics/index.js';
import { call, connect, errorCode, fixture, ok, registerDemoVersions, testApp } from '../helpers.js';
import { describeMlflow, runMlflowPython, useMlflowServer } from './mlflow-server.js';

/** MLflow's own REST API, read directly: what the MLflow UI and other replicas see. */
async function mlflowGet<T>(uri: string, endpoint: string, query: Record<string, string>): Promise<T> {
  const res = await fetch(`${uri}/api/2.0/mlflow/${endpoint}?${new URLSearchParams(query).toString()}`);
  if (!res.ok) throw new Error(`${endpoint}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function mlflowPost<T>(uri: string, endpoint: string, body: unknown): Promise<T> {
  const res = await fetch(`${uri}/api/2.0/mlflow/${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${endpoint}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface MV {
  version: string;
  current_stage: string;
  tags?: Array<{ key: string; value: string }>;
  aliases?: string[];
}
const tag = (mv: MV, key: string) => mv.tags?.find((t) => t.key === key)?.value;

async function versionsOf(uri: string, name: string): Promise<MV[]> {
  const r = await mlflowGet<{ model_versions?: MV[] }>(uri, 'model-versions/search', { filter: `name='${name}'` });
  return (r.model_versions ?? []).sort((a, b) => Number(a.version) - Number(b.version));
}

const apps: AppContext[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

describeMlflow('the registry mirrored into a real MLflow server', () => {
  const server = useMlflowServer();

  async function mirrored(): Promise<{ app: AppContext; client: Client }> {
    // A long interval: the tests push with sync_mlflow, to know when it happened.
    const { app } = await testApp({ MLFLOW_TRACKING_URI: server().uri, MLFLOW_SYNC_INTERVAL_MS: '3600000' });
    apps.push(app);
    return { app, client: await connect(app, { clientName: 'mirror-test' }) };
  }

  it('mirrors a promote and rollback story: versions, aliases, stages and reasons', async () => {
    const { client } = await mirrored();
    await registerDemoVersions(client);
    await ok(client, 'promote_model', { name: 'nba_points', version: 'v1', target_stage: 'production', reason: 'first' });
    await ok(client, 'promote_model', { name: 'nba_points', version: 'v2', target_stage: 'production', reason: 'better rmse' });
    await ok(client, 'rollback_model', { name: 'nba_points', reason: 'latency regression' });
    const sync = await ok<{ reachable: boolean; pending: number; pushed: number }>(client, 'sync_mlflow', {});
    expect(sync).toMatchObject({ reachable: true, pending: 0 });
    expect(sync.pushed).toBeGreaterThan(5);

    const versions = await versionsOf(server().uri, 'nba_points');
    expect(versions.map((v) => tag(v, 'mlops_mcp.version'))).toEqual(['v1', 'v2']);
    expect(versions.map((v) => v.current_stage)).toEqual(['Production', 'Archived']);
    expect(tag(versions[0], 'mlops_mcp.sha256')).toMatch(/^[0-9a-f]{64}$/);
    expect(tag(versions[0], 'mlops_mcp.reason')).toBe('latency regression');
    expect(tag(versions[1], 'mlops_mcp.last_action')).toMatch(/^rollback production → archived by mirror-test/);
    const model = await mlflowGet<{ registered_model: { aliases?: Array<{ alias: string; version: string }> } }>(server().uri, 'registered-models/get', {
      name: 'nba_points',
    });
    expect(model.registered_model.aliases).toEqual([{ alias: 'production', version: versions[0].version }]);
    // Pushing again changes nothing and duplicates nothing.
    expect((await ok<{ pushed: number }>(client, 'sync_mlflow', {})).pushed).toBe(0);
    expect(await versionsOf(server().uri, 'nba_points')).toHaveLength(2);
  });

  it('keeps working while MLflow is down and delivers every change, in order, when it is back', { timeout: 120_000 }, async () => {
    const { app, client } = await mirrored();
    await ok(client, 'register_model', { name: 'outage', artifact_path: fixture('nba_points_v1.onnx'), version: 'a' });
    await ok(client, 'register_model', { name: 'outage', artifact_path: fixture('nba_points_v2.onnx'), version: 'b' });
    await ok(client, 'sync_mlflow', {});
    await server().stop();
    await ok(client, 'promote_model', { name: 'outage', version: 'a', target_stage: 'production' });
    await ok(client, 'promote_model', { name: 'outage', version: 'b', target_stage: 'production' });
    await ok(client, 'promote_model', { name: 'outage', version: 'a', target_stage: 'staging' }).catch(() => undefined);
    await ok(client, 'rollback_model', { name: 'outage' });
    const down = await ok<{ reachable: boolean; pending: number }>(client, 'sync_mlflow', {});
    expect(down).toMatchObject({ reachable: false });
    expect(down.pending).toBeGreaterThanOrEqual(4);
    const health = await ok<{ components: Array<{ status: string; detail: string }> }>(client, 'health_check', { component: 'mlflow' });
    expect(health.components[0].status).toBe('degraded');
    expect(health.components[0].detail).toMatch(/unreachable; \d+ changes waiting/);
    expect((await ok<{ predictions: unknown[] }>(client, 'batch_predict', { name: 'outage', rows: [Array(10).fill(1)] })).predictions).toHaveLength(1);

    await server().start();
    const up = await ok<{ reachable: boolean; pending: number }>(client, 'sync_mlflow', {});
    expect(up).toMatchObject({ reachable: true, pending: 0 });
    const [a, b] = await versionsOf(server().uri, 'outage');
    // After a → production, b → production (a archived), rollback (a back, b archived):
    expect([a.current_stage, b.current_stage]).toEqual(['Production', 'Archived']);
    const local = (await app.registry.modelState('outage')).versions.map((v) => v.stage);
    expect(local).toEqual(['production', 'archived']);
    const model = await mlflowGet<{ registered_model: { aliases?: Array<{ alias: string; version: string }> } }>(server().uri, 'registered-models/get', {
      name: 'outage',
    });
    expect(model.registered_model.aliases).toEqual([{ alias: 'production', version: a.version }]);
  });

  it('imports an ONNX model that Python logged with mlflow.onnx, and serves it', { timeout: 120_000 }, async () => {
    const { client } = await mirrored();
    await runMlflowPython(
      [
        'import sys, mlflow, onnx',
        'mlflow.set_tracking_uri(sys.argv[1])',
        "mlflow.set_experiment('python-logged')",
        'with mlflow.start_run():',
        "    mlflow.onnx.log_model(onnx.load(sys.argv[2]), name='model', registered_model_name='py_points')",
        'mlflow.MlflowClient().set_registered_model_alias("py_points", "champion", "1")',
      ].join('\n'),
      [server().uri, fixture('nba_points_v1.onnx')],
    );
    const r = await ok<{ model: { version: string; feature_names: string[] } }>(client, 'register_model', {
      name: 'points_from_mlflow',
      mlflow_model_uri: 'models:/py_points@champion',
    });
    expect(r.model.feature_names).toHaveLength(10);
    await ok(client, 'promote_model', { name: 'points_from_mlflow', version: r.model.version, target_stage: 'production' });
    const p = await ok<{ prediction: number }>(client, 'predict', { name: 'points_from_mlflow', features: Array(10).fill(1) });
    expect(Number.isFinite(p.prediction)).toBe(true);
    await ok(client, 'sync_mlflow', {});
    // Linked, not copied: the stage change lands on the MLflow version it came from.
    const versions = await versionsOf(server().uri, 'py_points');
    expect(versions).toHaveLength(1);
    expect(versions[0].current_stage).toBe('Production');
    const got = await mlflowGet<{ model_version: MV }>(server().uri, 'model-versions/get', { name: 'py_points', version: versions[0].version });
    expect(got.model_version.aliases).toEqual(expect.arrayContaining(['champion', 'production']));
    expect(await versionsOf(server().uri, 'points_from_mlflow')).toEqual([]);
    const missing = await call(client, 'register_model', { name: 'x', mlflow_model_uri: 'models:/py_points/99' });
    expect(errorCode(missing)).toBe('not_found');
    expect(errorCode(await call(client, 'register_model', { name: 'x', mlflow_model_uri: 'runs:/abc/model' }))).toBe('invalid_argument');
  });

  it('logs each drift run as an MLflow run with per-feature metrics', async () => {
    const { client } = await mirrored();
    await registerDemoVersions(client);
    await ok(client, 'set_drift_reference', { name: 'nba_win_predictor', csv_path: fixture('nba_win_reference.csv') });
    const run = await ok<{ run_id: string; drifted_features: string[] }>(client, 'detect_drift', {
      name: 'nba_win_predictor',
      csv_path: fixture('nba_win_current.csv'),
      correction: 'fdr',
    });
    await ok(client, 'sync_mlflow', {});
    const exp = await mlflowGet<{ experiment: { experiment_id: string } }>(server().uri, 'experiments/get-by-name', {
      experiment_name: 'mlops-mcp/drift/nba_win_predictor',
    });
    const runs = await mlflowPost<{
      runs: Array<{
        data: { metrics?: Array<{ key: string; value: number }>; params?: Array<{ key: string; value: string }>; tags?: Array<{ key: string; value: string }> };
      }>;
    }>(server().uri, 'runs/search', { experiment_ids: [exp.experiment.experiment_id] });
    expect(runs.runs).toHaveLength(1);
    const data = runs.runs[0].data;
    expect(data.tags?.find((t) => t.key === 'mlops_mcp.drift_run_id')?.value).toBe(run.run_id);
    expect(
      data.tags
        ?.find((t) => t.key === 'mlops_mcp.drifted_features')
        ?.value.split(',')
        .sort(),
    ).toEqual([...run.drifted_features].sort());
    expect(data.params?.find((p) => p.key === 'correction')?.value).toBe('fdr');
    // Each statistic in the list logs its metrics per feature (8 features), and the p-values beside them.
    for (const prefix of ['p_value', ...STATISTICS.flatMap((s) => Object.values<string>(s.mlflow))]) {
      expect(
        data.metrics?.filter((m) => m.key.startsWith(`${prefix}.`)),
        prefix,
      ).toHaveLength(8);
    }
  });

  it('logs a drift run once when its push is retried after a crash, finishing a run the crash left half done', async () => {
    const { app, client } = await mirrored();
    await registerDemoVersions(client);
    await ok(client, 'set_drift_reference', { name: 'nba_win_predictor', csv_path: fixture('nba_win_reference.csv') });
    const first = await ok<{ run_id: string }>(client, 'detect_drift', { name: 'nba_win_predictor', csv_path: fixture('nba_win_current.csv') });
    await ok(client, 'sync_mlflow', {});
    const exp = await mlflowGet<{ experiment: { experiment_id: string } }>(server().uri, 'experiments/get-by-name', {
      experiment_name: 'mlops-mcp/drift/nba_win_predictor',
    });
    type Run = { info: { status: string }; data: { metrics?: Array<{ key: string }>; tags?: Array<{ key: string; value: string }> } };
    const runsOf = async (driftRunId: string) =>
      ((await mlflowPost<{ runs?: Run[] }>(server().uri, 'runs/search', { experiment_ids: [exp.experiment.experiment_id] })).runs ?? []).filter(
        (r) => r.data.tags?.find((t) => t.key === 'mlops_mcp.drift_run_id')?.value === driftRunId,
      );
    // A crash after the push and before the outbox entry went: the entry is there again.
    const requeue = (driftRunId: string) => {
      const db = new Database(app.config.dbPath);
      db.prepare("INSERT INTO mlflow_outbox (kind, model_name, payload, created_at) VALUES ('drift_run', 'nba_win_predictor', ?, ?)").run(
        JSON.stringify({ runId: driftRunId }),
        new Date().toISOString(),
      );
      db.close();
    };
    requeue(first.run_id);
    expect(await ok<{ pending: number }>(client, 'sync_mlflow', {})).toMatchObject({ pending: 0 });
    expect(await runsOf(first.run_id)).toHaveLength(1);

    // A crash between creating the MLflow run and logging to it: that run is found and finished.
    const second = await ok<{ run_id: string }>(client, 'detect_drift', { name: 'nba_win_predictor', csv_path: fixture('nba_win_current.csv') });
    await mlflowPost(server().uri, 'runs/create', {
      experiment_id: exp.experiment.experiment_id,
      tags: [{ key: 'mlops_mcp.drift_run_id', value: second.run_id }],
    });
    await ok(client, 'sync_mlflow', {});
    const runs = await runsOf(second.run_id);
    expect(runs).toHaveLength(1);
    expect(runs[0].info.status).toBe('FINISHED');
    expect(runs[0].data.metrics?.filter((m) => m.key.startsWith('psi.'))).toHaveLength(8);
  });
});
