// Type-aware linting of the source, tests and tools (npm run lint; part of npm test).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'reports/**', '.stryker-tmp/**', 'coverage/**', '.venv*/**', 'mlruns/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An adapter's method is async because its port is (PostgreSQL's answers are); SQLite's answers at once.
      '@typescript-eslint/require-await': 'off',
      // `_` names what is left out on purpose: an unused parameter, a property dropped by destructuring.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['test/**'],
    rules: {
      // vitest's asymmetric matchers (expect.any, expect.stringMatching) and parsed answers are typed any.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Hostile inputs: arrays with holes, text with control characters, on purpose.
      'no-sparse-arrays': 'off',
      'no-control-regex': 'off',
    },
  },
  { files: ['**/*.mjs', '**/*.js', 'test/ui/host/**'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.mjs', '**/*.js'], languageOptions: { globals: globals.node } },
);
