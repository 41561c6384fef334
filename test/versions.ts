import type { ModelVersion, NewVersion } from '../src/registry/types.js';

/** A version record as the store hands it over, for the rules tested in process: what a test does not name is plain. */
export function modelVersion(fields: Pick<ModelVersion, 'name' | 'version' | 'stage'> & Partial<ModelVersion>): ModelVersion {
  return {
    seq: 1,
    ...newVersion(fields),
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...fields,
  };
}

/** A version to register, as a store takes it: what a test does not name is plain. */
export function newVersion(fields: Pick<NewVersion, 'name' | 'version'> & Partial<NewVersion>): NewVersion {
  return {
    artifactSha256: 'a'.repeat(64),
    artifactBytes: 1,
    sourcePath: null,
    signature: { inputs: [], outputs: [] },
    featureNames: null,
    metrics: {},
    tags: {},
    description: '',
    ...fields,
  };
}
