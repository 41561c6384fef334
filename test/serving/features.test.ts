import { describe, expect, it } from 'vitest';
import { expectedFeatures, isFeatureTable, listNames, tableToMatrix, toMatrix } from '../../src/serving/features.js';
import type { ModelSignature, ModelVersion } from '../../src/registry/types.js';
import { modelVersion } from '../versions.js';

/**
 * The feature checks in process: the REST and MCP suites reach them through dist/, so these are
 * the tests that hold the source to its wording and its packing.
 */

const features = ['pts', 'reb', 'ast'];
const row = (n: number) => `row ${n}: `;

const version = (signature: ModelSignature, featureNames: string[] | null): ModelVersion =>
  modelVersion({ name: 'nba_points', version: 'v3', seq: 3, stage: 'staging', signature, featureNames });

const message = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toMatchObject({ code: 'invalid_argument' });
    return (e as Error).message;
  }
  throw new Error('no error thrown');
};

describe('expected features', () => {
  const wide: ModelSignature = { inputs: [{ name: 'x', type: 'float32', shape: ['?', 3] }], outputs: [] };

  it('are the recorded names, else x0…x{k-1} from the input width', () => {
    expect(expectedFeatures(version(wide, ['a', 'b', 'c']))).toEqual(['a', 'b', 'c']);
    expect(expectedFeatures(version(wide, null))).toEqual(['x0', 'x1', 'x2']);
  });

  it('are an error that says to re-register when neither names nor width are known', () => {
    const unsized: ModelSignature = { inputs: [{ name: 'x', type: 'float32', shape: ['?', '?'] }], outputs: [] };
    expect(() => expectedFeatures(version(unsized, null))).toThrow(
      expect.objectContaining({
        code: 'invalid_model',
        message: 'nba_points v3 has no feature names and its input shape does not say how many features it takes; re-register it with feature_names.',
      }),
    );
  });
});

describe('listNames', () => {
  const names = (n: number) => Array.from({ length: n }, (_, i) => `f${i}`);

  it('lists up to twelve names in full and cuts a longer list after twelve', () => {
    expect(listNames(names(12))).toBe('f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11');
    expect(listNames(names(13))).toBe('f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, … (13 in all)');
  });
});

describe('isFeatureTable', () => {
  it('tells a dataframe_split table from a list of rows', () => {
    expect(isFeatureTable({ columns: ['pts'], data: [[1]] })).toBe(true);
    expect(isFeatureTable([{ pts: 1 }])).toBe(false);
    expect(isFeatureTable([[1]])).toBe(false);
  });
});

