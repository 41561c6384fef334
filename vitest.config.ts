import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A PostgreSQL server for the run, when PostgreSQL is installed (tools/postgres-server.sh).
    globalSetup: ['test/postgres/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real processes, real SQLite files and ONNX sessions: forks isolate native modules cleanly.
    pool: 'forks',
    env: { ORT_DISABLE_TELEMETRY: '1', LOG_LEVEL: 'silent' },
  },
});
