/**
 * zod schemas for the MLflow 3.17 REST responses this project reads, and the camelCase types
 * they parse into. MLflow writes protobuf JSON: int64 fields come as numbers from this server,
 * but strings are accepted too (the protobuf JSON mapping allows both); empty repeated fields
 * and empty strings are often omitted, hence the defaults. Unknown fields are dropped.
 */
import { z } from 'zod';

const int64 = z.union([z.number(), z.string()]).transform((v) => Number(v));
/** Doubles: protobuf JSON writes NaN and ±Infinity as strings. */
const double = z.union([z.number(), z.string()]).transform((v) => Number(v));

const keyValues = z
  .array(z.object({ key: z.string(), value: z.string().default('') }))
  .default([])
  .transform((kvs) => Object.fromEntries(kvs.map((kv) => [kv.key, kv.value])) as Record<string, string>);

export const modelVersionSchema = z
  .object({
    name: z.string(),
    version: z.string(),
    creation_timestamp: int64.optional(),
    last_updated_timestamp: int64.optional(),
    user_id: z.string().optional(),
    current_stage: z.string().default('None'),
    description: z.string().default(''),
    source: z.string().default(''),
    run_id: z.string().optional(),
    status: z.string().default('READY'),
    status_message: z.string().optional(),
    tags: keyValues,
    run_link: z.string().optional(),
    aliases: z.array(z.string()).default([]),
  })
  .transform((v) => ({
    name: v.name,
    version: v.version,
    creationTimestamp: v.creation_timestamp ?? 0,
    lastUpdatedTimestamp: v.last_updated_timestamp ?? 0,
    userId: v.user_id || undefined,
    /** `None`, `Staging`, `Production` or `Archived` (stages are deprecated in MLflow 3 but still served). */
    currentStage: v.current_stage,
    description: v.description,
    source: v.source,
    runId: v.run_id || undefined,
    /** `READY`, `PENDING_REGISTRATION` or `FAILED_REGISTRATION`. */
    status: v.status,
    statusMessage: v.status_message || undefined,
    tags: v.tags,
    aliases: v.aliases,
  }));
export type MlflowModelVersion = z.output<typeof modelVersionSchema>;

export const registeredModelSchema = z
  .object({
    name: z.string(),
    creation_timestamp: int64.optional(),
    last_updated_timestamp: int64.optional(),
    user_id: z.string().optional(),
    description: z.string().default(''),
    latest_versions: z.array(modelVersionSchema).default([]),
    tags: keyValues,
    aliases: z.array(z.object({ alias: z.string(), version: z.string() })).default([]),
  })
  .transform((m) => ({
    name: m.name,
    creationTimestamp: m.creation_timestamp ?? 0,
    lastUpdatedTimestamp: m.last_updated_timestamp ?? 0,
    userId: m.user_id || undefined,
    description: m.description,
    /** The latest version per stage (MLflow's `latest_versions`). */
    latestVersions: m.latest_versions,
    tags: m.tags,
    /** alias → version. */
    aliases: Object.fromEntries(m.aliases.map((a) => [a.alias, a.version])),
  }));
export type MlflowRegisteredModel = z.output<typeof registeredModelSchema>;

export const experimentSchema = z
  .object({
    experiment_id: z.string(),
    name: z.string(),
    artifact_location: z.string().default(''),
    lifecycle_stage: z.string().default('active'),
    last_update_time: int64.optional(),
    creation_time: int64.optional(),
    tags: keyValues,
  })
  .transform((e) => ({
    experimentId: e.experiment_id,
    name: e.name,
    artifactLocation: e.artifact_location,
    lifecycleStage: e.lifecycle_stage,
    creationTime: e.creation_time,
    lastUpdateTime: e.last_update_time,
    tags: e.tags,
  }));
export type MlflowExperiment = z.output<typeof experimentSchema>;

export const runInfoSchema = z
  .object({
    run_id: z.string().optional(),
    run_uuid: z.string().optional(),
    experiment_id: z.string(),
    run_name: z.string().default(''),
    user_id: z.string().optional(),
    status: z.string().default('RUNNING'),
    start_time: int64.optional(),
    end_time: int64.optional(),
    artifact_uri: z.string().default(''),
    lifecycle_stage: z.string().default('active'),
  })
  .refine((i) => Boolean(i.run_id ?? i.run_uuid), { message: 'run_info without run_id' })
  .transform((i) => ({
    runId: (i.run_id ?? i.run_uuid) as string,
    experimentId: i.experiment_id,
    runName: i.run_name,
    userId: i.user_id || undefined,
    /** `RUNNING`, `SCHEDULED`, `FINISHED`, `FAILED` or `KILLED`. */
    status: i.status,
    startTime: i.start_time,
    endTime: i.end_time,
    /** `mlflow-artifacts:/<experiment>/<run>/artifacts` on a server started with `--artifacts-destination`. */
    artifactUri: i.artifact_uri,
    lifecycleStage: i.lifecycle_stage,
  }));
export type MlflowRunInfo = z.output<typeof runInfoSchema>;

const metricSchema = z.object({
  key: z.string(),
  value: double,
  timestamp: int64.default(0),
  step: int64.default(0),
});
export type MlflowMetric = z.output<typeof metricSchema>;

export const runSchema = z
  .object({
    info: runInfoSchema,
    data: z.object({ metrics: z.array(metricSchema).default([]), params: keyValues, tags: keyValues }).prefault({}),
  })
  .transform((r) => ({
    info: r.info,
    data: {
      /** The latest value of each metric. */
      metrics: r.data.metrics,
      params: r.data.params,
      tags: r.data.tags,
    },
  }));
export type MlflowRun = z.output<typeof runSchema>;

export const loggedModelSchema = z.object({
  info: z.object({ model_id: z.string(), artifact_uri: z.string(), experiment_id: z.string().optional() }),
});

export const fileInfoSchema = z
  .object({ path: z.string(), is_dir: z.boolean().default(false), file_size: int64.optional() })
  .transform((f) => ({ path: f.path, isDir: f.is_dir, fileSize: f.file_size }));
export type MlflowFileInfo = z.output<typeof fileInfoSchema>;

export const responses = {
  registeredModel: z.object({ registered_model: registeredModelSchema }),
  searchRegisteredModels: z.object({
    registered_models: z.array(registeredModelSchema).default([]),
    next_page_token: z.string().optional(),
  }),
  modelVersion: z.object({ model_version: modelVersionSchema }),
  searchModelVersions: z.object({
    model_versions: z.array(modelVersionSchema).default([]),
    next_page_token: z.string().optional(),
  }),
  downloadUri: z.object({ artifact_uri: z.string() }),
  experiment: z.object({ experiment: experimentSchema }),
  createExperiment: z.object({ experiment_id: z.string() }),
  run: z.object({ run: runSchema }),
  searchRuns: z.object({ runs: z.array(runSchema).default([]), next_page_token: z.string().optional() }),
  updateRun: z.object({ run_info: runInfoSchema }),
  loggedModel: z.object({ model: loggedModelSchema }),
  listArtifacts: z.object({ files: z.array(fileInfoSchema).default([]) }),
  empty: z.object({}),
  error: z.object({ error_code: z.string().optional(), message: z.string().optional() }),
};
