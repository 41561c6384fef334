import { randomUUID } from 'node:crypto';
import { counted } from '../counted.js';
import { DomainError, notFound } from '../errors.js';
import { openAllowedFile } from '../files.js';
import type { RegistryStore } from '../registry/ports.js';
import type { Actor, ModelState, ModelVersion } from '../registry/types.js';
import type { FeatureRow } from '../serving/features.js';
import type { PredictionLogStore } from '../serving/ports.js';
import type { AlertDraft } from './alert-types.js';
import { renderCdfChart } from './chart.js';
import { columnsFromRows, type Columns } from './columns.js';
import type { CsvColumns } from './csv-columns.js';
import type { PValueCorrection } from './correction.js';
import { compareToReference, toReferenceFeatures } from './drift.js';
import { MAX_CURVE_FEATURES, type FeatureCurves } from './curves.js';
import type { DriftReference, DriftRun, FeatureDrift, FeatureSummary, ReferenceFeature } from './drift-types.js';
import type { FeatureComparison } from './feature-compare.js';
import type { AlertStore, DriftStore } from './ports.js';
import { informationalValues, wireName, withKeys } from './statistics/index.js';

export interface DataSource {
  rows?: readonly FeatureRow[] | undefined;
  csvPath?: string | undefined;
}

export interface DetectInput {
  version?: string | undefined;
  currentRows?: readonly FeatureRow[] | undefined;
  csvPath?: string | undefined;
  window?: { lastN?: number | undefined; sinceHours?: number | undefined } | undefined;
  threshold: number;
  correction: PValueCorrection;
  features?: readonly string[] | undefined;
  datasetDriftShare: number;
  includeChart?: boolean | undefined;
  /** false: a read-only caller's check, kept but never the latest and raising no alert (DriftRun.monitored). Default true. */
  monitored?: boolean | undefined;
}

export interface DriftDeps {
  drift: DriftStore;
  registry: Pick<RegistryStore, 'modelState'>;
  alerts: Pick<AlertStore, 'list'>;
  predictions: Pick<PredictionLogStore, 'loggedFeatures'>;
  allowedDirs: readonly string[];
  /** Writes pending predictions, so a window over the log includes the latest ones. */
  flushLog: () => Promise<void>;
  /** One feature's statistics (DriftThreads: on a thread of its own). */
  compare: (refSorted: Float64Array, current: Float64Array) => Promise<FeatureComparison>;
  /** One feature of a reference, sorted and summarized (DriftThreads: on a thread of its own). */
  prepareReference: (feature: string, values: Float64Array) => Promise<ReferenceFeature>;
  /** A CSV's feature columns, read from an open descriptor (DriftThreads: on a thread of its own). */
  readCsv: (fd: number, displayName: string, features: readonly string[], onProgress?: (rows: number) => void) => Promise<CsvColumns>;
  now?: () => Date;
}

type Progress = (done: number, total?: number, message?: string) => void;

/** A feature_drift alert naming the same features as one this recent is not raised again. */
const DRIFT_ALERT_REPEAT_MS = 60 * 60 * 1000;

/** Drift monitoring: references per model (or version), checks against them (statistics/index.ts), stored runs. */
export class DriftService {
  private readonly now: () => Date;

