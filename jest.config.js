/** Tests are type-checked by `npm run typecheck` first (tsconfig sets isolatedModules, so ts-jest transpiles file by file). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 60000,
  // Every response a test app gives is checked against the published OpenAPI document (test/support/app.ts).
  setupFilesAfterEnv: ['<rootDir>/test/support/setup.ts'],
};
