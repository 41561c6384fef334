import { DomainError } from '../errors.js';
import type { ModelSignature, ModelTask, ModelVersion, ScoreKind, TensorSpec } from '../registry/types.js';
import type { WireTensor } from './model-wire.js';
import type { OnnxModelInfo } from './onnx-proto.js';

/** One row's answer: a value (a vector for a multi-target regressor) or a class label. */
export type PredictionValue = number | string | number[];

/** The whole batch's answer, column by column (compact for 10 000 rows). */
export interface BatchOutput {
  predictions: PredictionValue[];
  /** Per class label, one probability per row; null for a regressor. */
  probabilities: Record<string, number[]> | null;
}

/**
 * A row the model cannot be run on, or answered with a non-finite number: serving names the row
 * (its number in the caller's batch) in front of `detail`.
 */
export class RowValueError extends Error {
  constructor(
    readonly row: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** What register_model was told about the model's outputs. */
export interface OutputHints {
  task?: ModelTask | undefined;
  output?: ScoreKind | undefined;
}

export type OutputDecision = Required<Pick<ModelSignature, 'task' | 'scores' | 'targetNames'>>;

const isFloat = (o: TensorSpec) => o.type === 'float32' || o.type === 'float64';
const isNumeric = (o: TensorSpec) => isFloat(o) || o.type === 'int64' || o.type === 'int32';
const columns = (o: TensorSpec) => (o.shape?.length === 2 ? o.shape[1] : o.shape?.length === 1 ? 1 : null);
/** Ops whose output is a probability distribution already. */
const PROBABILITY_OPS = new Set(['Softmax', 'Sigmoid']);

/**
 * Reads a graph's outputs for what they are, at registration. A classifier is a graph whose
 * classifier node names class labels, or one registration calls a classifier (task, or output);
 * its score output holds probabilities unless registration says logits (a graph without labels
 * whose score output is not computed by Softmax or Sigmoid must say which). Anything else is a
 * regressor: a float [N, k] output is k values per row, named by the target_names metadata
 * property when it lists k names.
 */
export function decideOutputs(
  signature: ModelSignature,
  info: Pick<OnnxModelInfo, 'outputOps' | 'metadata'>,
  hints: OutputHints,
  displayName: string,
): OutputDecision {
  const labels = signature.classLabels?.length ? signature.classLabels : null;
  if (hints.task === 'regression' && hints.output !== undefined) {
    throw new DomainError('invalid_argument', 'output ("probabilities" or "logits") describes a classifier\'s scores; leave it out for task "regression".');
  }
  if (labels && hints.task === 'regression') {
    throw new DomainError(
      'invalid_argument',
      `${displayName} is a classifier: its graph names class labels (${labels.slice(0, 5).join(', ')}${labels.length > 5 ? ', …' : ''}). Leave task out, or say "classification".`,
    );
  }
  if (labels || hints.task === 'classification' || hints.output !== undefined) {
    const score = scoreOutput(signature, labels);
    if (!score) {
      if (labels) return { task: 'classification', scores: null, targetNames: null };
      throw new DomainError(
        'invalid_argument',
        `${displayName} has no float output to read class scores from (outputs: ${outputList(signature)}); register it without task "classification".`,
      );
    }
    const kind = hints.output ?? (labels || PROBABILITY_OPS.has(info.outputOps.get(score.name) ?? '') ? 'probabilities' : null);
    if (!kind) {
      throw new DomainError(
        'invalid_argument',
        `${displayName}: say what its output "${score.name}" holds, with output: "probabilities" (each row sums to 1) or "logits" (raw scores, e.g. a network's last Linear layer; answered through softmax). Nothing in the graph tells.`,
      );
    }
    return { task: 'classification', scores: { output: score.name, kind }, targetNames: null };
  }
  const value = signature.outputs.find(isNumeric);
  const k = value ? columns(value) : null;
  return { task: 'regression', scores: null, targetNames: typeof k === 'number' && k > 1 ? targetNamesOf(info.metadata.get('target_names'), k) : null };
}

const outputList = (s: ModelSignature) => s.outputs.map((o) => `${o.name}:${o.type}`).join(', ') || 'none';

/** The classifier's score output: a float [N, C] (C the labels' count when known), else for a graph without labels a float [N, 1] or [N] (one score of the positive class). */
function scoreOutput(signature: ModelSignature, labels: string[] | null): TensorSpec | undefined {
  const floats = signature.outputs.filter(isFloat);
  const wide = floats.find((o) => o.shape?.length === 2 && o.shape[1] !== 1 && (!labels || o.shape[1] === labels.length || typeof o.shape[1] !== 'number'));
  return wide ?? (labels ? floats.find((o) => o.shape?.length === 2 && o.shape[1] !== 1) : floats[0]);
}

function targetNamesOf(raw: string | undefined, k: number): string[] | null {
  if (raw === undefined) return null;
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) && parsed.length === k && parsed.every((n) => typeof n === 'string') ? parsed : null;
  } catch {
    return null;
  }
}

/** How serving reads a version's outputs. */
interface ReadPlan {
  task: ModelTask;
  scores: { spec: TensorSpec; kind: ScoreKind } | null;
  /** A classifier's label output, when it has one (else the label is the most probable class). */
  label: TensorSpec | null;
  /** A regressor's value output. */
  value: TensorSpec | null;
}

