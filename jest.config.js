/** Tests are type-checked by `npm run typecheck` first (tsconfig sets isolatedModules, so ts-jest transpiles file by file). */
module.exports = {
  // Node's environment, with a temporary folder for each test file that is removed after it (test/support/environment.ts).
  testEnvironment: '<rootDir>/test/support/environment.ts',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 60000,
  // Every response a test app gives is checked against the published OpenAPI document (test/support/app.ts).
  setupFilesAfterEnv: ['<rootDir>/test/support/setup.ts'],
};
