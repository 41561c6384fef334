import { DomainError, failedPrecondition, invalidArgument } from '../errors.js';
import { openAllowedFile } from '../files.js';
import type { Actor, ModelState, ModelVersion } from '../registry/types.js';
import { parsePredictionId, type PredictionKey } from '../serving/prediction-id.js';
import { isClassifier } from './evaluate.js';
import { probabilityTerms } from './metrics.js';
import { outcomesFromCsv } from './outcome-csv.js';
import type { LoggedEntry, OutcomeRow, OutcomeStore } from './ports.js';
import type { OutcomeInput, OutcomesGiven, RecordResult, Unmatched, UnmatchedReason } from './types.js';

export const MAX_OUTCOMES = 10_000;
export const MAX_CSV_OUTCOMES = 100_000;
/** Unmatched outcomes an answer lists by id (the counts cover all of them). */
export const UNMATCHED_LISTED = 50;
/** Bad values an error names before "and N more". */
const PROBLEMS_NAMED = 5;

export interface RecordDeps {
  outcomes: OutcomeStore;
  registry: { modelState(name: string): Promise<ModelState> };
  allowedDirs: readonly string[];
  /** How long the prediction log keeps predictions (PREDICTION_LOG_MAX_AGE_DAYS). */
  logMaxAgeMs: number;
  /** Writes this process's predictions still waiting for the log's next flush. */
  flushLog: () => Promise<void>;
  now?: () => number;
}

/** What a version takes as an actual value: a number (regressors) or one of its labels (classifiers, with each label's probability column). */
type Kind = { task: 'regression'; version: ModelVersion } | { task: 'classification'; version: ModelVersion; labels: Map<string, number> };

function kindOf(v: ModelVersion): Kind {
  if (isClassifier(v)) return { task: 'classification', version: v, labels: new Map((v.signature.classLabels ?? []).map((l, i) => [l, i])) };
  return { task: 'regression', version: v };
}

/**
 * Joins outcomes to the predictions they are for and stores them. A row whose prediction is not
 * found (unknown, past the log's retention, another model's, a failed prediction) is counted and
 * listed, and the others are stored: one bad id never fails a call. A bad value (not a finite
 * number for a regressor, not one of the classes for a classifier, a multi-target regressor)
 * fails the whole call with nothing written: it is the caller's bug, which every row may share.
 */
export class OutcomeRecorder {
  private readonly now: () => number;

  constructor(private readonly deps: RecordDeps) {
    this.now = deps.now ?? Date.now;
  }

