import type { Logger } from '../logger.js';
import type { DriftRun } from '../monitoring/drift-types.js';
import type { ArtifactStore } from '../registry/artifacts.js';
import type { DriftStore } from '../monitoring/ports.js';
import { fieldValue, STATISTICS } from '../monitoring/statistics/index.js';
import type { RegistryStore } from '../registry/ports.js';
import type { Stage } from '../registry/types.js';
import { weightOf } from '../serving/traffic.js';
import { isMlflowError, type MlflowClient, type MlflowStage } from './client.js';
import type { Leadership, MlflowLink, OutboxEntry, OutboxStore } from './ports.js';

const MLFLOW_STAGE: Record<Stage, MlflowStage> = { none: 'None', staging: 'Staging', production: 'Production', archived: 'Archived' };
/** Stages shown in MLflow as aliases (`models:/<name>@production`); MLflow deprecates stages for them. */
const ALIAS: Partial<Record<Stage, string>> = { production: 'production', staging: 'staging' };
const TAG = 'mlops_mcp';

export interface SyncStatus {
  pending: number;
  oldestPendingAgeS: number | null;
  lastError: string | null;
  lastPushAt: string | null;
  pushed: number;
  /** Whether this server pushes the outbox (else another server sharing the database does). */
  leader: boolean;
}

/**
 * Pushes the MLflow outbox: the changes recorded with each local transaction, oldest first,
 * one at a time. A failure stops the round (the same change is retried next round), so
 * nothing is lost or reordered while MLflow is down. Registrations are found again by their
 * tag, so one pushed just before a crash is not registered twice; stage, alias and tag pushes
 * set absolute values, so repeating them is harmless.
 */
export class MlflowSync {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private pushed = 0;
  private lastPushAt: string | null = null;
  private leading = false;

