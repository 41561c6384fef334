import { describe, expect, it } from 'vitest';
import {
  checkNewVersionLabel,
  featureWidth,
  findVersion,
  nextVersionLabel,
  planArchive,
  planPromotion,
  planRollback,
  productionVersion,
  resolveFeatureNames,
  servedArtifact,
} from '../../src/registry/rules.js';
import type { ModelSignature } from '../../src/registry/types.js';
import { refusal, sig, state, version } from './rule-states.js';

/** The registry's rules as a user reads them: each refusal and alert whole, and the edges they turn at. */

describe('looking a version up', () => {
  it('finds it, or names the versions there are (none for a model without any)', () => {
    expect(findVersion(state({ v1: 'none', v2: 'staging' }), 'v2').stage).toBe('staging');
    expect(refusal(() => findVersion(state({ v1: 'none', v2: 'staging' }), 'v7'))).toEqual({
      code: 'not_found',
      message: 'Model "m" has no version "v7" (versions: v1, v2).',
      next: [{ kind: 'show_model', name: 'm' }],
    });
    expect(refusal(() => findVersion(state({}), 'v1')).message).toBe('Model "m" has no version "v1" (versions: none).');
  });

  it('finds the production version, or none', () => {
    expect(productionVersion(state({ v1: 'archived', v2: 'production' }))?.version).toBe('v2');
    expect(productionVersion(state({ v1: 'staging' }))).toBeUndefined();
  });

  it('serves the derived graph when registration made one, else the registered artifact', () => {
    const plain = version('v1', 'none', 1);
    expect(servedArtifact(plain)).toEqual({ sha256: 'a'.repeat(64), bytes: 1 });
    const derived = { ...plain, signature: { ...sig, serving: { sha256: 'b'.repeat(64), bytes: 7, derivation: [] } } };
    expect(servedArtifact(derived)).toEqual({ sha256: 'b'.repeat(64), bytes: 7, derivation: [] });
  });
});

describe('a new version label', () => {
  it('skips every label users took after the highest registration', () => {
    expect(nextVersionLabel([version('v2', 'none', 1), version('v3', 'none', 2), version('v4', 'none', 3)])).toBe('v5');
    expect(nextVersionLabel([version('b', 'none', 2), version('a', 'none', 1)])).toBe('v3');
  });

  it('refuses a label the model already has, and says how to get the next one', () => {
    expect(() => checkNewVersionLabel('m', [version('v1', 'none', 1)], 'v2')).not.toThrow();
    expect(refusal(() => checkNewVersionLabel('m', [version('v1', 'none', 1), version('v2', 'none', 2)], 'v2')).code).toBe('already_exists');
    expect(refusal(() => checkNewVersionLabel('m', [version('v1', 'none', 1)], 'v1'))).toEqual({
      code: 'already_exists',
      message: 'Model "m" already has a version "v1". Choose another version label, or leave it out to get the next v<n>.',
      next: [],
    });
  });
});

describe('the feature width a signature gives', () => {
  const input = (shape: Array<number | string> | null, name = 'x') => ({ name, type: 'float32', shape });
  const of = (...inputs: ReturnType<typeof input>[]) => featureWidth({ inputs, outputs: [] });

  it('is the second dimension of a single [batch, k] input, else unknown', () => {
    expect(of(input(['N', 1]))).toBe(1);
    expect(of(input(['N', 'k']))).toBeNull();
    expect(of(input(['N', 2, 3]))).toBeNull();
    expect(of(input([4]))).toBeNull();
    expect(of(input(null))).toBeNull();
  });

  it('is the input count when each input is [batch, 1], else unknown', () => {
    expect(of(input(['N', 1], 'a'), input(['N', 1], 'b'), input(['N', 1], 'c'))).toBe(3);
    expect(of(input(['N', 1], 'a'), input(['N', 2], 'b'))).toBeNull();
    expect(of(input(['N', 1], 'a'), input(['N', 1, 1], 'b'))).toBeNull();
    expect(of(input(['N', 1], 'a'), input([1], 'b'))).toBeNull();
    expect(of(input(['N', 1], 'a'), input(null, 'b'))).toBeNull();
  });
});

describe('feature names refused', () => {
  it('names a repeated name and where the list came from', () => {
    expect(refusal(() => resolveFeatureNames(sig, ['a', 'b', 'a'], null))).toEqual({
      code: 'invalid_argument',
      message: 'feature_names lists "a" more than once; feature names must be unique.',
      next: [],
    });
    expect(refusal(() => resolveFeatureNames(sig, undefined, ['x', 'x', 'y'])).message).toBe(
      `the model's feature_names metadata lists "x" more than once; feature names must be unique.`,
    );
  });

  it('refuses an empty or blank name', () => {
    expect(refusal(() => resolveFeatureNames(sig, ['a', ' ', 'c'], null))).toEqual({
      code: 'invalid_argument',
      message: 'feature_names contains an empty name.',
      next: [],
    });
    expect(refusal(() => resolveFeatureNames(sig, undefined, ['a', '', 'c'])).message).toBe(`the model's feature_names metadata contains an empty name.`);
  });

  it('gives the input shapes and the count to give when the count is wrong', () => {
    expect(refusal(() => resolveFeatureNames(sig, ['a', 'b'], null))).toEqual({
      code: 'invalid_argument',
      message: 'feature_names has 2 names but the model takes 3 features (input x["?",3]). Give exactly 3 names in input order.',
      next: [],
    });
    const multi: ModelSignature = { inputs: ['a', 'b'].map((n) => ({ name: n, type: 'float32', shape: ['N', 1] })), outputs: [] };
    expect(refusal(() => resolveFeatureNames(multi, undefined, ['x', 'y', 'z'])).message).toBe(
      `the model's feature_names metadata has 3 names but the model takes 2 features (input a["N",1], b["N",1]). Give exactly 2 names in input order.`,
    );
  });

  it('takes any count when the signature does not say the width', () => {
    const unsized: ModelSignature = { inputs: [{ name: 'x', type: 'float32', shape: ['N', 'k'] }], outputs: [] };
    expect(resolveFeatureNames(unsized, ['a', 'b'], null)).toEqual(['a', 'b']);
  });
});

