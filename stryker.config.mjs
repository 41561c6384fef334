// Mutation testing of the domain core (npm run mutation; docs/testing.md has the last score).
// Each mutant runs only the tests that cover it (coverageAnalysis perTest). No TypeScript checker:
// on two cores it halved the mutants tested per minute; a mutant that does not compile runs and
// fails its tests instead. MUTATE=wide adds the KS port, the REST routes and the MCP call gate
// (hours on two cores: their tests start servers and model processes).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  checkers: [],
  tsconfigFile: 'tsconfig.json',
  coverageAnalysis: 'perTest',
  mutate: [
    'src/registry/rules.ts',
    'src/serving/features.ts',
    'src/serving/traffic.ts',
    'src/monitoring/drift.ts',
    'src/monitoring/correction.ts',
    'src/monitoring/statistics/index.ts',
    'src/monitoring/statistics/psi.ts',
    'src/monitoring/statistics/wasserstein.ts',
    'src/files.ts',
    'src/http/rest-bodies.ts',
    ...(process.env.MUTATE === 'wide'
      ? [
          'src/monitoring/statistics/ks/*.ts',
          'src/http/rest.ts',
          'src/mcp/approval.ts',
          /* the call gate: roles, read-only, dry runs, approval */ 'src/mcp/server.ts:51-195',
        ]
      : []),
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
