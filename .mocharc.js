// Mocha runs the TypeScript specs through tsx. Unit specs live with their package
// (packages/*/spec, importing its source); integration specs (spec/integration, and
// *.integration.spec.ts in a package) need InspIRCd or PostgreSQL and import packages
// through their public entry points, built into dist/ by `npm test` first. The spec globs are
// given by the package.json scripts (mocha adds command-line globs to any listed here).
module.exports = {
  require: ['tsx/cjs', 'spec/support/setup.ts'],
  reporter: 'spec/support/summary-reporter.js',
  timeout: 20000,
  exit: true,
};
