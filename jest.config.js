// ESM mode: @actions/* v3+ are ESM-only. ts-jest only transpiles here; `npm test` runs tsc first.
// Four projects: `unit` (no docker, no built dist/: `npm run test:unit` runs anywhere), `runner`
// (test/runner: spawns the committed dist/ bundles as a runner does; some need docker), and the
// real-engine suites once per compose flavor (STATEGUARD_COMPOSE=v1, then v2), each scenario set
// up with the flavor the product uses (test/support/flavor-*.ts).
const base = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
};

const integration = (flavor) => ({
  ...base,
  displayName: `compose-${flavor}`,
  roots: ['<rootDir>/test/integration'],
  testMatch: ['**/*.test.ts'],
  // the setup script is flavor-independent: run it once, with v2
  testPathIgnorePatterns: flavor === 'v1' ? ['setup-docker'] : [],
  setupFiles: [`<rootDir>/test/support/flavor-${flavor}.ts`],
});

export default {
  testTimeout: 120000,
  projects: [
    { ...base, displayName: 'unit', roots: ['<rootDir>/test'], testMatch: ['**/*.test.ts'], testPathIgnorePatterns: ['/test/integration/', '/test/runner/'] },
    { ...base, displayName: 'runner', roots: ['<rootDir>/test/runner'], testMatch: ['**/*.test.ts'] },
    integration('v1'),
    integration('v2'),
  ],
};
