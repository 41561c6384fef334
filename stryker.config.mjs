// Mutation testing of the domain core (npm run mutation; docs/testing.md has the last score).
// Each mutant runs only the tests that cover it (coverageAnalysis perTest); the TypeScript checker
// drops mutants that do not compile before any test runs.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  mutate: [
    'src/registry/rules.ts',
    'src/serving/features.ts',
    'src/serving/traffic.ts',
    'src/monitoring/drift.ts',
    'src/monitoring/correction.ts',
    // The drift statistics: the list and each statistic, KS's parts in statistics/ks/.
    'src/monitoring/statistics/**/*.ts',
    'src/files.ts',
    'src/http/rest.ts',
    'src/http/rest-bodies.ts',
    'src/mcp/approval.ts',
    // The call gate: roles, read-only mode, dry runs, approval.
    'src/mcp/server.ts:36-140',
  ],
  // The sandbox keeps dist/serving (the model processes' entry, not mutated) and no other built
  // code, so drift threads fall back to the mutated source in the test's own thread.
  ignorePatterns: ['/dist/*', '!/dist/serving', 'reports', '.venv*', 'mlruns', 'node_modules/.cache'],
  concurrency: 2,
  // A static mutant (a module-level constant) re-runs every test; they are left out.
  ignoreStatic: true,
  dryRunTimeoutMinutes: 30,
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 80, low: 70, break: 70 },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
