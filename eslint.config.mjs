// ESLint flat config, run by test/run.js before the tests (by hand: `npx eslint src test examples dashboards`).
// typescript-eslint's `recommended` rules, syntax only: the type-aware sets need a full type-check per run, several
// times the time, and `tsc --strict` (with noUnusedLocals/Parameters) already runs before the tests.
// Settings changed from `recommended`, and why:
// - no-unused-vars: a leading `_` marks a binding unused on purpose (`const { a: _a, ...rest } = o`, `(_err) =>`),
//   the convention tsc's noUnused* checks already accept.
// - prefer-const: a `let` assigned once, but after a closure that reads it was made (a cleanup registered before the
//   resource exists), stays a `let` (ignoreReadBeforeAssign).
// - no-require-imports: off. A `require()` inside a function is how this CommonJS project loads a module on first
//   use only (pino-pretty, liquidjs, busboy; redis and zod in the examples) or by a path known at run time
//   (benchmarks, deploy/*.js); a comment above each such call says why, and it casts its result to
//   the module's type. Top-level imports are `import` everywhere (review).
// Single exceptions carry an `eslint-disable-next-line <rule> -- <reason>` comment at their line.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }],
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
);
