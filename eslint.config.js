// Lint for lib, test, scripts, bench and sample (`npm run lint`, part of `npm test`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Node's globals for the plain .mjs files (TypeScript checks its own files; `globals` is not installed).
const nodeGlobals = Object.fromEntries(
  [
    'AbortController', 'AbortSignal', 'Buffer', 'URL', 'URLSearchParams', 'TextDecoder', 'TextEncoder', 'console',
    'process', 'performance', 'fetch', 'structuredClone', 'queueMicrotask', 'setTimeout', 'clearTimeout',
    'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'globalThis', 'crypto',
  ].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'test/fixtures/', 'coverage/', 'sample/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: nodeGlobals,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      // An async method that awaits nothing still turns a throw into a rejection, as its interface promises.
      '@typescript-eslint/require-await': 'off',
      // Class references: Nest's metadata and DI APIs take `Function` (a constructor type would refuse abstract classes).
      '@typescript-eslint/no-unsafe-function-type': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // A function a reader can hold: split by responsibility past these (16: a constructor validating a few
    // options with defaults, like the scheduler engine's, is still one thing).
    files: ['lib/**/*.ts'],
    rules: {
      complexity: ['error', 16],
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Tests read JSON.parse results and Redis replies to assert on them: the assertion is the type check.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // expect(obj.method) and spying pass methods without calling them.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Plain JS (bench, scripts, loaders): not in a tsconfig, so no type information.
    files: ['**/*.{js,mjs,cjs}'],
    ...tseslint.configs.disableTypeChecked,
  },
);
