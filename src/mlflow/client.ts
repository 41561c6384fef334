/**
 * A thin typed client for the REST API of an MLflow 3.17 tracking server and model registry
 * (`/api/2.0/mlflow/...`, plus the proxied artifact routes `/api/2.0/mlflow-artifacts/...`).
 *
 * Hand-written on Node's global `fetch` rather than an npm package: `mlflow-js-client` does not
 * exist in the npm registry, and the `mlflow` npm package (2.0.7, 2019) wraps experiments,
 * runs and artifacts only, has no model-registry endpoints, and calls endpoints MLflow 2
 * removed. Domain code: no MCP types here.
 *
 * Conventions of the API (checked against MLflow 3.17.2, see docs/mlflow.md):
 * - GET takes query parameters; POST/PATCH/DELETE a JSON body (DELETE registered-models/alias too).
 * - Versions are strings; int64 timestamps come as JSON numbers.
 * - Errors are JSON `{error_code, message}` with a 4xx/5xx status; `/health` answers plain `OK`.
 * - The server checks the Host header (`--allowed-hosts`); the default allow-list covers
 *   `localhost`, `127.0.0.1` and private addresses on any port, so a server on 127.0.0.1 with a
 *   random port needs no flag.
 *
 * Every request has a timeout (AbortSignal.timeout, body included) and is retried with
 * exponential backoff only on HTTP 5xx and connection errors (refused, reset, timeout), never on
 * 4xx. A retried POST whose first attempt reached the server may apply twice (e.g. two model
 * versions): MLflow has no idempotency keys.
 */
import { DomainError } from '../errors.js';
import {
  responses,
  type MlflowExperiment,
  type MlflowFileInfo,
  type MlflowModelVersion,
  type MlflowRegisteredModel,
  type MlflowRun,
  type MlflowRunInfo,
} from './schemas.js';
import { isMlflowError, MlflowError, MlflowTransport, type MlflowClientOptions } from './transport.js';

export { isMlflowError, MlflowError, type MlflowClientOptions, type TransportErrorCode } from './transport.js';
export type { MlflowExperiment, MlflowFileInfo, MlflowMetric, MlflowModelVersion, MlflowRegisteredModel, MlflowRun, MlflowRunInfo } from './schemas.js';

export type MlflowStage = 'None' | 'Staging' | 'Production' | 'Archived';
export type MlflowRunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface MetricInput {
  key: string;
  value: number;
  /** Milliseconds since the epoch; default now. */
  timestamp?: number;
  step?: number;
}

export interface SearchOptions {
  filter?: string;
  maxResults?: number;
  orderBy?: string[];
  pageToken?: string;
}

export interface DownloadedArtifact {
  bytes: Buffer;
  /** The file's name inside the version's artifacts. */
  fileName: string;
  /** The artifact URI the bytes came from, e.g. `mlflow-artifacts:/1/<run>/artifacts/model/x.onnx`. */
  artifactUri: string;
}

// runs/log-batch limits (MLflow): 1000 metrics, 100 params, 100 tags, 1000 entities per request.
const BATCH_METRICS = 1000;
const BATCH_PARAMS = 100;
const BATCH_TAGS = 100;

const kv = (record: Record<string, string> | undefined) => Object.entries(record ?? {}).map(([key, value]) => ({ key, value: String(value) }));

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const encodePath = (p: string) => p.split('/').filter(Boolean).map(encodeURIComponent).join('/');

/** `mlflow-artifacts:/1/abc/artifacts` or `mlflow-artifacts://host:port/1/abc/artifacts` → `1/abc/artifacts`. */
function mlflowArtifactsPath(uri: string): string | undefined {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(uri);
  if (m) return (m[1] ?? '').replace(/\/+$/, '');
  // An http(s) artifact root pointing at a server's proxied artifact route.
  const h = /^https?:\/\/[^/]+(?:\/.*)?\/api\/2\.0\/mlflow-artifacts\/artifacts\/?(.*)$/.exec(uri);
  return h ? (h[1] ?? '').replace(/\/+$/, '') : undefined;
}

function assertFileName(fileName: string): void {
  if (!fileName || fileName.includes('/') || fileName.includes('\\') || fileName === '.' || fileName === '..') {
    throw new DomainError('invalid_argument', `fileName must be a plain file name, got ${JSON.stringify(fileName)}`);
  }
}

