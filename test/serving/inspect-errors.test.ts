import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isDomainError } from '../../src/errors.js';
import { inspectOnnxModel } from '../../src/serving/inspect.js';
import { ModelChecks, type ModelChecker } from '../../src/serving/model-check.js';
import { fixture } from '../helpers.js';

describe('inspectOnnxModel: whose fault a failed check is', () => {
  it('calls a file that is not ONNX invalid_model, read in the real check process', async () => {
    const checks = new ModelChecks({ runTimeoutMs: 10_000, loadTimeoutMs: 30_000, memoryMb: 1024, maxOutputBytes: 64 << 20 });
    try {
      await expect(inspectOnnxModel(new TextEncoder().encode('not a model at all'), checks, 'artifact_path "x.onnx"')).rejects.toMatchObject({
        code: 'invalid_model',
        message: expect.stringContaining('is not a protobuf ONNX ModelProto'),
      });
      // The same process then checks a good model.
      const good = await inspectOnnxModel(fs.readFileSync(fixture('nba_points_v1.onnx')), checks, 'nba_points_v1.onnx');
      expect(good.signature.inputs.length).toBeGreaterThan(0);
    } finally {
      await checks.close();
    }
  });

  it('does not blame the file when the check itself could not run', async () => {
    const broken: ModelChecker = {
      examine: () => Promise.reject(new Error('spawn /usr/bin/node EAGAIN')),
      check: () => Promise.reject(new Error('unreachable')),
      removeZipMaps: () => Promise.reject(new Error('unreachable')),
      externalInitializers: () => Promise.reject(new Error('unreachable')),
      inlineExternalData: () => Promise.reject(new Error('unreachable')),
    };
    const failure = await inspectOnnxModel(fs.readFileSync(fixture('nba_points_v1.onnx')), broken, 'nba_points_v1.onnx').catch((e: unknown) => e);
    expect(isDomainError(failure)).toBe(false);
    expect((failure as Error).message).toBe('spawn /usr/bin/node EAGAIN');
  });
});