  async record(name: string, input: OutcomesGiven, who: Actor, dryRun: boolean): Promise<RecordResult> {
    if ((input.outcomes === undefined) === (input.csvPath === undefined))
      throw invalidArgument('give either outcomes (inline) or csv_path, not both or neither.');
    const state = await this.deps.registry.modelState(name);
    const versions = new Map(state.versions.map((v) => [v.version, kindOf(v)]));
    let rows: OutcomeInput[];
    let source: string;
    if (input.csvPath !== undefined) {
      const file = await openAllowedFile('csv_path', input.csvPath, this.deps.allowedDirs);
      rows = await outcomesFromCsv(file.handle, `csv_path "${input.csvPath}"`, MAX_CSV_OUTCOMES).finally(() => file.handle.close());
      source = `csv ${input.csvPath.split('/').pop()}`;
    } else {
      rows = input.outcomes as OutcomeInput[];
      source = 'inline';
    }
    if (!rows.length) throw invalidArgument('no outcomes given: give at least one {prediction_id, actual}.');
    const actuals = checkActuals(name, rows, [...versions.values()]);

    // The last outcome given for a prediction holds; earlier ones in the same call count as replaced.
    const given = new Map<string, { last: number; times: number }>();
    rows.forEach((r, i) => {
      const seen = given.get(r.predictionId);
      if (seen) {
        seen.last = i;
        seen.times++;
      } else given.set(r.predictionId, { last: i, times: 1 });
    });

    const unmatched: Unmatched[] = [];
    const counts: Record<UnmatchedReason, number> = { unknown: 0, expired: 0, other_model: 0, failed_prediction: 0 };
    const miss = (predictionId: string, reason: UnmatchedReason) => {
      counts[reason]++;
      if (unmatched.length < UNMATCHED_LISTED) unmatched.push({ predictionId, reason });
    };
    const oldestKept = this.now() - this.deps.logMaxAgeMs;
    const wanted: Array<{ i: number; key: PredictionKey }> = [];
    for (const { last: i } of given.values()) {
      const key = parsePredictionId(rows[i].predictionId);
      if (!key) miss(rows[i].predictionId, 'unknown');
      else if (key.at < oldestKept) miss(rows[i].predictionId, 'expired');
      else wanted.push({ i, key });
    }
    const entries = await this.findEntries(wanted.map((w) => w.key));
    // Read once, at the first prediction not found: older than what the log holds means trimmed.
    let oldest: number | null | undefined;

    const out: OutcomeRow[] = [];
    const problems: string[] = [];
    for (const { i, key } of wanted) {
      const id = rows[i].predictionId;
      const found = findRow(entries.get(key.entryId) ?? [], key.row);
      if (!found) {
        if (oldest === undefined) {
          const t = await this.deps.outcomes.oldestPrediction();
          oldest = t === null ? null : Date.parse(t);
        }
        miss(id, oldest !== null && key.at < oldest ? 'expired' : 'unknown');
        continue;
      }
      const { entry, j } = found;
      if (entry.name !== name) miss(id, 'other_model');
      else if (!entry.ok || entry.version === null || !entry.output) miss(id, 'failed_prediction');
      else {
        const kind = versions.get(entry.version);
        if (!kind) throw new DomainError('internal', `prediction ${id} names version ${entry.version} of ${name}, which is not registered`);
        const row = joined(id, entry, j, kind, actuals[i], problems, () => where(rows[i], i));
        if (row) out.push(row);
      }
    }
    if (problems.length) throw badValues(problems);

    const byVersion: Record<string, number> = {};
    for (const r of out) byVersion[r.version] = (byVersion[r.version] ?? 0) + 1;
    const details = {
      source,
      received: rows.length,
      matched: out.length,
      unknown: counts.unknown + counts.other_model,
      expired: counts.expired,
      failed: counts.failed_prediction,
      by_version: byVersion,
    };
    let replaced: number;
    if (dryRun) replaced = out.length ? (await this.deps.outcomes.existing(out.map((r) => r.predictionId))).size : 0;
    else if (out.length) replaced = (await this.deps.outcomes.record(name, out, who, details)).replaced;
    else replaced = 0;
    const replacedInCall = out.reduce((n, r) => n + (given.get(r.predictionId)?.times ?? 1) - 1, 0);
    const listed = unmatched.length;
    const total = counts.unknown + counts.expired + counts.other_model + counts.failed_prediction;
    return {
      name,
      dryRun,
      source,
      received: rows.length,
      matched: out.length,
      replaced: replaced + replacedInCall,
      unknown: counts.unknown + counts.other_model,
      expired: counts.expired,
      failed: counts.failed_prediction,
      unmatched,
      unmatchedNotListed: total - listed,
      byVersion,
    };
  }

  /** The log entries of these keys, by entry id: one round trip, and one more for keys found only after a flush. */
  private async findEntries(keys: readonly PredictionKey[]): Promise<Map<string, LoggedEntry[]>> {
    const unique = new Map<string, { id: string; createdAt: string }>();
    for (const k of keys) unique.set(k.entryId, { id: k.entryId, createdAt: new Date(k.at).toISOString() });
    const byId = new Map<string, LoggedEntry[]>();
    const add = (found: readonly LoggedEntry[]) => {
      for (const e of found) {
        const list = byId.get(e.id);
        if (list) list.push(e);
        else byId.set(e.id, [e]);
      }
    };
    if (!unique.size) return byId;
    add(await this.deps.outcomes.findPredictions([...unique.values()]));
    // Predictions made here moments ago may still wait for the log's flush: write them, look again.
    const missing = [...unique.values()].filter((k) => !byId.has(k.id));
    if (missing.length) {
      await this.deps.flushLog();
      add(await this.deps.outcomes.findPredictions(missing));
    }
    return byId;
  }
}

const where = (r: OutcomeInput, i: number) => (r.line !== undefined ? `line ${r.line}` : `outcomes[${i}]`);

function badValues(problems: string[]): DomainError {
  const more = problems.length > PROBLEMS_NAMED ? `; and ${problems.length - PROBLEMS_NAMED} more` : '';
  return invalidArgument(`${problems.slice(0, PROBLEMS_NAMED).join('; ')}${more}. Nothing was recorded; fix these values and send the call again.`);
}