  constructor(private readonly deps: DriftDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Stores a new reference (replacing the old one in one transaction); a dry run reads and summarizes only. */
  async setReference(
    name: string,
    input: DataSource & { version?: string | undefined },
    who: Actor,
    options: { dryRun?: boolean | undefined; onProgress?: Progress | undefined } = {},
  ): Promise<{ version: string | null; source: string; rows: number; features: FeatureSummary[]; ignored: number; dryRun: boolean; replaced: boolean }> {
    const state = await this.requireModel(name);
    const features = featureNamesOf(state, input.version);
    const { columns, source } = await this.readData(input, features, 'rows', options.onProgress);
    if (columns.rows < 2) throw new DomainError('invalid_argument', `the reference has ${columns.rows} rows; the KS test needs at least 2.`);
    const reference = await toReferenceFeatures(columns, this.deps.prepareReference);
    const version = input.version ?? null;
    const replaced = options.dryRun
      ? (await this.deps.drift.referenceRows(name, version)) !== undefined
      : (await this.deps.drift.replaceReference({ name, version, source, rows: columns.rows, features: reference }, who)).replacedRows !== null;
    return {
      version: input.version ?? null,
      source,
      rows: columns.rows,
      features: reference.map((f) => f.summary),
      ignored: columns.ignored,
      dryRun: Boolean(options.dryRun),
      replaced,
    };
  }

  /**
   * Whether a feature_drift alert for this model (and version) within DRIFT_ALERT_REPEAT_MS named
   * the same drifted features: one warning per finding, not one per check (an agent asking
   * every minute, or a read token in a loop, would otherwise fill the alerts). Every run is
   * still stored.
   */
  private async raisedLately(name: string, version: string | null, features: readonly string[]): Promise<boolean> {
    const since = new Date(this.now().getTime() - DRIFT_ALERT_REPEAT_MS).toISOString();
    const key = [...features].sort().join('\0');
    for (let beforeId: number | undefined; ;) {
      const page = await this.deps.alerts.list({ since, name, severity: 'warning', limit: 500, beforeId });
      for (const a of page) {
        if (a.type !== 'feature_drift' || a.version !== version) continue;
        const named = (a.details?.drifted as Array<{ feature: string }> | undefined)?.map((d) => d.feature);
        // Any of the hour's, not only the latest: a feature hovering at the threshold alternates between two sets.
        if (named && [...named].sort().join('\0') === key) return true;
      }
      if (page.length < 500) return false;
      beforeId = page[page.length - 1].id;
    }
  }

  /** Compares current data with the reference, stores the run, and (for a monitored run) raises a warning when a feature drifted. */
  async detect(name: string, input: DetectInput, actor: string, onProgress?: Progress): Promise<{ run: DriftRun; chart: Buffer | null }> {
    const state = await this.requireModel(name);
    if (input.version !== undefined && !state.versions.some((v) => v.version === input.version)) {
      throw notFound(`Model "${name}" has no version "${input.version}" (versions: ${state.versions.map((v) => v.version).join(', ')}).`);
    }
    const reference = await this.referenceFor(name, input.version);
    const selected = this.selectFeatures(reference, input.features);
    const names = selected.map((f) => f.feature);
    const sources = [input.currentRows !== undefined, input.csvPath !== undefined, input.window !== undefined].filter(Boolean).length;
    if (sources !== 1) {
      throw new DomainError('invalid_argument', 'give exactly one source of current data: current_rows, csv_path, or window (over the prediction log).');
    }
    let columns: Columns;
    let source: string;
    if (input.window) {
      ({ columns, source } = await this.fromLog(state, names, input.version, input.window));
    } else {
      ({ columns, source } = await this.readData({ rows: input.currentRows, csvPath: input.csvPath }, names, 'current_rows', onProgress));
    }
    const compared = await compareToReference(
      selected,
      columns.features,
      { threshold: input.threshold, correction: input.correction, datasetDriftShare: input.datasetDriftShare },
      this.deps.compare,
    );
    const run: DriftRun = {
      id: randomUUID(),
      name,
      version: input.version ?? null,
      referenceVersion: reference.version,
      source,
      threshold: input.threshold,
      correction: input.correction,
      datasetDriftShare: input.datasetDriftShare,
      datasetDrift: compared.datasetDrift,
      driftedShare: compared.driftedShare,
      features: compared.features,
      actor,
      createdAt: this.now().toISOString(),
      monitored: input.monitored !== false,
      curves: curvesOf(compared.features, compared.curves),
    };
    const drifted = run.features.filter((f) => f.driftDetected).sort((a, b) => a.pValueAdjusted - b.pValueAdjusted);
    const alerts: AlertDraft[] =
      run.monitored &&
      drifted.length &&
      !(await this.raisedLately(
        name,
        run.version,
        drifted.map((f) => f.feature),
      ))
        ? [
            {
              type: 'feature_drift',
              severity: 'warning',
              name,
              version: run.version,
              message: `${name}: ${drifted.length} of ${run.features.length} features drifted (${drifted
                .slice(0, 8)
                .map((f) => `${f.feature} p=${f.pValueAdjusted.toExponential(2)}`)
                .join(', ')}${drifted.length > 8 ? ', …' : ''})${run.datasetDrift ? '; dataset drift' : ''}`,
              // An alert's details are answered as they are stored (get_alerts, webhooks): in wire names.
              details: {
                run_id: run.id,
                drifted: drifted.map((f) => ({ feature: f.feature, p_value: f.pValueAdjusted, ...withKeys<object>(informationalValues(f), wireName) })),
              },
            },
          ]
        : [];
    await this.deps.drift.insertRun(run, alerts);
    let chart: Buffer | null = null;
    if (input.includeChart) {
      await new Promise((resolve) => setImmediate(resolve)); // the chart is its own slice of work
      const top = [...run.features].sort((a, b) => b.statistic - a.statistic).slice(0, 3);
      chart = renderCdfChart(
        `${name}: reference vs current (${source})`,
        top.map((f) => ({
          feature: f.feature,
          reference: selected.find((s) => s.feature === f.feature)!.sorted,
          current: compared.sortedCurrent.get(f.feature)!,
          pValue: f.pValueAdjusted,
        })),
      );
    }
    return { run, chart };
  }

  async report(runId: string | undefined, name: string | undefined): Promise<DriftRun> {
    if (runId !== undefined) {
      const run = await this.deps.drift.getRun(runId);
      if (!run) throw notFound(`No drift run with id "${runId}". Leave run_id out to get the latest run.`);
      return run;
    }
    const run = await this.deps.drift.latestRun(name);
    if (!run) throw notFound(`No drift run${name ? ` for ${name}` : ''} yet.`, [{ kind: 'detect_drift' }]);
    return run;
  }

  private async referenceFor(name: string, version: string | undefined): Promise<DriftReference> {
    const scoped = version === undefined ? undefined : await this.deps.drift.getReference(name, version);
    const reference = scoped ?? (await this.deps.drift.getReference(name, null));
    if (!reference) {
      throw notFound(`${name} has no drift reference${version ? ` (for ${version} or model-wide)` : ''}.`, [{ kind: 'set_drift_reference', name }]);
    }
    return reference;
  }

  private selectFeatures(reference: DriftReference, features: readonly string[] | undefined) {
    if (!features) return reference.features;
    const known = reference.features.map((f) => f.feature);
    const unknown = features.filter((f) => !known.includes(f));
    if (unknown.length)
      throw new DomainError(
        'invalid_argument',
        `unknown feature${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the reference has ${known.join(', ')}.`,
      );
    return reference.features.filter((f) => features.includes(f.feature));
  }

  private async readData(
    input: DataSource,
    features: readonly string[],
    rowsArgument: string,
    onProgress?: Progress,
  ): Promise<{ columns: Columns; source: string }> {
    if ((input.rows === undefined) === (input.csvPath === undefined)) {
      throw new DomainError('invalid_argument', `give exactly one of ${rowsArgument} and csv_path.`);
    }
    if (input.rows !== undefined) {
      if (!input.rows.length) throw new DomainError('invalid_argument', `${rowsArgument} is empty.`);
      return { columns: columnsFromRows(input.rows, features), source: `${input.rows.length} inline rows` };
    }
    // Read through the descriptor that was checked, which stays open until the read settles.
    const file = await openAllowedFile('csv_path', input.csvPath as string, this.deps.allowedDirs);
    const csv = await this.deps
      .readCsv(file.handle.fd, `csv_path "${input.csvPath}"`, features, (n) => onProgress?.(n, undefined, `${n} rows read`))
      .finally(() => file.handle.close());
    const columns: Columns = { features: new Map(features.map((f, i) => [f, csv.values[i]])), rows: csv.rows, ignored: csv.ignored };
    return { columns, source: `csv ${(input.csvPath as string).split('/').pop()}` };
  }

  /** The prediction log as current data: rows of the versions whose features include the reference's. */
  private async fromLog(
    state: ModelState,
    features: readonly string[],
    version: string | undefined,
    window: { lastN?: number | undefined; sinceHours?: number | undefined },
  ) {
    if (window.lastN === undefined && window.sinceHours === undefined) {
      throw new DomainError('invalid_argument', 'window needs last_n or since_hours (or both).');
    }
    await this.deps.flushLog();
    const since = window.sinceHours === undefined ? undefined : new Date(this.now().getTime() - window.sinceHours * 3_600_000).toISOString();
    const logged = await this.deps.predictions.loggedFeatures(state.name, { version, since, lastN: window.lastN });
    const positions = new Map<string, number[] | null>();
    for (const v of state.versions) {
      const names = v.featureNames;
      positions.set(v.version, names && features.every((f) => names.includes(f)) ? features.map((f) => names.indexOf(f)) : null);
    }
    const cols = features.map(() => new Float64Array(logged.reduce((sum, e) => sum + e.rows, 0)));
    let n = 0;
    for (const entry of logged) {
      const pos = positions.get(entry.version);
      if (!pos || pos.some((p) => p >= entry.width)) continue;
      for (let r = 0; r < entry.rows; r++, n++) {
        const base = r * entry.width;
        for (let i = 0; i < pos.length; i++) cols[i][n] = entry.values[base + pos[i]];
      }
    }
    const what = [window.lastN !== undefined ? `last ${window.lastN}` : null, window.sinceHours !== undefined ? `last ${window.sinceHours} h` : null]
      .filter(Boolean)
      .join(', ');
    return {
      columns: { features: new Map(features.map((f, i) => [f, n === cols[i].length ? cols[i] : cols[i].slice(0, n)])), rows: n, ignored: 0 },
      source: `prediction log (${what}${version ? `, ${version}` : ''}): ${counted(n, 'prediction')}`,
    };
  }

  private async requireModel(name: string): Promise<ModelState> {
    const state = await this.deps.registry.modelState(name);
    if (!state) throw notFound(`No model named "${name}" is registered.`, [{ kind: 'list_models' }]);
    return state;
  }
}

/** The charts' curves of the most drifted features, kept with the run (a few kB each). */
function curvesOf(results: readonly FeatureDrift[], computed: Map<string, FeatureCurves>): Record<string, FeatureCurves> {
  const curves: Record<string, FeatureCurves> = Object.create(null) as Record<string, FeatureCurves>;
  for (const f of [...results].sort((a, b) => b.statistic - a.statistic).slice(0, MAX_CURVE_FEATURES)) {
    const c = computed.get(f.feature);
    if (c) curves[f.feature] = c;
  }
  return curves;
}

/** The features a reference is kept for: the named version's, else production's, else the newest version's. */
function featureNamesOf(state: ModelState, version: string | undefined): string[] {
  let v: ModelVersion | undefined;
  if (version !== undefined) {
    v = state.versions.find((x) => x.version === version);
    if (!v) throw notFound(`Model "${state.name}" has no version "${version}" (versions: ${state.versions.map((x) => x.version).join(', ')}).`);
  } else {
    v = state.versions.find((x) => x.stage === 'production') ?? state.versions[state.versions.length - 1];
  }
  if (!v.featureNames) {
    throw new DomainError(
      'invalid_argument',
      `${state.name} ${v.version} has no feature names, so its data cannot be matched to columns; re-register it with feature_names.`,
    );
  }
  return v.featureNames;
}
