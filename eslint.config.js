// ESLint: typescript-eslint's type-checked rules on TypeScript, the syntax-only ones on JavaScript.
// Import cycles (except type-only) are checked by test/node/architecture.test.ts.
import { builtinModules } from 'node:module';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Node's globals: the library (src/) runs on Workers and in any Web-standard runtime. */
const NODE_GLOBALS = ['Buffer', 'process', 'global', 'require', 'module', '__dirname', '__filename', 'setImmediate', 'clearImmediate'];

export default defineConfig(
  globalIgnores([
    '**/dist/',
    'dist-worker/',
    '.wrangler/',
    '.test-dist/',
    'bench/.tmp/',
    // Built against the packed tarball by test/packaging/run.mjs, not against this tree.
    'test/packaging/consumers/',
  ]),
  {
    files: ['**/*.{ts,mts}'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Type-only imports are marked, so the import-cycle check can tell them apart.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `declare global { namespace Express { … } }` is how Express's Request is augmented.
      '@typescript-eslint/no-namespace': ['error', { allowDeclarations: true }],
      // `async` without `await` is kept on purpose: it implements a Promise-returning interface
      // and turns a synchronous throw into a rejection.
      '@typescript-eslint/require-await': 'off',
      // `(await response.json()) as T` is the house style; the rule asks for `response.json<T>()`,
      // a signature only the Workers types have.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    files: ['**/*.{js,mjs}'],
    extends: [tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests read JSON answers and use vitest's asymmetric matchers (`expect.any(…)`), both typed
    // `any`, and hand methods to `expect` and spies: the unsafe-`any` and unbound-method rules
    // would flag the idiom, not a defect. They stay on for src/.
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // The library and the worker: Web and Workers APIs only (tsconfig.src.json checks the types).
    files: ['src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['node:*'], message: 'src/ runs on Workers: no Node modules.' }],
          paths: builtinModules.map((name) => ({ name, message: 'src/ runs on Workers: no Node modules.' })),
        },
      ],
      'no-restricted-globals': ['error', ...NODE_GLOBALS.map((name) => ({ name, message: 'src/ runs on Workers: no Node globals.' }))],
    },
  },
);
