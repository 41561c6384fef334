import { DomainError, failedPrecondition, notFound } from '../errors.js';
import type { AlertDraft } from '../monitoring/alert-types.js';
import { weightOf } from '../serving/traffic.js';
import type { ModelSignature, ModelState, ModelVersion, StageChange, StagePlan, VersionLabel } from './types.js';

/**
 * The registry's rules as pure functions of a model's state. The store runs them inside the
 * transaction that applies their plan; a dry run runs them on a snapshot and applies nothing.
 */

/** Names and version labels: safe in file paths, URIs and MLflow. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function findVersion(state: ModelState, version: string): ModelVersion {
  const found = state.versions.find((v) => v.version === version);
  if (!found) {
    const known = state.versions.map((v) => v.version).join(', ') || 'none';
    throw notFound(`Model "${state.name}" has no version "${version}" (versions: ${known}).`, [{ kind: 'show_model', name: state.name }]);
  }
  return found;
}

/** The artifact onnxruntime loads for a version: the graph derived for serving, else the registered one. */
export const servedArtifact = (v: ModelVersion): { sha256: string; bytes: number } =>
  v.signature.serving ?? { sha256: v.artifactSha256, bytes: v.artifactBytes };

export function productionVersion(state: ModelState): ModelVersion | undefined {
  return state.versions.find((v) => v.stage === 'production');
}

/** `v<n>` for the n-th registration, skipping labels users already took. */
export function nextVersionLabel(existing: readonly VersionLabel[]): string {
  const taken = new Set(existing.map((v) => v.version));
  let n = existing.reduce((m, v) => Math.max(m, v.seq), 0) + 1;
  while (taken.has(`v${n}`)) n++;
  return `v${n}`;
}

export function checkNewVersionLabel(name: string, existing: readonly VersionLabel[], version: string): void {
  if (existing.some((v) => v.version === version)) {
    throw new DomainError(
      'already_exists',
      `Model "${name}" already has a version "${version}". Choose another version label, or leave it out to get the next v<n>.`,
    );
  }
}

/**
 * How many numeric features the model takes, when its signature says: one input of shape
 * [batch, k], or k inputs of shape [batch, 1] (one per feature, as skl2onnx exports them).
 */
export function featureWidth(signature: ModelSignature): number | null {
  const { inputs } = signature;
  if (inputs.length === 1) {
    const shape = inputs[0].shape;
    const last = shape && shape.length === 2 ? shape[1] : undefined;
    return typeof last === 'number' ? last : null;
  }
  return inputs.every((i) => i.shape && i.shape.length === 2 && i.shape[1] === 1) ? inputs.length : null;
}

/** Feature names from the argument, else the ONNX metadata, else the input names of a one-input-per-feature model. */
export function resolveFeatureNames(signature: ModelSignature, given: string[] | undefined, fromMetadata: string[] | null): string[] | null {
  const names = given ?? fromMetadata ?? (signature.inputs.length > 1 ? signature.inputs.map((i) => i.name) : null);
  if (names === null) return null;
  const source = given ? 'feature_names' : "the model's feature_names metadata";
  const dupes = names.filter((n, i) => names.indexOf(n) !== i);
  if (dupes.length) throw new DomainError('invalid_argument', `${source} lists "${dupes[0]}" more than once; feature names must be unique.`);
  if (names.some((n) => n.trim() === '')) throw new DomainError('invalid_argument', `${source} contains an empty name.`);
  const width = featureWidth(signature);
  if (width !== null && width !== names.length) {
    throw new DomainError(
      'invalid_argument',
      `${source} has ${names.length} names but the model takes ${width} features (input ${signature.inputs.map((i) => `${i.name}${JSON.stringify(i.shape)}`).join(', ')}). Give exactly ${width} names in input order.`,
    );
  }
  return names;
}

export interface PromoteArgs {
  version: string;
  targetStage: 'staging' | 'production';
  archiveExisting: boolean;
}

