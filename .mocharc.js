// Mocha runs the TypeScript specs through tsx; the packages themselves are
// imported from their built dist/ (npm test builds first), as users get them.
module.exports = {
  require: ['tsx/cjs', 'spec/support/setup.ts'],
  spec: ['spec/**/*.spec.ts', 'packages/*/spec/**/*.spec.ts'],
  reporter: 'spec/support/summary-reporter.js',
  timeout: 20000,
  exit: true,
};
