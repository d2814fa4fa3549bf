// ESLint (typescript-eslint) over the sources, the tests and the scripts; run by `npm test`.
// Formatting is Prettier's (`.prettierrc.json`); lint rules here are about correctness.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tmp/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Type-aware rules (floating promises, unbound methods, base-to-string, …) over the TypeScript.
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['src/**/*.ts', 'test/**/*.ts'] })),
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `any` is allowed at the boundary where docker's and GitHub's JSON is parsed (below), so the
      // rules that follow an `any` through member access, calls and assignments would only repeat that.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Values parsed from YAML and JSON are `unknown` and stringified on purpose (whatever they are,
      // they become text that a later check refuses); a typed object stringified by accident is still an error.
      '@typescript-eslint/no-base-to-string': ['error', { checkUnknown: false }],
      // A port's async method that returns a constant or throws stays async: a throw must reach the
      // caller as a rejected promise, as every other implementation's does, never synchronously.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', fetch: 'readonly', Response: 'readonly', Headers: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', performance: 'readonly', NodeJS: 'readonly', AbortController: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly', RequestInit: 'readonly', Request: 'readonly' } },
    rules: {
      // Unused code is dead code; a leading underscore marks a deliberately unused parameter.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Parsed JSON from docker and the GitHub API is typed at the boundary; `any` stays there.
      '@typescript-eslint/no-explicit-any': 'off',
      'no-control-regex': 'off',
    },
  },
);
