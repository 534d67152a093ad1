// @ts-check
/**
 * ESLint (flat config). TypeScript gets typescript-eslint's strict and stylistic type-aware
 * rules, typed through each file's own tsconfig by the project service (functions/, test/,
 * web/); the .ts files no tsconfig includes (scripts/, web/build.ts, any at the root) get
 * test/tsconfig.json's compiler options. The CommonJS helpers get plain JavaScript rules.
 * Layout is Prettier's (.prettierrc.json): none of these rules is about formatting, so the two
 * never disagree (eslint-config-prettier is not installed, and is not needed).
 */
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Node's globals, for the JavaScript files (the `globals` package is not installed). */
const nodeGlobals = Object.fromEntries(
  'process console Buffer URL URLSearchParams setTimeout clearTimeout setInterval clearInterval setImmediate clearImmediate queueMicrotask structuredClone fetch AbortController AbortSignal TextEncoder TextDecoder'
    .split(' ')
    .map((name) => [name, 'readonly']),
);
const commonJsGlobals = { ...nodeGlobals, require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', __filename: 'readonly' };

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    '.ci/', // the pinned Node and firebase-tools installs
    'functions/lib/', // tsc's output
    'web/dist/', // the web app's build
    'docs/', // `npm run docs` writes it
    'test/.artifacts/',
    'coverage/',
  ]),
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.strictTypeChecked, tseslint.configs.stylisticTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.ts', 'scripts/*.ts', 'web/build.ts'],
          defaultProject: 'test/tsconfig.json',
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // With noUncheckedIndexedAccess, `list[i]!` after a length check is the idiom; banning it
      // would only trade `!` for casts.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Its findings here are deliberate runtime guards on values typed stricter than they are:
      // `(error as NodeJS.ErrnoException)?.code` on an unknown, request validation, flags a
      // callback sets, and test teardown (`await api?.close()`) after a `before` that may fail.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // An async function without `await` is how a synchronous implementation (the SQLite store,
      // test doubles) meets a Promise-returning port, its throws becoming rejections.
      '@typescript-eslint/require-await': 'off',
      // `.catch(() => {})` on best-effort cleanup and no-op `close()`s are meant.
      '@typescript-eslint/no-empty-function': 'off',
      // Spreading a string into code points (password length, strength) is meant.
      '@typescript-eslint/no-misused-spread': 'off',
      // Its two findings are deliberate structural stand-ins (helmet's request, winston's transport).
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      // `(error, key) => (error ? reject(error) : resolve(key))`, `return resolve()` and
      // `(note(c), tx.set(c, id, data))` are the code's idioms, not confusion.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // Numbers and booleans print as expected; nullish, objects and `any` still need a decision.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // Rethrowing what was caught (typed unknown) is not throwing a non-error.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true, allowThrowingAny: false }],
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true, allowThrowingAny: false }],
      // `a || b` on booleans is not a nullish fallback; `??` there would change the result.
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { boolean: true } }],
      // `!family || family.revokedAt !== null` says both cases; `family?.revokedAt !== null` hides
      // the missing one in undefined-is-not-null.
      '@typescript-eslint/prefer-optional-chain': 'off',
      // `_`-names and rest siblings (`const { secret: _, ...shown } = doc`) are how values are left out.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests read parsed JSON bodies (`any`) member by member, and the assertions check the
    // values; `delete process.env[name]` is how a test unsets a variable; tests take methods off
    // prototypes to restore them, and destructure their fixtures' `dispose`.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-dynamic-delete': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'commonjs', globals: commonJsGlobals },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'module', globals: nodeGlobals },
  },
);
