import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { DomainError, notFound } from '../errors.js';
import { openAllowedFile, type AllowedFile } from '../files.js';
import { decodeCursor, page } from '../paging.js';
import type { ModelChecker } from '../serving/model-check.js';
import { isMlflowError, type MlflowClient } from '../mlflow/client.js';
import type { MlflowLink } from '../mlflow/ports.js';
import type { ArtifactStore } from './artifacts.js';
import type { RegistryStore } from './ports.js';
import { commitIntake, discardIntake, takeIn, type Intake } from './intake.js';
import {
  NAME_PATTERN,
  checkNewVersionLabel,
  findVersion,
  nextVersionLabel,
  planArchive,
  planPromotion,
  planRollback,
  resolveFeatureNames,
  type PromoteArgs,
} from './rules.js';
import type { Actor, AuditEntry, ModelState, ModelTask, ModelVersion, ScoreKind, Stage, StagePlan, VersionLabel } from './types.js';

export interface RegisterInput {
  name: string;
  /** A local ONNX file under the allowed directories … */
  artifactPath?: string | undefined;
  /** … or an MLflow model version to import: models:/<name>/<version> or models:/<name>@<alias>. */
  mlflowModelUri?: string | undefined;
  version?: string | undefined;
  description?: string | undefined;
  metrics?: Record<string, number> | undefined;
  tags?: Record<string, string> | undefined;
  featureNames?: string[] | undefined;
  /** What the model predicts, when its graph does not say (a network without a classifier node). */
  task?: ModelTask | undefined;
  /** What a classifier's score output holds, when its graph does not say. */
  output?: ScoreKind | undefined;
}

export interface StageChangeOutcome extends StagePlan {
  name: string;
  dryRun: boolean;
  /** Every version's stage after the change (for a dry run: after it would be made). */
  stagesAfter: Array<{ version: string; stage: Stage }>;
  /** Stages before the change, for the versions it touches. */
  productionBefore: string | null;
  productionAfter: string | null;
}

export interface WriteOptions {
  dryRun?: boolean | undefined;
}

export interface StageChangeOptions extends WriteOptions {
  /**
   * Called with the plan inside the write's transaction, before anything is written; throws to
   * refuse it (the MCP layer checks that the change is the one it assessed and had approved).
   */
  check?: ((plan: StagePlan) => void) | undefined;
}

export interface ListQuery {
  name?: string | undefined;
  stage?: Stage | undefined;
  olderThanDays?: number | undefined;
  limit: number;
  cursor?: string | undefined;
}

const versionCursor = z.object({ name: z.string(), seq: z.number().int() });
const historyCursor = z.object({ id: z.number().int() });

export interface RegistryDeps {
  store: RegistryStore;
  /** For imports with mlflow_model_uri (MLFLOW_TRACKING_URI set). */
  mlflow?: MlflowClient | null | undefined;
  artifacts: ArtifactStore;
  /** Loads and runs a model within the time and memory limits, away from the server (see ModelChecks). */
  checker: ModelChecker;
  allowedDirs: readonly string[];
  /** Largest model made self-contained from external data (default: 2047 MiB, the protobuf limit). */
  maxModelBytes?: number | undefined;
  now?: () => Date;
}

const DEFAULT_MAX_MODEL_BYTES = 2047 * 1024 * 1024;

/** The model registry: versions, stages and their audit trail, after MLflow's. */
export class ModelRegistry {
  private readonly now: () => Date;