/** The plan for a signature, found once per signature; versions registered before `task` existed are read by the same rules, without hints. */
const plans = new WeakMap<ModelSignature, ReadPlan>();
function readPlan(signature: ModelSignature): ReadPlan {
  let plan = plans.get(signature);
  if (plan) return plan;
  const decided = outputDecision(signature);
  const spec = decided.scores && signature.outputs.find((o) => o.name === decided.scores?.output);
  const scores = spec && decided.scores ? { spec, kind: decided.scores.kind } : null;
  plan =
    decided.task === 'classification'
      ? {
          task: 'classification',
          scores,
          label: signature.outputs.find((o) => o !== spec && !isFloat(o)) ?? signature.outputs.find((o) => o !== spec) ?? null,
          value: null,
        }
      : { task: 'regression', scores: null, label: null, value: signature.outputs.find(isNumeric) ?? signature.outputs[0] ?? null };
  plans.set(signature, plan);
  return plan;
}

/**
 * How a version's outputs are read: as registration decided, or, for a version registered before
 * it decided, a classifier when its graph names class labels (probabilities as they are).
 */
export function outputDecision(signature: ModelSignature): OutputDecision {
  if (signature.task) return { task: signature.task, scores: signature.scores ?? null, targetNames: signature.targetNames ?? null };
  const labels = signature.classLabels?.length ? signature.classLabels : null;
  if (!labels) return { task: 'regression', scores: null, targetNames: null };
  const score = scoreOutput(signature, labels);
  return { task: 'classification', scores: score ? { output: score.name, kind: 'probabilities' } : null, targetNames: null };
}

/** The outputs readOutputs reads: a run fetches only these (a graph's other outputs are not computed). */
export function outputsRead(signature: ModelSignature): string[] {
  const plan = readPlan(signature);
  const read = [plan.value, plan.scores?.spec, plan.label].filter((o): o is TensorSpec => !!o).map((o) => o.name);
  return read.length ? read : signature.outputs.map((o) => o.name);
}

const toValue = (v: number | bigint | string) => (typeof v === 'bigint' ? Number(v) : v);

/**
 * Reads every row's answer: a classifier's label and probabilities per class label (from the
 * graph, else "0", "1", …), or a regressor's value (k values for a [N, k] output).
 */
export function readOutputs(version: ModelVersion, results: Record<string, WireTensor>, n: number): BatchOutput {
  const plan = readPlan(version.signature);
  if (plan.task === 'regression') {
    if (!plan.value || !Object.hasOwn(results, plan.value.name))
      throw new DomainError('invalid_model', `${version.name} ${version.version} has no numeric output to answer with.`);
    const data = results[plan.value.name].data as ArrayLike<number | bigint>;
    const k = n > 0 ? Math.max(1, Math.floor(data.length / n)) : 1;
    const values = Float64Array.from({ length: n * k }, (_, i) => Number(data[i]));
    requireFinite(values, k);
    const predictions = new Array<PredictionValue>(n);
    for (let i = 0; i < n; i++) predictions[i] = k === 1 ? values[i] : Array.from(values.subarray(i * k, i * k + k));
    return { predictions, probabilities: null };
  }
  const labelData = plan.label && Object.hasOwn(results, plan.label.name) ? (results[plan.label.name].data as ArrayLike<number | bigint | string>) : null;
  if (!plan.scores) {
    if (!labelData) throw new DomainError('invalid_model', `${version.name} ${version.version} answers no class label.`);
    return { predictions: Array.from({ length: n }, (_, i) => toValue(labelData[i])), probabilities: null };
  }
  const { probs, c } = probabilitiesOf(results[plan.scores.spec.name], plan.scores.kind, n);
  requireFinite(probs, c);
  const graphLabels = version.signature.classLabels;
  const labels = graphLabels?.length === c ? graphLabels : Array.from({ length: c }, (_, i) => String(i));
  const probabilities: Record<string, number[]> = Object.create(null) as Record<string, number[]>;
  for (let j = 0; j < c; j++) probabilities[labels[j]] = Array.from({ length: n }, (_, i) => probs[i * c + j]);
  const predictions: PredictionValue[] = labelData
    ? Array.from({ length: n }, (_, i) => toValue(labelData[i]))
    : Array.from({ length: n }, (_, i) => {
        let best = 0;
        for (let j = 1; j < c; j++) if (probs[i * c + j] > probs[i * c + best]) best = j;
        return /^-?\d+$/.test(labels[best]) ? Number(labels[best]) : labels[best];
      });
  return { predictions, probabilities };
}

/** Row-major probabilities, n × c: as given, from logits by softmax, or from one column (the positive class) as [1 − p, p]. */
function probabilitiesOf(tensor: WireTensor, kind: ScoreKind, n: number): { probs: Float64Array; c: number } {
  const data = tensor.data as Float32Array | Float64Array;
  const width = n > 0 ? Math.max(1, Math.floor(data.length / n)) : 1;
  if (width === 1) {
    const probs = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      const p = kind === 'logits' ? 1 / (1 + Math.exp(-data[i])) : data[i];
      probs[2 * i] = 1 - p;
      probs[2 * i + 1] = p;
    }
    return { probs, c: 2 };
  }
  const probs = Float64Array.from(data.subarray(0, n * width));
  if (kind === 'logits') {
    for (let i = 0; i < n; i++) {
      const row = probs.subarray(i * width, (i + 1) * width);
      let max = -Infinity;
      for (const z of row) if (z > max) max = z;
      let sum = 0;
      for (let j = 0; j < width; j++) sum += row[j] = Math.exp(row[j] - max);
      for (let j = 0; j < width; j++) row[j] /= sum;
    }
  }
  return { probs, c: width };
}

/**
 * A model's arithmetic can overflow on finite features (a linear model on values near 1e308): a
 * NaN or Infinity is no prediction, and JSON would carry it as null. The row fails instead.
 */
function requireFinite(values: ArrayLike<number>, perRow: number): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RowValueError(
        Math.floor(i / perRow),
        `the model answered ${values[i]} (no number), its arithmetic overflowed on this row's features; check their scale.`,
      );
    }
  }
}