describe('what a stage change tells the user', () => {
  it('says what a promotion moved, and what it displaced', () => {
    const s = state({ v1: 'production', v2: 'staging' }, ['v1']);
    const plan = planPromotion(s, { version: 'v2', targetStage: 'production', archiveExisting: true });
    expect(plan.alerts).toEqual([
      {
        type: 'model_promoted',
        severity: 'info',
        name: 'm',
        version: 'v2',
        message: 'm v2 promoted from staging to production (v1 moved to archived)',
        details: { changes: plan.changes },
      },
    ]);
    expect(plan.action).toBe('promote');
    expect(plan.clearTraffic).toBe(false);
    const toStaging = planPromotion(state({ v1: 'production', v2: 'none' }), { version: 'v2', targetStage: 'staging', archiveExisting: true });
    expect(toStaging.changes).toEqual([{ version: 'v2', from: 'none', to: 'staging' }]);
    expect(toStaging.alerts[0].message).toBe('m v2 promoted from none to staging');
    // A split survives a promotion to staging: production is unchanged.
    const split = state({ v1: 'production', v2: 'staging', v3: 'none' }, ['v1'], { v1: 0.5, v2: 0.5 });
    expect(planPromotion(split, { version: 'v3', targetStage: 'staging', archiveExisting: true }).clearTraffic).toBe(false);
    const first = planPromotion(state({ v1: 'staging' }), { version: 'v1', targetStage: 'production', archiveExisting: true });
    expect(first.changes).toEqual([{ version: 'v1', from: 'staging', to: 'production' }]);
    expect(first.alerts[0].message).toBe('m v1 promoted from staging to production');
  });

  it('words the refusal to demote production in full', () => {
    expect(refusal(() => planPromotion(state({ v1: 'production' }), { version: 'v1', targetStage: 'staging', archiveExisting: true })).message).toBe(
      'm v1 is in production; a promotion cannot move it down.',
    );
  });

  it('says what a rollback restored, and ends a split only when one is set', () => {
    const plan = planRollback(state({ v1: 'archived', v2: 'production' }, ['v2', 'v1']), {});
    expect(plan.action).toBe('rollback');
    expect(plan.alerts).toEqual([
      {
        type: 'model_rolled_back',
        severity: 'info',
        name: 'm',
        version: 'v1',
        message: 'm rolled back from v2 to v1',
        details: { changes: plan.changes },
      },
    ]);
    expect(plan.clearTraffic).toBe(false);
  });

  it('words the rollback refusals in full', () => {
    expect(refusal(() => planRollback(state({ v1: 'staging' }), {}))).toEqual({
      code: 'failed_precondition',
      message: 'm has no production version to roll back.',
      next: [{ kind: 'promote', name: 'm' }],
    });
    expect(refusal(() => planRollback(state({ v1: 'production' }, ['v1']), {}))).toEqual({
      code: 'failed_precondition',
      message: 'm has had no other production version than v1, so there is nothing to roll back to. Pass to_version to choose one.',
      next: [],
    });
    expect(refusal(() => planRollback(state({ v1: 'production' }, ['v1']), { toVersion: 'v1' })).message).toBe(
      'm v1 is already the production version; choose another to_version.',
    );
  });

  it('words the archive refusals in full, the traffic share to a tenth of a percent', () => {
    expect(refusal(() => planArchive(state({ v1: 'production' }), { version: 'v1', force: false }))).toEqual({
      code: 'failed_precondition',
      message:
        'm v1 is the production version. Promote or roll back to another version first, or pass force: true to archive it and leave m with no production version.',
      next: [],
    });
    const s = state({ v1: 'production', v2: 'staging' }, ['v1'], { v1: 0.8766, v2: 0.1234 });
    expect(refusal(() => planArchive(s, { version: 'v2', force: false }))).toEqual({
      code: 'failed_precondition',
      message: 'm v2 takes 12.3% of the traffic; with force: true archiving it ends the split (all traffic then goes to production).',
      next: [{ kind: 'move_traffic', name: 'm' }],
    });
  });

  it('warns when production is archived, and ends a split only when the archive touches it', () => {
    const plan = planArchive(state({ v1: 'production' }), { version: 'v1', force: true });
    expect(plan.action).toBe('archive');
    expect(plan.alerts).toEqual([
      {
        type: 'model_archived',
        severity: 'warning',
        name: 'm',
        version: 'v1',
        message: 'm v1 was archived while in production; m has no production version now',
        details: { changes: plan.changes },
      },
    ]);
    expect(plan.clearTraffic).toBe(false);
    // Production archived with a split it takes no part of: the split still ends.
    expect(planArchive(state({ v1: 'production', v2: 'staging' }, [], { v2: 1 }), { version: 'v1', force: true }).clearTraffic).toBe(true);
    // A staging version outside the split: nothing to end, nothing to warn of.
    const outside = planArchive(state({ v1: 'production', v2: 'staging', v3: 'staging' }, [], { v1: 0.5, v2: 0.5 }), { version: 'v3', force: false });
    expect(outside.clearTraffic).toBe(false);
    expect(outside.alerts).toEqual([]);
    expect(outside.changes).toEqual([{ version: 'v3', from: 'staging', to: 'archived' }]);
  });
});
