import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkStatistics,
  computeStatistics,
  fieldValue,
  INFORMATIONAL,
  informationalValues,
  STATISTICS,
  VERDICT,
  wireName,
  domainName,
  type DriftStatistic,
} from '../../src/monitoring/statistics/index.js';

// Every registered statistic against its Python peer (tools/make-statistic-vectors.py, scipy and
// numpy pinned in tools/requirements.txt), on the same pairs, computed as a drift run computes it.
// A peer names each field by its wire name (p_value).
interface Vector {
  id: string;
  reference: number[];
  current: number[];
  expected: Record<string, Record<string, number | string>>;
}
const { vectors } = JSON.parse(fs.readFileSync(new URL('../../fixtures/statistic-vectors.json', import.meta.url), 'utf8')) as { vectors: Vector[] };

const sorted = (x: number[]): Float64Array => Float64Array.from(x).sort();

/** Numbers: 1e-10 absolute, and 1e-9 relative (a distance in a feature's units can be large). */
function expectClose(actual: number, expected: number, label: string): void {
  expect(Number.isFinite(actual), `${label}: ${actual} is not finite`).toBe(true);
  expect(Math.abs(actual - expected), `${label}: got ${actual}, peer ${expected}`).toBeLessThanOrEqual(Math.max(1e-10, 1e-9 * Math.abs(expected)));
}

describe('each drift statistic vs its scipy/numpy peer', () => {
  it('has a peer for every statistic in the list (add one to tools/make-statistic-vectors.py)', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(10);
    for (const v of vectors) expect(Object.keys(v.expected).sort(), v.id).toEqual(STATISTICS.map((s) => s.name).sort());
  });

  for (const s of STATISTICS as readonly DriftStatistic[]) {
    describe(s.name, () => {
      for (const v of vectors) {
        it(`${v.id} (${v.reference.length} v ${v.current.length})`, () => {
          const got = s.compute(sorted(v.reference), sorted(v.current)) as Record<string, number | string>;
          const want = Object.fromEntries(Object.entries(v.expected[s.name]).map(([k, x]) => [domainName(k), x]));
          expect(Object.keys(got).sort()).toEqual(Object.keys(s.fields).sort());
          for (const [field, spec] of Object.entries(s.fields)) {
            if (spec.type === 'enum') {
              expect(spec.values).toContain(got[field]);
              expect(got[field], `${v.id} ${field}`).toBe(want[field]);
            } else {
              expectClose(got[field] as number, want[field] as number, `${v.id} ${field}`);
            }
          }
        });
      }
    });
  }
});

describe('the list', () => {
  it('names one verdict, and every display and MLflow field is a number field of its statistic', () => {
    expect(STATISTICS.filter((s) => s.role === 'verdict')).toEqual([VERDICT]);
    expect(INFORMATIONAL.length).toBe(STATISTICS.length - 1);
    for (const s of STATISTICS as readonly DriftStatistic[]) {
      for (const field of [s.display.field, ...Object.keys(s.mlflow)]) expect(s.fields[field]?.type, `${s.name}.${field}`).toBe('number');
      expect(s.display.format(0.5)).toMatch(/\d/);
    }
  });

  it('computes every field of every statistic at once', () => {
    const v = vectors[1];
    const all = computeStatistics(sorted(v.reference), sorted(v.current)) as unknown as Record<string, unknown>;
    expect(Object.keys(all).sort()).toEqual(STATISTICS.flatMap((s) => Object.keys(s.fields)).sort());
    for (const s of STATISTICS) for (const [field, value] of Object.entries(v.expected[s.name])) expect(typeof all[domainName(field)]).toBe(typeof value);
  });

  it('refuses a list without exactly one verdict, or with a field two statistics claim', () => {
    const [ks, psi] = [VERDICT as DriftStatistic, INFORMATIONAL[0]];
    expect(() => checkStatistics([ks, psi])).not.toThrow();
    expect(() => checkStatistics([psi])).toThrow(/0 have role 'verdict'/);
    expect(() => checkStatistics([ks, { ...ks, name: 'ks2', fields: {} }])).toThrow(/2 have role 'verdict'/);
    expect(() => checkStatistics([ks, psi, { ...psi, name: 'psi2' }])).toThrow(/field psi of psi2 is already psi's/);
    expect(() => checkStatistics([ks, { ...psi, name: 'ks' }])).toThrow(/two are named ks/);
    expect(() => checkStatistics([ks, { ...psi, fields: { nRef: psi.fields.psi } }])).toThrow(/field nRef of psi is already the run's/);
    expect(() => checkStatistics([ks, { ...psi, fields: { psi_bins: psi.fields.psi } }])).toThrow(/field psi_bins of psi is not camelCase/);
    const { pValue: _, ...noP } = ks.fields;
    expect(() => checkStatistics([{ ...ks, fields: noP }])).toThrow(/has no field pValue/);
  });

  it('answers each field under its snake_case wire name, and reads the wire name back', () => {
    expect(['pValueAdjusted', 'driftDetected', 'nRef', 'statistic', 'js2Divergence'].map(wireName)).toEqual([
      'p_value_adjusted',
      'drift_detected',
      'n_ref',
      'statistic',
      'js2_divergence',
    ]);
    for (const field of [...STATISTICS.flatMap((s) => Object.keys(s.fields)), 'pValueAdjusted', 'nCur', 'js2Divergence']) {
      expect(domainName(wireName(field))).toBe(field);
    }
  });

  it('reads a stored run that predates a statistic: its fields are null, not undefined', () => {
    const stored = { feature: 'x', statistic: 0.1, pValue: 0.2, method: 'exact' };
    for (const s of INFORMATIONAL) expect(fieldValue(stored, s.display.field)).toBeNull();
    expect(Object.values(informationalValues(stored)).every((v) => v === null)).toBe(true);
    expect(fieldValue(stored, 'statistic')).toBe(0.1);
    expect(fieldValue(stored, 'method')).toBe('exact');
    expect(fieldValue({ ...stored, method: true }, 'method')).toBeNull();
    expect(fieldValue(stored, 'toString')).toBeNull();
  });
});
