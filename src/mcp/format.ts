import type { Alert, AlertDraft } from '../monitoring/alert-types.js';
import type { StageChangeOutcome } from '../registry/registry.js';
import type { AuditEntry, ModelVersion } from '../registry/types.js';
import { outputDecision } from '../serving/outputs.js';

/** Domain objects in the snake_case shape of the output schemas, and their one-line texts. */

export const TEXT_LIMIT = 20_000;

/** Milliseconds as answers give them: to the microsecond. */
export const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function versionSummaryOut(v: ModelVersion) {
  return {
    name: v.name,
    version: v.version,
    stage: v.stage,
    created_at: v.createdAt,
    updated_at: v.updatedAt,
    description: v.description,
    metrics: v.metrics,
    tags: v.tags,
  };
}

export function versionDetailOut(v: ModelVersion) {
  return {
    ...versionSummaryOut(v),
    artifact_sha256: v.artifactSha256,
    artifact_bytes: v.artifactBytes,
    signature: signatureOut(v),
    feature_names: v.featureNames,
  };
}

function signatureOut(v: ModelVersion) {
  const s = v.signature;
  const decided = outputDecision(s);
  return {
    inputs: s.inputs,
    outputs: s.outputs,
    class_labels: s.classLabels ?? null,
    task: decided.task,
    scores: decided.scores,
    target_names: decided.targetNames,
    serving: s.serving
      ? {
          sha256: s.serving.sha256,
          bytes: s.serving.bytes,
          derivation: s.serving.derivation.map((d) =>
            d.kind === 'external_data_inlined'
              ? { kind: d.kind, source_sha256: d.sourceSha256, source_bytes: d.sourceBytes, files: d.files }
              : { kind: d.kind, output: d.output, tensor: d.tensor },
          ),
        }
      : null,
  };
}

/** What registration decided about a version's outputs, in a sentence. */
export function outputsText(v: ModelVersion): string {
  const d = outputDecision(v.signature);
  const labels = v.signature.classLabels?.length ? ` (class labels ${listed(v.signature.classLabels)})` : '';
  if (d.task === 'classification') {
    if (!d.scores) return `classifier${labels}: labels only, no probabilities`;
    const how =
      d.scores.kind === 'logits' ? `probabilities by softmax of the logits in output "${d.scores.output}"` : `probabilities from output "${d.scores.output}"`;
    return `classifier${labels}: ${how}`;
  }
  const value = v.signature.outputs.find((o) => o.type !== 'non-tensor');
  const k = value?.shape?.length === 2 && typeof value.shape[1] === 'number' ? value.shape[1] : 1;
  return k > 1 ? `regressor: ${k} values per row${d.targetNames ? ` (targets ${listed(d.targetNames)})` : ''}` : 'regressor: one value per row';
}

/** How the graph served was derived from the given file, in a sentence; null when the artifact is served as is. */
export function servingText(v: ModelVersion): string | null {
  const serving = v.signature.serving;
  if (!serving) return null;
  const steps = serving.derivation.map((d) =>
    d.kind === 'external_data_inlined'
      ? `external data inlined from ${d.files.map((f) => `${f.location} (${f.bytes} bytes)`).join(', ')} (the .onnx file given: sha256 ${d.sourceSha256.slice(0, 12)}, ${d.sourceBytes} bytes)`
      : `ZipMap output "${d.output}" answered as its probability tensor "${d.tensor}"`,
  );
  const derived = serving.sha256 === v.artifactSha256 ? '' : ` served as a derived graph (sha256 ${serving.sha256.slice(0, 12)}, ${serving.bytes} bytes)`;
  return `${steps.join('; ')}${derived ? `;${derived}` : ''}`;
}

const listed = (names: readonly string[]) => (names.length > 8 ? `${names.slice(0, 8).join(', ')}, …` : names.join(', '));