  constructor(
    private readonly deps: {
      outbox: OutboxStore;
      /** Only the server that leads pushes (one at a time, in order, across servers). */
      leader: Leadership;
      registry: Pick<RegistryStore, 'getVersion'>;
      drift: Pick<DriftStore, 'getRun'>;
      artifacts: ArtifactStore;
      client: MlflowClient;
      logger: Logger;
      intervalMs: number;
    },
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.syncNow().catch(() => undefined), this.deps.intervalMs).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** Pushes what is pending now; concurrent calls share one round. Answers how many changes were pushed. */
  syncNow(): Promise<number> {
    this.running ??= this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async status(): Promise<SyncStatus> {
    this.leading = await this.deps.leader.holds();
    const s = await this.deps.outbox.stats();
    return {
      pending: s.pending,
      oldestPendingAgeS: s.oldestCreatedAt ? Math.round((Date.now() - Date.parse(s.oldestCreatedAt)) / 1000) : null,
      lastError: s.lastError,
      lastPushAt: this.lastPushAt,
      pushed: this.pushed,
      leader: this.leading,
    };
  }

  private async round(): Promise<number> {
    this.leading = await this.deps.leader.holds();
    if (!this.leading) return 0;
    let done = 0;
    for (;;) {
      const batch = await this.deps.outbox.peek(50);
      if (!batch.length) return done;
      for (const entry of batch) {
        try {
          const link = await this.push(entry);
          await this.deps.outbox.done(entry.id, link);
          done++;
          this.pushed++;
          this.lastPushAt = new Date().toISOString();
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          await this.deps.outbox.failed(entry.id, message);
          this.deps.logger.warn({ err: message, outbox: entry.id, kind: entry.kind }, 'MLflow push failed; will retry');
          throw e;
        }
      }
    }
  }

  private async push(entry: OutboxEntry): Promise<({ name: string; version: string } & MlflowLink) | undefined> {
    switch (entry.kind) {
      case 'register': {
        const version = String(entry.payload.version);
        const link = await this.ensureRegistered(entry.name, version);
        return { name: entry.name, version, ...link };
      }
      case 'stage':
        await this.pushStage(entry);
        return undefined;
      case 'traffic':
        await this.pushTraffic(entry);
        return undefined;
      case 'drift_run':
        await this.pushDriftRun(String(entry.payload.runId));
        return undefined;
    }
  }

  /** The MLflow version of one of ours, registering it first if it is not there yet (found again by its tag after a crash). */
  private async ensureRegistered(name: string, version: string): Promise<MlflowLink> {
    const known = await this.deps.outbox.link(name, version);
    if (known) return known;
    const { client, registry, outbox, artifacts } = this.deps;
    const existing = await client.searchModelVersions({ filter: `name = '${name}'`, maxResults: 1000 }).catch((e: unknown) => {
      if (isMlflowError(e) && e.errorCode === 'RESOURCE_DOES_NOT_EXIST') return { modelVersions: [] };
      throw e;
    });
    const found = existing.modelVersions.find((mv) => mv.tags[`${TAG}.version`] === version);
    let link: MlflowLink;
    if (found) {
      link = { mlflowName: name, mlflowVersion: found.version, runId: found.runId ?? null };
    } else {
      const v = await registry.getVersion(name, version);
      if (!v) throw new Error(`version ${name} ${version} is not in the registry`);
      const bytes = await artifacts.read(v.artifactSha256);
      const created = await client.registerOnnxVersion({
        name,
        onnxBytes: bytes,
        fileName: `${name}-${version}.onnx`,
        description: v.description,
        experimentName: `mlops-mcp/registry/${name}`,
        tags: {
          [`${TAG}.version`]: version,
          [`${TAG}.sha256`]: v.artifactSha256,
          [`${TAG}.signature`]: JSON.stringify(v.signature).slice(0, 5000),
          ...(v.featureNames ? { [`${TAG}.feature_names`]: JSON.stringify(v.featureNames).slice(0, 5000) } : {}),
          ...Object.fromEntries(Object.entries(v.metrics).map(([k, m]) => [`${TAG}.metric.${k}`, String(m)])),
        },
      });
      if (Object.keys(v.metrics).length) await client.logBatch({ runId: created.runId, metrics: v.metrics });
      link = { mlflowName: name, mlflowVersion: created.version, runId: created.runId };
    }
    await outbox.setLink(name, version, link);
    return link;
  }

  private async pushStage(entry: OutboxEntry): Promise<void> {
    const { client } = this.deps;
    const p = entry.payload as { version: string; from: Stage; to: Stage; action: string; actor: string; reason: string | null };
    const link = await this.ensureRegistered(entry.name, p.version);
    const target = { name: link.mlflowName, version: link.mlflowVersion };
    await client.transitionModelVersionStage({ ...target, stage: MLFLOW_STAGE[p.to], archiveExistingVersions: false });
    const alias = ALIAS[p.to];
    if (alias) await client.setRegisteredModelAlias({ name: link.mlflowName, alias, version: link.mlflowVersion });
    const oldAlias = ALIAS[p.from];
    if (oldAlias && oldAlias !== alias) {
      // Only if it still points here: a later change may already have moved it.
      const current = await client.getModelVersionByAlias(link.mlflowName, oldAlias).catch(() => undefined);
      if (current?.version === link.mlflowVersion) await client.deleteRegisteredModelAlias({ name: link.mlflowName, alias: oldAlias });
    }
    const tags: Record<string, string> = { [`${TAG}.stage`]: p.to, [`${TAG}.last_action`]: `${p.action} ${p.from} → ${p.to} by ${p.actor}` };
    if (p.reason) tags[`${TAG}.reason`] = p.reason.slice(0, 5000);
    for (const [key, value] of Object.entries(tags)) await client.setModelVersionTag({ ...target, key, value });
  }

  private async pushTraffic(entry: OutboxEntry): Promise<void> {
    const p = entry.payload as { weights: Record<string, number> | null; before?: Record<string, number> | null };
    const versions = new Set([...Object.keys(p.weights ?? {}), ...Object.keys(p.before ?? {})]);
    for (const version of versions) {
      const link = await this.ensureRegistered(entry.name, version);
      const weight = weightOf(p.weights, version);
      await this.deps.client.setModelVersionTag({ name: link.mlflowName, version: link.mlflowVersion, key: `${TAG}.traffic_weight`, value: String(weight) });
    }
  }

  private async pushDriftRun(runId: string): Promise<void> {
    const run: DriftRun | undefined = await this.deps.drift.getRun(runId);
    if (!run) return; // nothing to log (cannot happen: runs are never deleted)
    const { client } = this.deps;
    const experimentId = await client.getOrCreateExperiment(`mlops-mcp/drift/${run.name}`);
    // MLflow runs have no idempotency key: the run is found again by its drift_run_id tag, so a
    // push retried after a crash (between creating the run and deleting the outbox entry) neither
    // logs a second run nor, when the first push finished, logs anything again.
    const [earlier] = await client.searchRuns({ experimentIds: [experimentId], filter: `tags.\`${TAG}.drift_run_id\` = '${run.id}'`, maxResults: 1 });
    if (earlier?.info.status === 'FINISHED') return;
    const mlflowRunId =
      earlier?.info.runId ??
      (
        await client.createRun({
          experimentId,
          runName: `drift-${run.id.slice(0, 8)}`,
          startTime: Date.parse(run.createdAt),
          tags: { [`${TAG}.drift_run_id`]: run.id },
        })
      ).info.runId;
    const metrics: Record<string, number> = { drifted_share: run.driftedShare };
    for (const f of run.features) {
      metrics[`p_value.${f.feature}`] = f.pValueAdjusted;
      for (const s of STATISTICS) {
        for (const [field, prefix] of Object.entries(s.mlflow)) {
          const value = fieldValue(f, field);
          // A run stored before a statistic was added has no value for it: nothing is logged.
          if (typeof value === 'number') metrics[`${prefix}.${f.feature}`] = value;
        }
      }
    }
    await client.logBatch({
      runId: mlflowRunId,
      metrics,
      params: {
        threshold: String(run.threshold),
        correction: run.correction,
        dataset_drift_share: String(run.datasetDriftShare),
        reference: run.referenceVersion ?? 'model-wide',
        source: run.source.slice(0, 500),
      },
      tags: {
        [`${TAG}.dataset_drift`]: String(run.datasetDrift),
        [`${TAG}.drifted_features`]:
          run.features
            .filter((f) => f.driftDetected)
            .map((f) => f.feature)
            .join(',') || 'none',
        [`${TAG}.model`]: run.name,
        ...(run.version ? { [`${TAG}.version`]: run.version } : {}),
      },
    });
    await client.updateRun({ runId: mlflowRunId, status: 'FINISHED', endTime: Date.parse(run.createdAt) + 1 });
  }
}
