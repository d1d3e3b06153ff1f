// ESLint with typescript-eslint's type-aware rules: what the compiler cannot see (a promise left floating, an `any`
// spreading through the code, an object printed as "[object Object]"). Formatting is Prettier's alone
// (eslint-config-prettier turns off every rule that would argue with it). `npm test` runs both (npm run lint).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  // The client's schema.ts is openapi-typescript's output, compared byte for byte with a fresh generation
  // (test/clients/schema.test.ts): it is not written here, so not linted here.
  { ignores: ['dist/', '**/dist/', 'coverage/', 'data/', 'test-output/', 'node_modules/', 'clients/typescript/src/schema.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    // A disable comment that no longer silences anything is an error: each one left must still mean something.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_`-prefixed names are parameters a signature requires (Express's error handler takes four).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests read answers through supertest, whose `res.body` is `any`: every answer is already checked against the
    // OpenAPI document (test/support/setup.ts), so typing each read again would add casts, not safety.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The few plain JavaScript files (jest.config.js, the README example check) are CommonJS run by Node, outside the TypeScript project.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node, sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  prettier,
);
