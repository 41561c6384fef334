import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/errors.js';
import { MlflowClient, MlflowError } from '../../src/mlflow/client.js';
import { fixture } from '../helpers.js';
import { describeMlflow, freePort, runMlflowPython, useMlflowServer } from './mlflow-server.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const V1 = fs.readFileSync(fixture('nba_points_v1.onnx'));
const V2 = fs.readFileSync(fixture('nba_points_v2.onnx'));
const MODEL = 'nba_points';
const EXPERIMENT = 'mlops-mcp-registry';

/** A fetch that counts its calls and delegates (to the real fetch unless given an answer). */
function countingFetch(answer?: (attempt: number, init?: RequestInit) => Promise<Response>) {
  const counter = { calls: 0 };
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    counter.calls++;
    return answer ? answer(counter.calls, init) : fetch(input, init);
  }) as typeof fetch;
  return { fetch: f, counter };
}

async function mlflowError(p: Promise<unknown>): Promise<MlflowError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof MlflowError) return e;
    throw e;
  }
  throw new Error('expected an MlflowError');
}

// A server that just became healthy can still answer its first requests slowly on a busy machine.
describeMlflow('MlflowClient against a real MLflow 3.17 server', { timeout: 90_000 }, () => {
  const server = useMlflowServer();
  let client: MlflowClient;
  const runIds: string[] = [];

  beforeAll(() => {
    client = new MlflowClient({ trackingUri: server().uri });
  });

  it('answers /health', async () => {
    expect(await client.health()).toBe(true);
    expect(await new MlflowClient({ trackingUri: `http://127.0.0.1:${await freePort()}`, timeoutMs: 500 }).health()).toBe(false);
  });

  it('registers two ONNX versions from runs and reads them back (get, search, update)', async () => {
    const r1 = await client.registerOnnxVersion({
      name: MODEL,
      onnxBytes: V1,
      fileName: 'nba_points_v1.onnx',
      experimentName: EXPERIMENT,
      description: 'linear baseline',
      tags: { sha256: sha256(V1), 'mlops-mcp.version': 'v1' },
    });
    const r2 = await client.registerOnnxVersion({
      name: MODEL,
      onnxBytes: V2,
      fileName: 'nba_points_v2.onnx',
      experimentName: EXPERIMENT,
      tags: { sha256: sha256(V2), 'mlops-mcp.version': 'v2' },
    });
    expect([r1.version, r2.version]).toEqual(['1', '2']);
    runIds.push(r1.runId, r2.runId);

    const mv1 = await client.getModelVersion(MODEL, '1');
    expect(mv1).toMatchObject({
      name: MODEL,
      version: '1',
      source: `runs:/${r1.runId}/model`,
      runId: r1.runId,
      status: 'READY',
      currentStage: 'None',
      description: 'linear baseline',
      tags: { sha256: sha256(V1), 'mlops-mcp.version': 'v1' },
      aliases: [],
    });
    expect(mv1.creationTimestamp).toBeGreaterThan(Date.now() - 600_000);

    const run = await client.getRun(r1.runId);
    expect(run.info.status).toBe('FINISHED');
    expect(run.info.endTime).toBeGreaterThanOrEqual(run.info.startTime ?? 0);
    expect(run.info.artifactUri).toMatch(new RegExp(`^mlflow-artifacts:/\\d+/${r1.runId}/artifacts$`));
    expect((await client.listArtifacts(`runs:/${r1.runId}/model`)).map((f) => f.path)).toEqual(['nba_points_v1.onnx']);

    const experiment = await client.getExperimentByName(EXPERIMENT);
    expect(experiment?.artifactLocation).toMatch(/^mlflow-artifacts:\/\d+$/);
    expect(run.info.experimentId).toBe(experiment?.experimentId);

    const rm = await client.getRegisteredModel(MODEL);
    expect(rm.name).toBe(MODEL);
    expect(rm.latestVersions.map((v) => v.version)).toEqual(['2']);

    const updated = await client.updateRegisteredModel({ name: MODEL, description: 'points per game' });
    expect(updated.description).toBe('points per game');

    const search = await client.searchRegisteredModels({ filter: `name='${MODEL}'` });
    expect(search.registeredModels.map((m) => [m.name, m.description])).toEqual([[MODEL, 'points per game']]);

    const versions = await client.searchModelVersions(`name='${MODEL}'`);
    expect(versions.modelVersions.map((v) => v.version).sort()).toEqual(['1', '2']);
    const paged = await client.searchModelVersions({ filter: `name='${MODEL}'`, maxResults: 1, orderBy: ['version_number DESC'] });
    expect(paged.modelVersions.map((v) => v.version)).toEqual(['2']);
    expect(paged.nextPageToken).toBeTruthy();
  });

  it("downloads each version's ONNX bytes (sha256 equal to the fixture)", async () => {
    const d1 = await client.downloadModelVersionArtifact(MODEL, '1');
    expect(d1.fileName).toBe('nba_points_v1.onnx');
    expect(sha256(d1.bytes)).toBe(sha256(V1));
    expect(d1.artifactUri).toMatch(/^mlflow-artifacts:\/\d+\/[0-9a-f]+\/artifacts\/model\/nba_points_v1\.onnx$/);
    const d2 = await client.downloadModelVersionArtifact(MODEL, '2', 'nba_points_v2.onnx');
    expect(sha256(d2.bytes)).toBe(sha256(V2));
    expect(await client.getModelVersionDownloadUri(MODEL, '2')).toBe(`runs:/${runIds[1]}/model`);
    await expect(client.downloadModelVersionArtifact(MODEL, '2', 'other.onnx')).rejects.toThrow(DomainError);
  });

  it('sets, moves, reads and deletes aliases; `latest` is reserved', async () => {
    await client.setRegisteredModelAlias({ name: MODEL, alias: 'production', version: '1' });
    await client.setRegisteredModelAlias({ name: MODEL, alias: 'staging', version: '2' });
    expect((await client.getRegisteredModel(MODEL)).aliases).toEqual({ production: '1', staging: '2' });
    expect((await client.getModelVersionByAlias(MODEL, 'production')).version).toBe('1');
    expect((await client.getModelVersion(MODEL, '2')).aliases).toEqual(['staging']);

    // Promotion = moving the alias.
    await client.setRegisteredModelAlias({ name: MODEL, alias: 'production', version: '2' });
    expect((await client.getModelVersionByAlias(MODEL, 'production')).version).toBe('2');
    expect((await client.getModelVersion(MODEL, '2')).aliases.sort()).toEqual(['production', 'staging']);

    await client.deleteRegisteredModelAlias({ name: MODEL, alias: 'staging' });
    expect((await client.getRegisteredModel(MODEL)).aliases).toEqual({ production: '2' });
    const gone = await mlflowError(client.getModelVersionByAlias(MODEL, 'staging'));
    expect(gone).toMatchObject({ endpoint: 'registered-models/alias', status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });

    const reserved = await mlflowError(client.setRegisteredModelAlias({ name: MODEL, alias: 'latest', version: '1' }));
    expect(reserved).toMatchObject({ endpoint: 'registered-models/alias', status: 400, errorCode: 'INVALID_PARAMETER_VALUE', retryable: false });
    expect(reserved.message).toMatch(/^MLflow registered-models\/alias: INVALID_PARAMETER_VALUE \(HTTP 400\): .*latest.*reserved/);
  });

  it('transitions stages, archiving the other versions', async () => {
    expect((await client.transitionModelVersionStage({ name: MODEL, version: '1', stage: 'Production', archiveExistingVersions: true })).currentStage).toBe(
      'Production',
    );
    const v2 = await client.transitionModelVersionStage({ name: MODEL, version: '2', stage: 'Production', archiveExistingVersions: true });
    expect(v2.currentStage).toBe('Production');
    expect((await client.getModelVersion(MODEL, '1')).currentStage).toBe('Archived');
    const latest = (await client.getRegisteredModel(MODEL)).latestVersions.map((v) => [v.version, v.currentStage]).sort();
    expect(latest).toEqual([
      ['1', 'Archived'],
      ['2', 'Production'],
    ]);
    const bad = await mlflowError(client.transitionModelVersionStage({ name: MODEL, version: '2', stage: 'Nope' as 'None', archiveExistingVersions: false }));
    expect(bad.errorCode).toBe('INVALID_PARAMETER_VALUE');
  });

  it('tags a version', async () => {
    await client.setModelVersionTag({ name: MODEL, version: '2', key: 'validated_by', value: 'mlops-mcp' });
    expect((await client.getModelVersion(MODEL, '2')).tags).toMatchObject({ validated_by: 'mlops-mcp', 'mlops-mcp.version': 'v2' });
    const found = await client.searchModelVersions(`name='${MODEL}' and tags.validated_by='mlops-mcp'`);
    expect(found.modelVersions.map((v) => v.version)).toEqual(['2']);
  });

  it('logs a run with metrics, params and tags through log-batch and reads it back', async () => {
    const experimentId = await client.createExperiment({ name: 'mlops-mcp-evaluations', tags: { owner: 'tests' } });
    expect(experimentId).toMatch(/^\d+$/);
    const run = await client.createRun({ experimentId, runName: 'eval-v2', tags: { model: MODEL } });
    expect(run.info).toMatchObject({ status: 'RUNNING', runName: 'eval-v2', experimentId });
    await client.logBatch({
      runId: run.info.runId,
      metrics: [
        { key: 'mae', value: 3.25, step: 0 },
        { key: 'mae', value: 3.5, step: 1 },
        { key: 'rmse', value: 4.5 },
      ],
      params: { model: MODEL, version: '2' },
      tags: { source: 'mlops-mcp' },
    });
    await client.logBatch({ runId: run.info.runId, metrics: { r2: 0.75 } });
    const info = await client.updateRun({ runId: run.info.runId, status: 'FINISHED', endTime: Date.now() });
    expect(info.status).toBe('FINISHED');

    const back = await client.getRun(run.info.runId);
    expect(back.info.status).toBe('FINISHED');
    const metrics = Object.fromEntries(back.data.metrics.map((m) => [m.key, m.value]));
    expect(metrics).toEqual({ mae: 3.5, rmse: 4.5, r2: 0.75 });
    expect(back.data.params).toEqual({ model: MODEL, version: '2' });
    expect(back.data.tags).toMatchObject({ source: 'mlops-mcp', model: MODEL, 'mlflow.runName': 'eval-v2' });

    const dup = await mlflowError(client.createExperiment({ name: 'mlops-mcp-evaluations' }));
    expect(dup.errorCode).toBe('RESOURCE_ALREADY_EXISTS');
  });

  it('get-by-name of a missing experiment is undefined', async () => {
    expect(await client.getExperimentByName('no-such-experiment')).toBeUndefined();
  });

  it('an unknown model is RESOURCE_DOES_NOT_EXIST naming the endpoint, and a 4xx is not retried', async () => {
    const { fetch: f, counter } = countingFetch();
    const counted = new MlflowClient({ trackingUri: server().uri, retries: 3, fetch: f });
    const e = await mlflowError(counted.getRegisteredModel('no_such_model'));
    expect(e).toMatchObject({ endpoint: 'registered-models/get', status: 404, errorCode: 'RESOURCE_DOES_NOT_EXIST', retryable: false, attempts: 1 });
    expect(e.message).toContain('registered-models/get');
    expect(e.message).toContain('RESOURCE_DOES_NOT_EXIST');
    expect(counter.calls).toBe(1);
    await expect(counted.getModelVersion(MODEL, '99')).rejects.toMatchObject({ errorCode: 'RESOURCE_DOES_NOT_EXIST' });
    expect(counter.calls).toBe(2);
  });

  it('finds and downloads a model logged by mlflow.onnx.log_model (a directory source)', async () => {
    const name = 'python_logged_onnx';
    const out = await runMlflowPython(
      [
        'import hashlib, json, sys',
        'import mlflow, onnx',
        'mlflow.set_tracking_uri(sys.argv[1])',
        "mlflow.set_experiment('python-logged')",
        'model = onnx.load(sys.argv[2])',
        'with mlflow.start_run() as run:',
        "    info = mlflow.onnx.log_model(model, name='model', registered_model_name=sys.argv[3])",
        "print('RESULT ' + json.dumps({'run_id': run.info.run_id, 'model_uri': info.model_uri, 'version': str(info.registered_model_version), 'sha256': hashlib.sha256(model.SerializeToString()).hexdigest()}))",
      ].join('\n'),
      [server().uri, fixture('nba_points_v1.onnx'), name],
    );
    const line = out.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line, out).toBeDefined();
    const logged = JSON.parse(line!.slice('RESULT '.length)) as { run_id: string; model_uri: string; version: string; sha256: string };

    const { modelVersions } = await client.searchModelVersions(`name='${name}'`);
    expect(modelVersions.map((v) => v.version)).toEqual([logged.version]);
    expect(modelVersions[0]).toMatchObject({ runId: logged.run_id, source: logged.model_uri, status: 'READY' });
    expect(logged.model_uri).toMatch(/^models:\/m-[0-9a-f]+$/);
    expect(await client.getModelVersionDownloadUri(name, logged.version)).toMatch(/^mlflow-artifacts:\/\d+\/models\/m-[0-9a-f]+\/artifacts$/);

    const d = await client.downloadModelVersionArtifact(name, logged.version);
    expect(d.fileName).toBe('model.onnx');
    expect(sha256(d.bytes)).toBe(logged.sha256);
    const mlmodel = await client.downloadModelVersionArtifact(name, logged.version, 'MLmodel');
    expect(mlmodel.bytes.toString('utf8')).toContain('onnx');
    // The logged model's own URI resolves too (logged-models/get).
    expect(sha256(await client.downloadArtifact(`${logged.model_uri}/model.onnx`))).toBe(logged.sha256);
  }, 120_000);

  it('restarts on the same port with the same data', async () => {
    const s = server();
    await s.stop();
    const down = countingFetch();
    const offline = new MlflowClient({ trackingUri: s.uri, retries: 1, timeoutMs: 1_000, fetch: down.fetch });
    expect(await offline.health()).toBe(false);
    await expect(offline.getRegisteredModel(MODEL)).rejects.toMatchObject({ errorCode: 'CONNECTION_ERROR', retryable: true });
    await s.start();
    console.info(`[mlflow] restart healthy after ${(s.startMs / 1000).toFixed(1)} s`);
    expect((await client.getModelVersionByAlias(MODEL, 'production')).version).toBe('2');
    expect(sha256((await client.downloadModelVersionArtifact(MODEL, '1')).bytes)).toBe(sha256(V1));
  }, 150_000);
});

