// ESLint (typescript-eslint) over the sources, the tests and the scripts; run by `npm test`.
// Formatting is Prettier's (`.prettierrc.json`); lint rules here are about correctness.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tmp/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
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