export function planPromotion(state: ModelState, args: PromoteArgs): StagePlan {
  const target = findVersion(state, args.version);
  const changes: StageChange[] = [];
  if (target.stage === args.targetStage) return { action: 'promote', changes, alerts: [] };
  if (target.stage === 'production') {
    throw failedPrecondition(`${state.name} ${target.version} is in production; a promotion cannot move it down.`, [
      { kind: 'rollback', name: state.name },
      { kind: 'archive_with_force', name: state.name },
    ]);
  }
  const current = productionVersion(state);
  changes.push({ version: target.version, from: target.stage, to: args.targetStage });
  if (args.targetStage === 'production' && current) {
    changes.push({ version: current.version, from: 'production', to: args.archiveExisting ? 'archived' : 'staging' });
  }
  const displaced = changes[1] ? ` (${changes[1].version} moved to ${changes[1].to})` : '';
  // A new production version is a full rollout: an A/B split set before it ends.
  const clearTraffic = args.targetStage === 'production' && state.traffic !== null;
  const alerts: AlertDraft[] = [
    {
      type: 'model_promoted',
      severity: 'info',
      name: state.name,
      version: target.version,
      message: `${state.name} ${target.version} promoted from ${target.stage} to ${args.targetStage}${displaced}`,
      details: { changes },
    },
  ];
  return { action: 'promote', changes, alerts, clearTraffic };
}

export function planRollback(state: ModelState, args: { toVersion?: string | undefined }): StagePlan {
  const current = productionVersion(state);
  if (!current) {
    throw failedPrecondition(`${state.name} has no production version to roll back.`, [{ kind: 'promote', name: state.name }]);
  }
  let target: ModelVersion;
  if (args.toVersion !== undefined) {
    target = findVersion(state, args.toVersion);
  } else {
    // The version that was in production before the current one, as the audit trail has it.
    const previous = state.previousProduction;
    if (previous === null) {
      throw failedPrecondition(
        `${state.name} has had no other production version than ${current.version}, so there is nothing to roll back to. Pass to_version to choose one.`,
      );
    }
    target = findVersion(state, previous);
  }
  if (target.version === current.version) {
    throw failedPrecondition(`${state.name} ${target.version} is already the production version; choose another to_version.`);
  }
  const changes: StageChange[] = [
    { version: target.version, from: target.stage, to: 'production' },
    { version: current.version, from: 'production', to: 'archived' },
  ];
  const alerts: AlertDraft[] = [
    {
      type: 'model_rolled_back',
      severity: 'info',
      name: state.name,
      version: target.version,
      message: `${state.name} rolled back from ${current.version} to ${target.version}`,
      details: { changes },
    },
  ];
  return { action: 'rollback', changes, alerts, clearTraffic: state.traffic !== null };
}

export function planArchive(state: ModelState, args: { version: string; force: boolean }): StagePlan {
  const target = findVersion(state, args.version);
  if (target.stage === 'archived') return { action: 'archive', changes: [], alerts: [] };
  if (target.stage === 'production' && !args.force) {
    throw failedPrecondition(
      `${state.name} ${target.version} is the production version. Promote or roll back to another version first, or pass force: true to archive it and leave ${state.name} with no production version.`,
    );
  }
  const weight = weightOf(state.traffic?.weights, target.version);
  if (weight > 0 && !args.force) {
    throw failedPrecondition(
      `${state.name} ${target.version} takes ${Math.round(weight * 1000) / 10}% of the traffic; with force: true archiving it ends the split (all traffic then goes to production).`,
      [{ kind: 'move_traffic', name: state.name }],
    );
  }
  const changes: StageChange[] = [{ version: target.version, from: target.stage, to: 'archived' }];
  const alerts: AlertDraft[] =
    target.stage === 'production'
      ? [
          {
            type: 'model_archived',
            severity: 'warning',
            name: state.name,
            version: target.version,
            message: `${state.name} ${target.version} was archived while in production; ${state.name} has no production version now`,
            details: { changes },
          },
        ]
      : [];
  return { action: 'archive', changes, alerts, clearTraffic: weight > 0 || (target.stage === 'production' && state.traffic !== null) };
}
