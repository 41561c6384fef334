import type { ModelVersion } from '../src/registry/types.js';

/** A version record as the store hands it over, for the rules tested in process: what a test does not name is plain. */
export function modelVersion(fields: Pick<ModelVersion, 'name' | 'version' | 'stage'> & Partial<ModelVersion>): ModelVersion {
  return {
    seq: 1,
    artifactSha256: 'a'.repeat(64),
    artifactBytes: 1,
    sourcePath: null,
    signature: { inputs: [], outputs: [] },
    featureNames: null,
    metrics: {},
    tags: {},
    description: '',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...fields,
  };
}