describe('MlflowClient retries and errors (no server needed)', () => {
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  it('retries connection errors, then fails with CONNECTION_ERROR', async () => {
    const port = await freePort(); // closed: nothing listens there
    const { fetch: f, counter } = countingFetch();
    const client = new MlflowClient({ trackingUri: `http://127.0.0.1:${port}`, retries: 2, timeoutMs: 500, fetch: f });
    const t0 = performance.now();
    const e = await mlflowError(client.getRegisteredModel('m'));
    expect(counter.calls).toBe(3);
    expect(e).toMatchObject({ endpoint: 'registered-models/get', status: undefined, errorCode: 'CONNECTION_ERROR', retryable: true, attempts: 3 });
    expect(e.message).toMatch(/^MLflow registered-models\/get: CONNECTION_ERROR after 3 attempts: .*ECONNREFUSED/);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(550); // backoff 200 + 400 ms
  });

  it('retries timeouts', async () => {
    const hang = countingFetch(
      (_n, init) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error));
        }),
    );
    const client = new MlflowClient({ trackingUri: 'http://127.0.0.1:9', retries: 1, timeoutMs: 100, fetch: hang.fetch });
    const e = await mlflowError(client.getRun('r'));
    expect(hang.counter.calls).toBe(2);
    expect(e).toMatchObject({ endpoint: 'runs/get', errorCode: 'TIMEOUT', retryable: true, attempts: 2 });
  });

  it('retries 5xx until an answer comes, and never a 4xx', async () => {
    const flaky = countingFetch(async (n) =>
      n < 3 ? json(503, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'busy' }) : json(200, { experiment_id: '7' }),
    );
    const client = new MlflowClient({ trackingUri: 'http://mlflow.test/', retries: 3, fetch: flaky.fetch });
    expect(await client.createExperiment({ name: 'x' })).toBe('7');
    expect(flaky.counter.calls).toBe(3);

    const down = countingFetch(async () => new Response('<html>bad gateway</html>', { status: 502 }));
    const e = await mlflowError(new MlflowClient({ trackingUri: 'http://mlflow.test', retries: 2, fetch: down.fetch }).getRun('r'));
    expect(down.counter.calls).toBe(3);
    expect(e).toMatchObject({ status: 502, errorCode: 'HTTP_502', retryable: true });

    for (const status of [400, 403, 404, 429]) {
      const four = countingFetch(async () => json(status, { error_code: 'SOME_CODE', message: 'no' }));
      const err = await mlflowError(new MlflowClient({ trackingUri: 'http://mlflow.test', retries: 3, fetch: four.fetch }).getRun('r'));
      expect(four.counter.calls).toBe(1);
      expect(err).toMatchObject({ status, errorCode: 'SOME_CODE', retryable: false, attempts: 1 });
    }
  });

  it('sends GET as query parameters and DELETE alias as a JSON body', async () => {
    const seen: Array<{ url: string; method?: string; body?: unknown; type?: string | null }> = [];
    const f = (async (input: string | URL | Request, init?: RequestInit) => {
      seen.push({
        url: input instanceof Request ? input.url : input.toString(),
        method: init?.method,
        body: init?.body,
        type: new Headers(init?.headers).get('content-type'),
      });
      return json(200, {});
    }) as typeof fetch;
    const client = new MlflowClient({ trackingUri: 'http://mlflow.test/prefix/', fetch: f });
    await client.searchModelVersions({ filter: "name='a b'", orderBy: ['version_number DESC', 'name'], maxResults: 5 });
    await client.deleteRegisteredModelAlias({ name: 'm', alias: 'production' });
    expect(seen[0]).toMatchObject({ method: 'GET', body: undefined });
    const url = new URL(seen[0].url);
    expect(url.pathname).toBe('/prefix/api/2.0/mlflow/model-versions/search');
    expect(url.searchParams.get('filter')).toBe("name='a b'");
    expect(url.searchParams.getAll('order_by')).toEqual(['version_number DESC', 'name']);
    expect(url.searchParams.get('max_results')).toBe('5');
    expect(seen[1]).toMatchObject({ method: 'DELETE', type: 'application/json', url: 'http://mlflow.test/prefix/api/2.0/mlflow/registered-models/alias' });
    expect(JSON.parse(seen[1].body as string)).toEqual({ name: 'm', alias: 'production' });
  });

  it('keeps error messages short and rejects malformed responses', async () => {
    const long = countingFetch(async () => json(400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'x'.repeat(5_000) }));
    const e = await mlflowError(new MlflowClient({ trackingUri: 'http://mlflow.test', fetch: long.fetch }).getRun('r'));
    expect(e.message.length).toBeLessThan(400);
    const bad = countingFetch(async () => json(200, { run: { info: {} } }));
    const e2 = await mlflowError(new MlflowClient({ trackingUri: 'http://mlflow.test', fetch: bad.fetch }).getRun('r'));
    expect(e2).toMatchObject({ endpoint: 'runs/get', errorCode: 'INVALID_RESPONSE' });
    expect(bad.counter.calls).toBe(1);
  });
});