export class MlflowClient {
  readonly trackingUri: string;
  private readonly http: MlflowTransport;

  constructor(options: MlflowClientOptions) {
    this.http = new MlflowTransport(options);
    this.trackingUri = this.http.trackingUri;
  }

  // ---------------------------------------------------------------- health

  /** `GET /health` answers `OK`: one attempt, never throws. */
  health(): Promise<boolean> {
    return this.http.health();
  }

  // ---------------------------------------------------------------- registered models

  async createRegisteredModel(input: { name: string; description?: string; tags?: Record<string, string> }): Promise<MlflowRegisteredModel> {
    const r = await this.http.api('POST', 'registered-models/create', responses.registeredModel, {
      json: { name: input.name, description: input.description, tags: kv(input.tags) },
    });
    return r.registered_model;
  }

  async getRegisteredModel(name: string): Promise<MlflowRegisteredModel> {
    const r = await this.http.api('GET', 'registered-models/get', responses.registeredModel, { query: { name } });
    return r.registered_model;
  }

  async searchRegisteredModels(options: SearchOptions = {}): Promise<{ registeredModels: MlflowRegisteredModel[]; nextPageToken?: string }> {
    const r = await this.http.api('GET', 'registered-models/search', responses.searchRegisteredModels, {
      query: { filter: options.filter, max_results: options.maxResults, order_by: options.orderBy, page_token: options.pageToken },
    });
    return { registeredModels: r.registered_models, nextPageToken: r.next_page_token || undefined };
  }

  async updateRegisteredModel(input: { name: string; description: string }): Promise<MlflowRegisteredModel> {
    const r = await this.http.api('PATCH', 'registered-models/update', responses.registeredModel, { json: input });
    return r.registered_model;
  }

  // ---------------------------------------------------------------- model versions

  /**
   * `source` must be something MLflow accepts: `runs:/<run_id>/<path>` with `runId` works;
   * local paths, `file://`, `mlflow-artifacts:/` (unless under the run) and `https://` are refused.
   */
  async createModelVersion(input: {
    name: string;
    source: string;
    runId?: string;
    description?: string;
    tags?: Record<string, string>;
  }): Promise<MlflowModelVersion> {
    const r = await this.http.api('POST', 'model-versions/create', responses.modelVersion, {
      json: { name: input.name, source: input.source, run_id: input.runId, description: input.description, tags: kv(input.tags) },
    });
    return r.model_version;
  }

  async getModelVersion(name: string, version: string): Promise<MlflowModelVersion> {
    const r = await this.http.api('GET', 'model-versions/get', responses.modelVersion, { query: { name, version } });
    return r.model_version;
  }

  /** `filter` like `name='nba_points'` (a string is the filter alone). */
  async searchModelVersions(filter: string | SearchOptions = {}): Promise<{ modelVersions: MlflowModelVersion[]; nextPageToken?: string }> {
    const o: SearchOptions = typeof filter === 'string' ? { filter } : filter;
    const r = await this.http.api('GET', 'model-versions/search', responses.searchModelVersions, {
      query: { filter: o.filter, max_results: o.maxResults, order_by: o.orderBy, page_token: o.pageToken },
    });
    return { modelVersions: r.model_versions, nextPageToken: r.next_page_token || undefined };
  }

  /** Stages are deprecated in MLflow 3 (aliases replace them) but still served. */
  async transitionModelVersionStage(input: {
    name: string;
    version: string;
    stage: MlflowStage;
    archiveExistingVersions: boolean;
  }): Promise<MlflowModelVersion> {
    const r = await this.http.api('POST', 'model-versions/transition-stage', responses.modelVersion, {
      json: { name: input.name, version: input.version, stage: input.stage, archive_existing_versions: input.archiveExistingVersions },
    });
    return r.model_version;
  }

  /** Points `alias` at `version` (moving it if set). `latest` is reserved: INVALID_PARAMETER_VALUE. */
  async setRegisteredModelAlias(input: { name: string; alias: string; version: string }): Promise<void> {
    await this.http.api('POST', 'registered-models/alias', responses.empty, { json: input });
  }

