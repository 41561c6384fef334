import { describe, expect, it } from 'vitest';
import { featureWidth, nextVersionLabel, planArchive, planPromotion, planRollback, resolveFeatureNames } from '../../src/registry/rules.js';
import type { ModelSignature } from '../../src/registry/types.js';
import { sig, state, version } from './rule-states.js';

describe('version labels', () => {
  it('numbers registrations v1, v2, … and skips labels users took', () => {
    expect(nextVersionLabel([])).toBe('v1');
    expect(nextVersionLabel([version('v1', 'none', 1)])).toBe('v2');
    expect(nextVersionLabel([version('v2', 'none', 1)])).toBe('v3');
    expect(nextVersionLabel([version('v2.0', 'none', 1), version('v1.5', 'none', 2)])).toBe('v3');
  });
});

describe('promotion', () => {
  it('archives the previous production version by default', () => {
    const plan = planPromotion(state({ v1: 'production', v2: 'staging' }), { version: 'v2', targetStage: 'production', archiveExisting: true });
    expect(plan.changes).toEqual([
      { version: 'v2', from: 'staging', to: 'production' },
      { version: 'v1', from: 'production', to: 'archived' },
    ]);
    expect(plan.alerts.map((a) => [a.type, a.severity])).toEqual([['model_promoted', 'info']]);
  });

  it('ends an explicit traffic split when production changes', () => {
    const s = state({ v1: 'production', v2: 'staging' }, ['v1'], { v1: 0.8, v2: 0.2 });
    expect(planPromotion(s, { version: 'v2', targetStage: 'production', archiveExisting: true }).clearTraffic).toBe(true);
    expect(planPromotion(s, { version: 'v2', targetStage: 'staging', archiveExisting: true }).clearTraffic).toBeFalsy();
    expect(planRollback(state({ v1: 'archived', v2: 'production' }, ['v2', 'v1'], { v2: 1 }), {}).clearTraffic).toBe(true);
  });

  it('moves the previous production version to staging with archiveExisting false', () => {
    const plan = planPromotion(state({ v1: 'production', v2: 'none' }), { version: 'v2', targetStage: 'production', archiveExisting: false });
    expect(plan.changes[1]).toEqual({ version: 'v1', from: 'production', to: 'staging' });
  });

  it('is a no-op for a version already in the target stage', () => {
    const plan = planPromotion(state({ v1: 'production' }), { version: 'v1', targetStage: 'production', archiveExisting: true });
    expect(plan).toEqual({ action: 'promote', changes: [], alerts: [] });
  });

  it('refuses to move the production version down to staging', () => {
    expect(() => planPromotion(state({ v1: 'production' }), { version: 'v1', targetStage: 'staging', archiveExisting: true })).toThrow(
      expect.objectContaining({
        code: 'failed_precondition',
        message: expect.stringMatching(/cannot move it down/),
        next: [
          { kind: 'rollback', name: 'm' },
          { kind: 'archive_with_force', name: 'm' },
        ],
      }),
    );
  });

  it('names the known versions when the version is unknown', () => {
    expect(() => planPromotion(state({ v1: 'none', v2: 'none' }), { version: 'v7', targetStage: 'staging', archiveExisting: true })).toThrow(
      /versions: v1, v2/,
    );
  });
});

describe('rollback', () => {
  it('restores the version in production before the current one', () => {
    const s = state({ v1: 'archived', v2: 'archived', v3: 'production' }, ['v3', 'v2', 'v1']);
    const plan = planRollback(s, {});
    expect(plan.changes).toEqual([
      { version: 'v2', from: 'archived', to: 'production' },
      { version: 'v3', from: 'production', to: 'archived' },
    ]);
    expect(plan.alerts[0].type).toBe('model_rolled_back');
  });

  it('skips repeated entries of the current version in the history', () => {
    const s = state({ v1: 'archived', v2: 'production' }, ['v2', 'v2', 'v1']);
    expect(planRollback(s, {}).changes[0].version).toBe('v1');
  });

  it('goes to an explicit to_version', () => {
    const s = state({ v1: 'archived', v2: 'staging', v3: 'production' }, ['v3', 'v1']);
    expect(planRollback(s, { toVersion: 'v2' }).changes[0]).toEqual({ version: 'v2', from: 'staging', to: 'production' });
  });

  it('refuses without a production version, without history, or to the current version', () => {
    expect(() => planRollback(state({ v1: 'staging' }), {})).toThrow(/no production version/);
    expect(() => planRollback(state({ v1: 'production' }, ['v1']), {})).toThrow(/to_version/);
    expect(() => planRollback(state({ v1: 'production' }, ['v1']), { toVersion: 'v1' })).toThrow(/already the production/);
  });
});

describe('archive', () => {
  it('needs force for the production version', () => {
    expect(() => planArchive(state({ v1: 'production' }), { version: 'v1', force: false })).toThrow(/force/);
    const plan = planArchive(state({ v1: 'production' }), { version: 'v1', force: true });
    expect(plan.changes).toEqual([{ version: 'v1', from: 'production', to: 'archived' }]);
    expect(plan.alerts[0].severity).toBe('warning');
  });

  it('refuses a version that still takes traffic unless forced, and then ends the split', () => {
    const s = state({ v1: 'production', v2: 'staging' }, ['v1'], { v1: 0.8, v2: 0.2 });
    expect(() => planArchive(s, { version: 'v2', force: false })).toThrow(/20% of the traffic/);
    expect(planArchive(s, { version: 'v2', force: true }).clearTraffic).toBe(true);
  });

  it('archives other stages without force and is a no-op when archived', () => {
    expect(planArchive(state({ v1: 'staging' }), { version: 'v1', force: false }).changes).toHaveLength(1);
    expect(planArchive(state({ v1: 'archived' }), { version: 'v1', force: false })).toEqual({ action: 'archive', changes: [], alerts: [] });
  });
});

describe('feature names', () => {
  it('takes the argument, else the metadata, and checks the count against the input width', () => {
    expect(featureWidth(sig)).toBe(3);
    expect(resolveFeatureNames(sig, ['a', 'b', 'c'], ['x', 'y', 'z'])).toEqual(['a', 'b', 'c']);
    expect(resolveFeatureNames(sig, undefined, ['x', 'y', 'z'])).toEqual(['x', 'y', 'z']);
    expect(resolveFeatureNames(sig, undefined, null)).toBeNull();
    expect(() => resolveFeatureNames(sig, ['a', 'b'], null)).toThrow(/takes 3 features/);
    expect(() => resolveFeatureNames(sig, ['a', 'a', 'b'], null)).toThrow(/more than once/);
  });

  it('uses input names for a model with one input per feature', () => {
    const multi: ModelSignature = { inputs: ['a', 'b'].map((n) => ({ name: n, type: 'float32', shape: ['?', 1] })), outputs: [] };
    expect(featureWidth(multi)).toBe(2);
    expect(resolveFeatureNames(multi, undefined, null)).toEqual(['a', 'b']);
  });
});
