// Lint rules (`npm run lint`) that catch what the type checker does not; each
// has one line on why it is here.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'protos/gen/**', 'coordinator/console/**', '**/*.mjs', '**/*.js'],
  },
  {
    // A disable comment that no longer suppresses anything hides the next real finding on its line.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // A promise nobody awaits or handles: its rejection crashes the process or vanishes.
      '@typescript-eslint/no-floating-promises': 'error',
      // A promise passed where the result is ignored (if conditions, spreads, void-returning members) is never awaited.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      // Awaiting a value that is not a promise is a mistake about its type (often a forgotten call or a sync API).
      '@typescript-eslint/await-thenable': 'error',
      // Inside try/catch a returned promise must be awaited or its rejection skips the catch/finally; elsewhere no await.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // An `as`/`!` that changes nothing hides the real type; `x as unknown` stays, it stops Array.isArray narrowing x to any[].
      '@typescript-eslint/no-unnecessary-type-assertion': ['error', { typesToIgnore: ['unknown'] }],
      // `import type` for types only, so imports with side effects are the ones that stay at run time.
      '@typescript-eslint/consistent-type-imports': 'error',
      // Dead variables and imports mislead readers; a leading `_` marks one kept on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
      // `==` coerces types (`'0' == 0`, `null == undefined`); say which comparison is meant.
      eqeqeq: 'error',
      // Services log through pino as JSON; a stray console line breaks the log stream and skips redaction.
      'no-console': 'error',
      // `any` switches off type checking for everything it touches; use `unknown` and narrow.
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // The CLI, benchmarks, scripts and tests print to the terminal on purpose.
    files: ['cli/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // Tests and their harness build malformed inputs and reach into internals; `any` there is deliberate.
    files: ['test/**/*.ts', 'harness/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