  async deleteRegisteredModelAlias(input: { name: string; alias: string }): Promise<void> {
    await this.http.api('DELETE', 'registered-models/alias', responses.empty, { json: input });
  }

  /** A missing alias is INVALID_PARAMETER_VALUE (HTTP 400) in MLflow 3.17, not RESOURCE_DOES_NOT_EXIST. */
  async getModelVersionByAlias(name: string, alias: string): Promise<MlflowModelVersion> {
    const r = await this.http.api('GET', 'registered-models/alias', responses.modelVersion, { query: { name, alias } });
    return r.model_version;
  }

  async setModelVersionTag(input: { name: string; version: string; key: string; value: string }): Promise<void> {
    await this.http.api('POST', 'model-versions/set-tag', responses.empty, { json: input });
  }

  /** `runs:/<run_id>/<path>` for versions registered from a run, `mlflow-artifacts:/…` for logged models. */
  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    const r = await this.http.api('GET', 'model-versions/get-download-uri', responses.downloadUri, { query: { name, version } });
    return r.artifact_uri;
  }

  // ---------------------------------------------------------------- experiments

  /** undefined when no experiment has that name (RESOURCE_DOES_NOT_EXIST). */
  async getExperimentByName(name: string): Promise<MlflowExperiment | undefined> {
    try {
      const r = await this.http.api('GET', 'experiments/get-by-name', responses.experiment, { query: { experiment_name: name } });
      return r.experiment;
    } catch (e) {
      if (isMlflowError(e) && e.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw e;
    }
  }

  /** Returns the new experiment's id. */
  async createExperiment(input: { name: string; artifactLocation?: string; tags?: Record<string, string> }): Promise<string> {
    const r = await this.http.api('POST', 'experiments/create', responses.createExperiment, {
      json: { name: input.name, artifact_location: input.artifactLocation, tags: kv(input.tags) },
    });
    return r.experiment_id;
  }

  /** The id of the experiment with that name, created if missing (a concurrent creation is tolerated). */
  async getOrCreateExperiment(name: string): Promise<string> {
    const found = await this.getExperimentByName(name);
    if (found) return found.experimentId;
    try {
      return await this.createExperiment({ name });
    } catch (e) {
      if (isMlflowError(e) && e.errorCode === 'RESOURCE_ALREADY_EXISTS') {
        const again = await this.getExperimentByName(name);
        if (again) return again.experimentId;
      }
      throw e;
    }
  }

  // ---------------------------------------------------------------- runs

  async createRun(input: { experimentId: string; runName?: string; startTime?: number; tags?: Record<string, string> }): Promise<MlflowRun> {
    const r = await this.http.api('POST', 'runs/create', responses.run, {
      json: { experiment_id: input.experimentId, run_name: input.runName, start_time: input.startTime ?? Date.now(), tags: kv(input.tags) },
    });
    return r.run;
  }

  /** Runs of some experiments matching an MLflow filter (`tags.\`key\` = 'value'`, …), newest first by default. */
  async searchRuns(input: { experimentIds: string[]; filter?: string; maxResults?: number }): Promise<MlflowRun[]> {
    const r = await this.http.api('POST', 'runs/search', responses.searchRuns, {
      json: { experiment_ids: input.experimentIds, filter: input.filter, max_results: input.maxResults },
    });
    return r.runs;
  }

  async getRun(runId: string): Promise<MlflowRun> {
    const r = await this.http.api('GET', 'runs/get', responses.run, { query: { run_id: runId } });
    return r.run;
  }

  /** Metrics, params and tags in one call (split into several when over MLflow's per-request limits). */
  async logBatch(input: {
    runId: string;
    metrics?: MetricInput[] | Record<string, number>;
    params?: Record<string, string>;
    tags?: Record<string, string>;
  }): Promise<void> {
    const now = Date.now();
    const metricList: MetricInput[] = Array.isArray(input.metrics)
      ? input.metrics
      : Object.entries(input.metrics ?? {}).map(([key, value]) => ({ key, value }));
    const metrics = metricList.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp ?? now, step: m.step ?? 0 }));
    const params = kv(input.params);
    const tags = kv(input.tags);
    if (metrics.length <= BATCH_METRICS && params.length <= BATCH_PARAMS && tags.length <= BATCH_TAGS && metrics.length + params.length + tags.length <= 1000) {
      await this.http.api('POST', 'runs/log-batch', responses.empty, { json: { run_id: input.runId, metrics, params, tags } });
      return;
    }
    for (const p of chunks(params, BATCH_PARAMS)) await this.http.api('POST', 'runs/log-batch', responses.empty, { json: { run_id: input.runId, params: p } });
    for (const t of chunks(tags, BATCH_TAGS)) await this.http.api('POST', 'runs/log-batch', responses.empty, { json: { run_id: input.runId, tags: t } });
    for (const m of chunks(metrics, BATCH_METRICS))
      await this.http.api('POST', 'runs/log-batch', responses.empty, { json: { run_id: input.runId, metrics: m } });
  }

  async updateRun(input: { runId: string; status?: MlflowRunStatus; endTime?: number; runName?: string }): Promise<MlflowRunInfo> {
    const r = await this.http.api('POST', 'runs/update', responses.updateRun, {
      json: { run_id: input.runId, status: input.status, end_time: input.endTime, run_name: input.runName },
    });
    return r.run_info;
  }

  // ---------------------------------------------------------------- artifacts (proxied through the server)

  /** Uploads `bytes` to `<run artifacts>/<path>` with `PUT /api/2.0/mlflow-artifacts/artifacts/…`. */
  async uploadArtifact(runId: string, path: string, bytes: Uint8Array): Promise<void> {
    const run = await this.getRun(runId);
    const root = this.proxiedPath(run.info.artifactUri, 'runs/get');
    const rel = `${root}/${encodePath(path)}`;
    await this.http.request(
      { method: 'PUT', url: `${this.trackingUri}/api/2.0/mlflow-artifacts/artifacts/${rel}`, endpoint: `mlflow-artifacts/artifacts/${rel}`, bytes },
      'json',
    );
  }

  /** Lists a directory given as `runs:/…`, `models:/m-…` or `mlflow-artifacts:/…` (basenames; empty for a file or a missing path). */
  async listArtifacts(artifactUri: string): Promise<MlflowFileInfo[]> {
    const rel = await this.resolveArtifactPath(artifactUri);
    const body = await this.http.request(
      { method: 'GET', url: `${this.trackingUri}/api/2.0/mlflow-artifacts/artifacts`, endpoint: 'mlflow-artifacts/artifacts', query: { path: rel } },
      'json',
    );
    return this.http.parse(responses.listArtifacts, body, 'mlflow-artifacts/artifacts').files;
  }

  /** Downloads one artifact file given as `runs:/…`, `models:/m-…` or `mlflow-artifacts:/…`. */
  async downloadArtifact(artifactUri: string): Promise<Buffer> {
    const rel = await this.resolveArtifactPath(artifactUri);
    const url = `${this.trackingUri}/api/2.0/mlflow-artifacts/artifacts/${encodePath(rel)}`;
    return (await this.http.request({ method: 'GET', url, endpoint: `mlflow-artifacts/artifacts/${rel}` }, 'bytes')) as Buffer;
  }

  /**
   * The bytes of a version's model file: resolves `get-download-uri` (`runs:/…` through `runs/get`,
   * `models:/m-…` through `logged-models/get`), then, when the source is a directory (as for
   * models logged with `mlflow.onnx.log_model`), picks `fileName` or else the single `.onnx` file in it.
   */
  async downloadModelVersionArtifact(name: string, version: string, fileName?: string): Promise<DownloadedArtifact> {
    if (fileName !== undefined) assertFileName(fileName);
    const source = await this.getModelVersionDownloadUri(name, version);
    const root = `mlflow-artifacts:/${await this.resolveArtifactPath(source)}`;
    const files = await this.listArtifacts(root);
    if (files.length === 0) {
      // Not a directory (or an empty/missing one): the source is the file itself.
      const base = root.slice(root.lastIndexOf('/') + 1);
      if (fileName !== undefined && fileName !== base) {
        throw new DomainError('not_found', `model ${name} version ${version}: no file ${fileName} under ${source}`);
      }
      return { bytes: await this.downloadArtifact(root), fileName: base, artifactUri: root };
    }
    let pick: string;
    if (fileName !== undefined) {
      const hit = files.find((f) => !f.isDir && f.path === fileName);
      if (!hit) {
        throw new DomainError('not_found', `model ${name} version ${version}: no file ${fileName} under ${source} (found ${listNames(files)})`);
      }
      pick = hit.path;
    } else {
      const onnx = files.filter((f) => !f.isDir && f.path.toLowerCase().endsWith('.onnx'));
      if (onnx.length !== 1) {
        throw new DomainError(
          onnx.length === 0 ? 'not_found' : 'invalid_argument',
          `model ${name} version ${version}: expected one .onnx file under ${source}, found ${onnx.length} (${listNames(files)}); pass fileName`,
        );
      }
      pick = onnx[0].path;
    }
    const artifactUri = `${root}/${pick}`;
    return { bytes: await this.downloadArtifact(artifactUri), fileName: pick, artifactUri };
  }

  // ---------------------------------------------------------------- registry helper

  /**
   * Registers an ONNX file as a new version of `name` the way MLflow accepts it: the experiment is
   * fetched or created, a run is created, the file is uploaded to the run's artifacts as
   * `model/<fileName>`, the registered model is created if missing, the version is created from
   * `runs:/<run_id>/model` with `run_id`, and the run is ended (FINISHED, or FAILED on error).
   */
  async registerOnnxVersion(input: {
    name: string;
    onnxBytes: Uint8Array;
    fileName: string;
    description?: string;
    tags?: Record<string, string>;
    experimentName: string;
  }): Promise<{ version: string; runId: string }> {
    assertFileName(input.fileName);
    const experimentId = await this.getOrCreateExperiment(input.experimentName);
    const run = await this.createRun({ experimentId, tags: { 'mlops-mcp.registered_model': input.name } });
    const runId = run.info.runId;
    try {
      await this.uploadArtifact(runId, `model/${input.fileName}`, input.onnxBytes);
      try {
        await this.createRegisteredModel({ name: input.name });
      } catch (e) {
        if (!(isMlflowError(e) && e.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw e;
      }
      const mv = await this.createModelVersion({
        name: input.name,
        source: `runs:/${runId}/model`,
        runId,
        description: input.description,
        tags: input.tags,
      });
      await this.updateRun({ runId, status: 'FINISHED', endTime: Date.now() });
      return { version: mv.version, runId };
    } catch (e) {
      await this.updateRun({ runId, status: 'FAILED', endTime: Date.now() }).catch(() => undefined);
      throw e;
    }
  }

  /** `runs:/…`, `models:/m-…` or `mlflow-artifacts:/…` → path under `/api/2.0/mlflow-artifacts/artifacts/`. */
  private async resolveArtifactPath(uri: string): Promise<string> {
    const runs = /^runs:\/+([^/]+)\/?(.*)$/.exec(uri);
    if (runs) {
      const run = await this.getRun(runs[1]);
      const root = this.proxiedPath(run.info.artifactUri, 'runs/get');
      const sub = (runs[2] ?? '').replace(/\/+$/, '');
      return sub ? `${root}/${sub}` : root;
    }
    const logged = /^models:\/+(m-[0-9a-f]+)\/?(.*)$/.exec(uri);
    if (logged) {
      const r = await this.http.api('GET', `logged-models/${logged[1]}`, responses.loggedModel);
      const root = this.proxiedPath(r.model.info.artifact_uri, 'logged-models/get');
      const sub = (logged[2] ?? '').replace(/\/+$/, '');
      return sub ? `${root}/${sub}` : root;
    }
    return this.proxiedPath(uri, 'artifacts');
  }

  private proxiedPath(uri: string, endpoint: string): string {
    const p = mlflowArtifactsPath(uri);
    if (p === undefined) {
      throw new MlflowError(
        endpoint,
        undefined,
        'UNSUPPORTED_ARTIFACT_URI',
        `artifact URI ${uri} is not served through the tracking server (start it with --artifacts-destination / --serve-artifacts)`,
        false,
        1,
      );
    }
    return p;
  }
}

function listNames(files: MlflowFileInfo[]): string {
  const names = files.map((f) => (f.isDir ? `${f.path}/` : f.path));
  return names.length > 10 ? `${names.slice(0, 10).join(', ')}, …` : names.join(', ');
}