  constructor(private readonly deps: RegistryDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Copies the ONNX file into the artifact store, proves onnxruntime loads and runs it within the
   * time and memory limits (in a model check process), reads its signature and records the
   * version (stage `none`). A dry run does all the checks and answers the version that would be
   * created, keeping nothing.
   */
  async register(input: RegisterInput, who: Actor, options: WriteOptions = {}): Promise<{ version: ModelVersion; dryRun: boolean }> {
    checkName('name', input.name);
    if (input.version !== undefined) checkName('version', input.version);
    if ((input.artifactPath === undefined) === (input.mlflowModelUri === undefined)) {
      throw new DomainError(
        'invalid_argument',
        'give exactly one of artifact_path (a local .onnx file) and mlflow_model_uri (models:/<name>/<version> or models:/<name>@<alias>).',
      );
    }
    const existing = await this.deps.store.versionLabels(input.name);
    if (input.version !== undefined) checkNewVersionLabel(input.name, existing, input.version);

    let source: string;
    let displayName: string;
    let link: MlflowLink | undefined;
    let imported: string | undefined;
    let opened: AllowedFile | undefined;
    if (input.mlflowModelUri !== undefined) {
      const fetched = await this.fetchFromMlflow(input.mlflowModelUri);
      ({ link, file: imported } = fetched);
      source = imported;
      displayName = `mlflow_model_uri "${input.mlflowModelUri}"`;
    } else {
      opened = await openAllowedFile('artifact_path', input.artifactPath as string, this.deps.allowedDirs);
      source = opened.path;
      displayName = `artifact_path "${input.artifactPath}"`;
    }

    const staged = await this.deps.artifacts
      .stage(opened?.handle ?? source)
      .finally(() => (imported ? fs.rm(imported, { force: true }) : opened?.handle.close()));
    let intake: Intake | undefined;
    try {
      const deps = { artifacts: this.deps.artifacts, checker: this.deps.checker, maxModelBytes: this.deps.maxModelBytes ?? DEFAULT_MAX_MODEL_BYTES };
      intake = await takeIn(staged, opened ? { realPath: opened.path } : null, deps, displayName, { task: input.task, output: input.output });
      const { artifact, inspection } = intake;
      const featureNames = resolveFeatureNames(inspection.signature, input.featureNames, inspection.metadataFeatureNames);
      const draft = (versions: readonly VersionLabel[]) => {
        if (input.version !== undefined) checkNewVersionLabel(input.name, versions, input.version);
        return {
          name: input.name,
          version: input.version ?? nextVersionLabel(versions),
          artifactSha256: artifact.sha256,
          artifactBytes: artifact.bytes,
          sourcePath: input.mlflowModelUri ?? source,
          signature: inspection.signature,
          featureNames,
          metrics: input.metrics ?? {},
          tags: input.tags ?? {},
          description: input.description ?? '',
        };
      };
      if (options.dryRun) {
        const now = this.now().toISOString();
        const wouldBe = draft(existing);
        const seq = existing.reduce((m, v) => Math.max(m, v.seq), 0) + 1;
        return { version: { ...wouldBe, seq, stage: 'none', createdAt: now, updatedAt: now }, dryRun: true };
      }
      // The files are in place before the row that names them is written.
      await commitIntake(intake, this.deps.artifacts);
      const version = await this.deps.store.registerVersion(input.name, draft, who, link);
      return { version, dryRun: false };
    } finally {
      await discardIntake(staged, intake, this.deps.artifacts);
    }
  }

  /** Downloads an MLflow model version's ONNX file into the artifact store's temp area. */
  private async fetchFromMlflow(uri: string): Promise<{ file: string; link: MlflowLink }> {
    const client = this.deps.mlflow;
    if (!client) {
      throw new DomainError(
        'failed_precondition',
        'mlflow_model_uri needs an MLflow server: start mlops-mcp with MLFLOW_TRACKING_URI set, or register a local file with artifact_path.',
      );
    }
    const m = /^models:\/([A-Za-z0-9][A-Za-z0-9._ -]{0,255})(?:\/(\d+)|@([A-Za-z0-9_-]{1,255}))$/.exec(uri);
    if (!m) throw new DomainError('invalid_argument', `mlflow_model_uri "${uri.slice(0, 100)}" is not models:/<name>/<version> or models:/<name>@<alias>.`);
    const [, mlflowName, numbered, alias] = m;
    try {
      const version = numbered ?? (await client.getModelVersionByAlias(mlflowName, alias)).version;
      const artifact = await client.downloadModelVersionArtifact(mlflowName, version);
      const mv = await client.getModelVersion(mlflowName, version);
      const dir = path.join(this.deps.artifacts.dir, 'tmp');
      await fs.mkdir(dir, { recursive: true });
      const file = path.join(dir, `import-${randomUUID()}.onnx`);
      await fs.writeFile(file, artifact.bytes);
      return { file, link: { mlflowName, mlflowVersion: version, runId: mv.runId ?? null } };
    } catch (e) {
      if (isMlflowError(e)) {
        const what =
          e.errorCode === 'RESOURCE_DOES_NOT_EXIST' || e.errorCode === 'INVALID_PARAMETER_VALUE'
            ? 'does not exist in MLflow (check the name, version or alias)'
            : `could not be fetched from MLflow (${e.message})`;
        throw new DomainError(
          e.errorCode === 'RESOURCE_DOES_NOT_EXIST' || e.errorCode === 'INVALID_PARAMETER_VALUE' ? 'not_found' : 'failed_precondition',
          `mlflow_model_uri "${uri}" ${what}.`,
        );
      }
      throw e;
    }
  }

  async list(query: ListQuery): Promise<{ versions: ModelVersion[]; nextCursor: string | null }> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, versionCursor);
    const createdBefore = query.olderThanDays === undefined ? undefined : new Date(this.now().getTime() - query.olderThanDays * 86_400_000).toISOString();
    const rows = await this.deps.store.listVersions({ name: query.name, stage: query.stage, createdBefore, after, limit: query.limit + 1 });
    const { items, nextCursor } = page(rows, query.limit, (v) => ({ name: v.name, seq: v.seq }));
    return { versions: items, nextCursor };
  }

  /** One version, chosen by label or by stage (default: production, else the newest). */
  async get(name: string, select: { version?: string | undefined; stage?: Stage | undefined }): Promise<ModelVersion> {
    const state = await this.requireModel(name);
    if (select.version !== undefined && select.stage !== undefined) {
      throw new DomainError('invalid_argument', 'Give version or stage, not both.');
    }
    if (select.version !== undefined) return findVersion(state, select.version);
    if (select.stage !== undefined) {
      const inStage = state.versions.filter((v) => v.stage === select.stage);
      if (!inStage.length) {
        const stages = state.versions.map((v) => `${v.version}: ${v.stage}`).join(', ');
        throw notFound(`${name} has no version in stage "${select.stage}" (${stages}). Ask for a version instead, or promote one.`);
      }
      return inStage[inStage.length - 1];
    }
    return state.versions.find((v) => v.stage === 'production') ?? state.versions[state.versions.length - 1];
  }

  async history(
    name: string,
    options: { limit: number; cursor?: string | undefined; actor?: string | undefined; since?: string | undefined },
  ): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
    await this.requireModel(name);
    const beforeId = options.cursor === undefined ? undefined : decodeCursor(options.cursor, historyCursor).id;
    if (options.since !== undefined && Number.isNaN(Date.parse(options.since))) {
      throw new DomainError('invalid_argument', `since "${options.since.slice(0, 40)}" is not a date; use ISO 8601, e.g. 2026-11-01T00:00:00Z.`);
    }
    const since = options.since === undefined ? undefined : new Date(options.since).toISOString();
    const rows = await this.deps.store.history(name, { beforeId, limit: options.limit + 1, actor: options.actor, since });
    const { items, nextCursor } = page(rows, options.limit, (e) => ({ id: e.id }));
    return { entries: items, nextCursor };
  }

  async promote(name: string, args: PromoteArgs, who: Actor, options: StageChangeOptions = {}): Promise<StageChangeOutcome> {
    return this.changeStages(name, (s) => planPromotion(s, args), who, options);
  }

  async rollback(name: string, args: { toVersion?: string | undefined }, who: Actor, options: StageChangeOptions = {}): Promise<StageChangeOutcome> {
    return this.changeStages(name, (s) => planRollback(s, args), who, options);
  }

  async archive(name: string, args: { version: string; force: boolean }, who: Actor, options: StageChangeOptions = {}): Promise<StageChangeOutcome> {
    return this.changeStages(name, (s) => planArchive(s, args), who, options);
  }

  async modelNames(): Promise<string[]> {
    return this.deps.store.modelNames();
  }

  async modelState(name: string): Promise<ModelState> {
    return this.requireModel(name);
  }

  private async changeStages(name: string, plan: (s: ModelState) => StagePlan, who: Actor, options: StageChangeOptions): Promise<StageChangeOutcome> {
    // A dry run plans on a snapshot; a real change plans inside its transaction, on the state
    // there, which it answers with the plan.
    const checked = (s: ModelState) => {
      const p = plan(s);
      options.check?.(p);
      return p;
    };
    let before: ModelState;
    let decided: StagePlan;
    if (options.dryRun) {
      before = await this.requireModel(name);
      decided = plan(before);
    } else {
      const done = await this.deps.store.changeStages(name, checked, who);
      if (!done) throw noSuchModel(name);
      ({ before, plan: decided } = done);
    }
    const after = applyPlan(before, decided);
    return {
      ...decided,
      name,
      dryRun: Boolean(options.dryRun),
      stagesAfter: after.versions.map((v) => ({ version: v.version, stage: v.stage })),
      productionBefore: productionOf(before),
      productionAfter: productionOf(after),
    };
  }

  private async requireModel(name: string): Promise<ModelState> {
    const state = await this.deps.store.modelState(name);
    if (!state) throw noSuchModel(name);
    return state;
  }
}

const noSuchModel = (name: string) => notFound(`No model named "${name}" is registered.`, [{ kind: 'list_models' }, { kind: 'register_model' }]);

function checkName(argument: string, value: string): void {
  if (!NAME_PATTERN.test(value)) {
    throw new DomainError(
      'invalid_argument',
      `${argument} "${value.slice(0, 64)}" is not allowed: use 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit.`,
    );
  }
}

function applyPlan(state: ModelState, plan: StagePlan): ModelState {
  const to = new Map(plan.changes.map((c) => [c.version, c.to] as const));
  return { ...state, versions: state.versions.map((v) => ({ ...v, stage: to.get(v.version) ?? v.stage })) };
}

const productionOf = (s: ModelState) => s.versions.find((v) => v.stage === 'production')?.version ?? null;
