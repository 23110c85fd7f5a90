// Three tiers. Integration and e2e tests each get a fresh PostgreSQL database per file (test/support).
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
};
const common = {
  testEnvironment: 'node',
  transform,
  moduleFileExtensions: ['ts', 'js', 'cjs', 'mjs', 'json'],
};
// Integration and e2e tests wait on real servers: 30 s a test (test/support/serverTestTimeout.ts).
const serverTests = { ...common, setupFilesAfterEnv: ['<rootDir>/test/support/serverTestTimeout.ts'] };

module.exports = {
  reporters: ['default', '<rootDir>/test/support/summaryReporter.js'],
  globalSetup: '<rootDir>/test/support/globalSetup.mjs',
  globalTeardown: '<rootDir>/test/support/globalTeardown.mjs',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...serverTests,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
    { ...serverTests, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