describe('rows to a matrix', () => {
  it('packs named and positional rows row-major in feature order', () => {
    const m = toMatrix([{ ast: 3, pts: 1, reb: 2 }, [4, 5, 6]], features);
    expect(Array.from(m)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('takes zero and negative values', () => {
    expect(Array.from(toMatrix([{ pts: 0, reb: -1, ast: -0.5 }], features))).toEqual([0, -1, -0.5]);
  });

  it('names the row and the expected order for a positional row of the wrong width', () => {
    expect(
      message(() =>
        toMatrix(
          [
            [1, 2, 3],
            [1, 2],
          ],
          features,
          row,
        ),
      ),
    ).toBe('row 1: expected 3 feature values in this order: pts, reb, ast; got 2.');
    expect(message(() => toMatrix([[1, 2, 3, 4]], features))).toBe('expected 3 feature values in this order: pts, reb, ast; got 4.');
  });

  it('names the feature and what it held for a value that is not a finite number', () => {
    expect(message(() => toMatrix([[1, Number.NaN, 3]], features, row))).toBe('row 0: feature "reb" is NaN, not a finite number.');
    expect(message(() => toMatrix([[1, 2, Infinity]], features))).toBe('feature "ast" is Infinity, not a finite number.');
    expect(message(() => toMatrix([[1, '2' as unknown as number, 3]], features))).toBe('feature "reb" is string, not a finite number.');
    expect(message(() => toMatrix([{ pts: 1, reb: null as unknown as number, ast: 3 }], features, row))).toBe(
      'row 0: feature "reb" is object, not a finite number.',
    );
    expect(message(() => toMatrix([{ pts: 1, reb: 2, ast: -Infinity }], features))).toBe('feature "ast" is -Infinity, not a finite number.');
  });

  it('names a missing feature, and all of them when several are missing', () => {
    expect(
      message(() =>
        toMatrix(
          [
            { pts: 1, reb: 2, ast: 3 },
            { pts: 1, ast: 3 },
          ],
          features,
          row,
        ),
      ),
    ).toBe('row 1: missing feature reb; expected: pts, reb, ast.');
    expect(message(() => toMatrix([{ reb: 2 }], features))).toBe('missing features pts, ast; expected: pts, reb, ast.');
  });

  it('names an unknown feature, and a misspelt one as unknown and missing', () => {
    expect(message(() => toMatrix([{ pts: 1, reb: 2, ast: 3, stl: 4 }], features, row))).toBe('row 0: unknown feature "stl"; expected: pts, reb, ast.');
    expect(message(() => toMatrix([{ pts: 1, rbe: 2, ast: 3 }], features))).toBe('unknown feature "rbe" and missing feature reb; expected: pts, reb, ast.');
    expect(message(() => toMatrix([{ rbe: 2, ast: 3 }], features))).toBe('unknown feature "rbe" and missing features pts, reb; expected: pts, reb, ast.');
  });

  it('cuts an unknown name after 100 characters', () => {
    const long = 'q'.repeat(150);
    expect(message(() => toMatrix([{ pts: 1, reb: 2, ast: 3, [long]: 4 }], features))).toBe(`unknown feature "${'q'.repeat(100)}"; expected: pts, reb, ast.`);
  });

  it('finds no feature on the prototype: a row without "constructor" misses it', () => {
    expect(message(() => toMatrix([{ pts: 1 }], ['pts', 'constructor']))).toBe('missing feature constructor; expected: pts, constructor.');
    const inherited = Object.create({ reb: 2 }) as Record<string, number>;
    inherited.pts = 1;
    inherited.ast = 3;
    expect(message(() => toMatrix([inherited], features))).toBe('missing feature reb; expected: pts, reb, ast.');
  });
});

describe('a dataframe_split table to a matrix', () => {
  it('places each column at its feature, whatever the column order', () => {
    const m = tableToMatrix(
      {
        columns: ['ast', 'pts', 'reb'],
        data: [
          [3, 1, 2],
          [6, 4, 5],
        ],
      },
      features,
    );
    expect(Array.from(m)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('takes a table with no rows', () => {
    expect(tableToMatrix({ columns: features, data: [] }, features)).toHaveLength(0);
  });

  it('names an unknown column and the expected features, cut after 100 characters', () => {
    expect(message(() => tableToMatrix({ columns: ['pts', 'stl', 'reb', 'ast'], data: [] }, features))).toBe('unknown column "stl"; expected: pts, reb, ast.');
    expect(message(() => tableToMatrix({ columns: ['z'.repeat(101)], data: [] }, features))).toBe(
      `unknown column "${'z'.repeat(100)}"; expected: pts, reb, ast.`,
    );
  });

  it('names a column given twice, cut after 100 characters', () => {
    expect(message(() => tableToMatrix({ columns: ['pts', 'reb', 'pts'], data: [[1, 2, 3]] }, features))).toBe('column "pts" appears twice.');
    expect(message(() => tableToMatrix({ columns: ['pts', 'reb', 'ast', 'reb'], data: [] }, features))).toBe('column "reb" appears twice.');
    const long = 'p'.repeat(120);
    expect(message(() => tableToMatrix({ columns: [long, long], data: [] }, [long]))).toBe(`column "${'p'.repeat(100)}" appears twice.`);
  });

  it('names a missing column, and all of them when several are missing', () => {
    expect(message(() => tableToMatrix({ columns: ['pts', 'ast'], data: [[1, 3]] }, features))).toBe('missing column reb; expected: pts, reb, ast.');
    expect(message(() => tableToMatrix({ columns: ['reb'], data: [[2]] }, features))).toBe('missing columns pts, ast; expected: pts, reb, ast.');
  });

  it('names the row whose width differs from the columns', () => {
    const table = {
      columns: features,
      data: [
        [1, 2, 3],
        [1, 2],
      ],
    };
    expect(message(() => tableToMatrix(table, features, row))).toBe('row 1: 2 values for 3 columns.');
    expect(message(() => tableToMatrix({ columns: features, data: [[1, 2, 3, 4]] }, features))).toBe('4 values for 3 columns.');
  });

  it('names the row and column of a value that is not a finite number', () => {
    const table = {
      columns: ['ast', 'pts', 'reb'],
      data: [
        [3, 1, 2],
        [3, Number.NaN, 2],
      ],
    };
    expect(message(() => tableToMatrix(table, features, row))).toBe('row 1: feature "pts" is NaN, not a finite number.');
    expect(message(() => tableToMatrix({ columns: features, data: [[1, 2, '3' as unknown as number]] }, features))).toBe(
      'feature "ast" is string, not a finite number.',
    );
  });
});
