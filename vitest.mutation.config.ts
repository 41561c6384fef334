import { defineConfig } from 'vitest/config';

/**
 * The tests Stryker runs (npm run mutation): those that run the source in this process. The e2e
 * suite drives the built server in dist/, which a mutant in src/ never reaches; tests needing
 * PostgreSQL or an S3 server are left to the full suite. Stryker's sandbox has no dist/, so drift
 * comparisons run in this thread (the mutated source), and the test of the built drift threads is
 * left out.
 */
export default defineConfig({
  test: {
    include: [
      'test/registry/**/*.test.ts',
      'test/serving/**/*.test.ts',
      'test/monitoring/**/*.test.ts',
      'test/mcp/**/*.test.ts',
      'test/http/**/*.test.ts',
      'test/files.test.ts',
    ],
    exclude: [
      'test/registry/artifacts-s3.test.ts',
      'test/serving/onnx-hostile.test.ts',
      'test/monitoring/alert-delivery.test.ts',
      'test/monitoring/drift-threads.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { ORT_DISABLE_TELEMETRY: '1', LOG_LEVEL: 'silent' },
  },
});
