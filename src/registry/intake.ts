import fs from 'node:fs/promises';
import { inspectOnnxModel, type OnnxInspection } from '../serving/inspect.js';
import type { ModelChecker } from '../serving/model-check.js';
import type { OutputHints } from '../serving/outputs.js';
import type { ArtifactStore, StagedArtifact } from './artifacts.js';
import { inlineExternalWeights, type ModelSource } from './external-data.js';
import type { DerivationStep, ServingArtifact } from './types.js';

/** A file given to register_model, made ready to serve and staged in the artifact store. */
export interface Intake {
  /** The registered artifact: the given file, or it with its external data inlined. */
  artifact: StagedArtifact;
  /** The graph served, when it is not the artifact (ZipMap outputs taken out). */
  served: StagedArtifact | null;
  inspection: OnnxInspection;
  /** What the version records of how its served graph was made; undefined when the given file is served as is. */
  serving: ServingArtifact | undefined;
}

export interface IntakeDeps {
  artifacts: ArtifactStore;
  /** Loads and runs the model within the time and memory limits, away from the server. */
  checker: ModelChecker;
  maxModelBytes: number;
}

/**
 * Takes a staged copy of the given file: inlines its external data (read beside `source`), proves
 * onnxruntime loads and runs it within the model limits, derives the graph served when its
 * probability output is a ZipMap, and stages what it made. On failure it discards what it
 * staged; `given` stays the caller's.
 */
export async function takeIn(given: StagedArtifact, source: ModelSource | null, deps: IntakeDeps, displayName: string, hints: OutputHints): Promise<Intake> {
  const made: StagedArtifact[] = [];
  try {
    const bytes = await fs.readFile(given.tempPath);
    const inlined = await inlineExternalWeights(bytes, source, deps.maxModelBytes, displayName, deps.checker);
    const artifact = inlined ? await deps.artifacts.stageBytes(inlined.bytes) : given;
    if (inlined) made.push(artifact);
    const inspection = await inspectOnnxModel(inlined?.bytes ?? bytes, deps.checker, displayName, hints);
    const served = inspection.derived ? await deps.artifacts.stageBytes(inspection.derived.bytes) : null;
    if (served) made.push(served);
    const derivation: DerivationStep[] = [
      ...(inlined ? [{ kind: 'external_data_inlined' as const, sourceSha256: given.sha256, sourceBytes: given.bytes, files: inlined.files }] : []),
      ...(inspection.derived?.zipMaps.map((z) => ({ kind: 'zipmap_removed' as const, output: z.output, tensor: z.tensor })) ?? []),
    ];
    const target = served ?? artifact;
    const serving = derivation.length ? { sha256: target.sha256, bytes: target.bytes, derivation } : undefined;
    return { artifact, served, inspection: { ...inspection, signature: { ...inspection.signature, ...(serving ? { serving } : {}) } }, serving };
  } catch (e) {
    for (const m of made) await deps.artifacts.discard(m);
    throw e;
  }
}

/** Moves the intake's files into place: the artifact, then the graph served (a version's row names both). */
export async function commitIntake(intake: Intake, artifacts: ArtifactStore): Promise<void> {
  await artifacts.commit(intake.artifact);
  if (intake.served) await artifacts.commit(intake.served);
}

/** Removes what is left of the temp files (a committed one was moved away: nothing to remove). */
export async function discardIntake(given: StagedArtifact, intake: Intake | undefined, artifacts: ArtifactStore): Promise<void> {
  for (const staged of new Set([given, intake?.artifact, intake?.served])) if (staged) await artifacts.discard(staged);
}