/**
 * Each row's actual as the model's versions take it, before any lookup: not a finite number for a
 * model whose versions are all regressors, or a label none of its classifiers has, fails the
 * call. (Against the very version that served it, checkJoined checks again.)
 */
function checkActuals(name: string, rows: readonly OutcomeInput[], kinds: readonly Kind[]): Array<number | string> {
  const regression = kinds.length > 0 && kinds.every((k) => k.task === 'regression');
  const labels = new Set(kinds.flatMap((k) => (k.task === 'classification' ? [...k.labels.keys()] : [])));
  const problems: string[] = [];
  const out = rows.map((r, i) => {
    const value = r.actual;
    if (regression) {
      const x = typeof value === 'number' ? value : value.trim() === '' ? Number.NaN : Number(value);
      if (!Number.isFinite(x)) {
        problems.push(
          `${where(r, i)}: actual ${typeof value === 'number' ? String(value) : JSON.stringify(value.slice(0, 40))} is not a finite number, and ${name} is a regressor`,
        );
      }
      return x;
    }
    if (typeof value === 'number' && !Number.isFinite(value)) problems.push(`${where(r, i)}: actual ${String(value)} is not a class label`);
    const label = String(value);
    if (labels.size && !labels.has(label))
      problems.push(`${where(r, i)}: actual ${JSON.stringify(label.slice(0, 40))} is not a class of ${name} (${[...labels].slice(0, 10).join(', ')})`);
    return label;
  });
  if (problems.length) throw badValues(problems);
  return out;
}

/** The entry and row index holding a prediction: a batch row by binary search in the entry's sorted row indices. */
function findRow(entries: readonly LoggedEntry[], row: number | null): { entry: LoggedEntry; j: number } | null {
  for (const entry of entries) {
    const idx = entry.rowIndices;
    if (row === null) {
      if (idx === null) return { entry, j: 0 };
      continue;
    }
    if (idx === null) continue;
    let lo = 0;
    let hi = idx.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (idx[mid] === row) return { entry, j: mid };
      if (idx[mid] < row) lo = mid + 1;
      else hi = mid - 1;
    }
  }
  return null;
}

/** The stored outcome of row j of an entry, or null with the problem noted. */
function joined(id: string, entry: LoggedEntry, j: number, kind: Kind, actual: number | string, problems: string[], at: () => string): OutcomeRow | null {
  const output = entry.output as NonNullable<LoggedEntry['output']>;
  const predicted = output.predictions[j];
  const version = kind.version;
  const row: OutcomeRow = {
    predictionId: id,
    name: entry.name,
    version: version.version,
    predictedAt: entry.at,
    routingKey: entry.routingKey,
    predicted: null,
    actual: null,
    predictedLabel: null,
    actualLabel: null,
    probabilities: null,
    pActual: null,
    brier: null,
    pPositive: null,
  };
  if (kind.task === 'regression') {
    if (typeof predicted !== 'number') {
      throw failedPrecondition(
        `${version.name} ${version.version} answers ${Array.isArray(predicted) ? 'several targets per row' : 'labels'}: outcomes are recorded for single-target regressors and classifiers only.`,
      );
    }
    if (typeof actual !== 'number') {
      problems.push(`${at()}: actual ${JSON.stringify(actual)} is a label, and ${version.name} ${version.version} is a regressor`);
      return null;
    }
    row.predicted = predicted;
    row.actual = actual;
    return row;
  }
  const label = String(actual);
  const index = kind.labels.get(label);
  if (index === undefined) {
    problems.push(`${at()}: actual ${JSON.stringify(label.slice(0, 40))} is not a class of ${version.name} ${version.version}`);
    return null;
  }
  row.predictedLabel = String(predicted);
  row.actualLabel = label;
  const columns = output.probabilities;
  if (columns) {
    const p = new Float64Array(kind.labels.size);
    let finite = true;
    for (const [l, c] of kind.labels) finite &&= Number.isFinite((p[c] = columns[l]?.[j] ?? Number.NaN));
    if (finite) {
      const terms = probabilityTerms(p, index);
      row.probabilities = p;
      row.pActual = terms.pActual;
      row.brier = terms.brier;
      row.pPositive = terms.pPositive;
    }
  }
  return row;
}
