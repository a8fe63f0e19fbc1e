// Lint for every package, spec and bench: typescript-eslint's type-aware rules, because a
// floating or misused promise is how a bridge silently drops a message. Formatting is Prettier's
// job (`npm run format`); nothing here is about layout.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.bench-out/**', 'coverage/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Bridges parse protocols whose control characters are data (IRC formatting codes, CTCP's \x01, NUL).
      'no-control-regex': 'off',
      // An async method that does not await is how an interface with async members is implemented.
      '@typescript-eslint/require-await': 'off',
      // Passing on a reason we were given (a caught error, an abort signal's reason) unchanged is right;
      // what the rule is for is inventing a non-Error rejection, which stays an error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // Unit specs and benches live in each package but are outside its tsconfig (which builds src/
    // only); spec/tsconfig.json is the project that includes them, so type-aware rules use it.
    files: ['spec/**/*.ts', 'packages/*/spec/**/*.ts', 'bench/**/*.ts', 'packages/*/bench/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: false, project: ['./spec/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      // Keep disableTypeChecked's parser options: plain JavaScript is in no tsconfig project.
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { module: 'readonly', require: 'readonly', process: 'readonly', __dirname: 'readonly', console: 'readonly' },
    },
  },
  {
    // The .js files (.mocharc.js, the mocha reporter) are CommonJS, loaded by mocha with require():
    // require() is how they import.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