export function auditOut(e: AuditEntry) {
  return {
    id: e.id,
    name: e.name,
    version: e.version,
    action: e.action,
    from_stage: e.fromStage,
    to_stage: e.toStage,
    actor: e.actor,
    actor_name: typeof e.details?.actor_name === 'string' ? e.details.actor_name : null,
    reason: e.reason,
    approved_by: typeof e.details?.approved_by === 'string' ? e.details.approved_by : null,
    approver_reason: typeof e.details?.approver_reason === 'string' ? e.details.approver_reason : null,
    details: e.details,
    created_at: e.createdAt,
  };
}

export const alertDraftOut = (a: AlertDraft) => ({ type: a.type, severity: a.severity, name: a.name, version: a.version, message: a.message });
export const alertOut = (a: Alert) => ({ ...alertDraftOut(a), id: a.id, created_at: a.createdAt });

export function stageChangeOut(o: StageChangeOutcome) {
  return {
    name: o.name,
    dry_run: o.dryRun,
    action: o.action,
    changes: o.changes,
    production_before: o.productionBefore,
    production_after: o.productionAfter,
    stages_after: o.stagesAfter,
    alerts: o.alerts.map(alertDraftOut),
  };
}

/** The stage moves of a change (or, for a dry run, that it would make): also the text of an approval request. */
export function stageMovesText(o: StageChangeOutcome, verb: string): string {
  if (!o.changes.length) return `${o.name}: nothing to change (${o.stagesAfter.map((s) => `${s.version} ${s.stage}`).join(', ')}).`;
  const moves = o.changes.map((c) => `${c.version} ${c.from} → ${c.to}`).join('; ');
  const head = o.dryRun ? `${verb} of ${o.name} would move: ${moves}.` : `${verb} of ${o.name} done: ${moves}.`;
  return `${head} Production ${o.dryRun ? 'would be' : 'is now'} ${o.productionAfter ?? 'none'} (was ${o.productionBefore ?? 'none'}).`;
}

export function stageChangeText(o: StageChangeOutcome, verb: string): string {
  return o.dryRun && o.changes.length ? `Dry run, nothing changed. ${stageMovesText(o, verb)}` : stageMovesText(o, verb);
}

/** A detail as text: a string or number as it is, anything else as JSON, a missing one as `missing`. */
export const detailText = (v: unknown, missing = ''): string =>
  v === undefined || v === null ? missing : typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v);

/** What an audit entry did, in a few words: the stage move, the weights, or the refusal. */
export function auditWhat(e: AuditEntry): string {
  if (e.fromStage || e.toStage) return `${e.version ?? ''} ${e.fromStage ?? '∅'} → ${e.toStage ?? '∅'}`.trim();
  const d = e.details ?? {};
  if (e.action === 'configure_traffic') return `weights ${JSON.stringify(d.before ?? null)} → ${JSON.stringify(d.after ?? null)}`;
  if (e.action === 'refused') return `${detailText(d.tool)} refused (${detailText(d.outcome)})`;
  if (e.action === 'set_drift_reference') return `${e.version ?? 'model-wide'} reference, ${detailText(d.rows, '?')} rows`;
  return e.version ?? '';
}

export function auditLine(e: AuditEntry): string {
  const d = e.details ?? {};
  const approved =
    typeof d.approved_by === 'string' ? `, approved by ${d.approved_by}${typeof d.approver_reason === 'string' ? ` ("${d.approver_reason}")` : ''}` : '';
  return `${e.createdAt} ${e.action} ${auditWhat(e)} by ${actorText(e)}${e.reason ? ` — ${e.reason}` : ''}${approved}`;
}

/** The actor as people read it: the identifier, and the display name beside it when one was recorded. */
export const actorText = (e: AuditEntry) => (typeof e.details?.actor_name === 'string' ? `${e.actor} (${e.details.actor_name})` : e.actor);

/** Keeps a text answer within `limit` characters, cut at a line; the structured content carries everything. */
export function boundText(text: string, more = 'the full answer is in structuredContent; page with limit and cursor', limit = TEXT_LIMIT): string {
  if (text.length <= limit) return text;
  const room = limit - 200;
  const cut = text.lastIndexOf('\n', room);
  const at = cut > 0 ? cut : room;
  return `${text.slice(0, at)}\n… (${text.length - at} more characters: ${more})`;
}
