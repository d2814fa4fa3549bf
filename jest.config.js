// ESM mode: @actions/* v3+ are ESM-only. ts-jest only transpiles here; `npm test` runs tsc first.
// Six projects: `unit` (no docker, no built dist/: `npm run test:unit` runs anywhere, and
// fast), `differential` (test/differential: our tar walker against GNU tar, Python and
// busybox, which it spawns; no docker), `runner`
// (test/runner: spawns the committed dist/ bundles as a runner does; some need docker), the
// real-engine suites once per compose flavor (STATEGUARD_COMPOSE=v1, then v2), each scenario set
// up with the flavor the product uses (test/support/flavor-*.ts), and `swarm`
// (test/integration/swarm*.test.ts) on a single-node swarm: its globalSetup makes the engine a
// swarm manager if it is not one, and its globalTeardown leaves only a swarm that setup created.
// Jest runs a project's globalSetup/globalTeardown only when that project has tests in the run.
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
  // the setup script is flavor-independent: run it once, with v2; the README's adoption section uses
  // `docker compose` (v2), so its test runs with v2 only.
  // swarm*.test.ts belong to the `swarm` project only.
  testPathIgnorePatterns:
    flavor === 'v1' ? ['setup-docker', '/adoption\\.test\\.ts$', '/swarm[^/]*\\.test\\.ts$'] : ['/swarm[^/]*\\.test\\.ts$'],
  setupFiles: [`<rootDir>/test/support/flavor-${flavor}.ts`],
});

export default {
  testTimeout: 120000,
  projects: [
    { ...base, displayName: 'unit', roots: ['<rootDir>/test'], testMatch: ['**/*.test.ts'], testPathIgnorePatterns: ['/test/integration/', '/test/runner/', '/test/differential/'] },
    // The tar walker against the other readers (GNU tar, Python, busybox): spawns them, no engine.
    { ...base, displayName: 'differential', roots: ['<rootDir>/test/differential'], testMatch: ['**/*.test.ts'] },
    { ...base, displayName: 'runner', roots: ['<rootDir>/test/runner'], testMatch: ['**/*.test.ts'] },
    integration('v1'),
    integration('v2'),
    {
      ...base,
      displayName: 'swarm',
      roots: ['<rootDir>/test/integration'],
      testMatch: ['**/swarm*.test.ts'],
      setupFiles: ['<rootDir>/test/support/flavor-v2.ts'],
      globalSetup: '<rootDir>/test/support/swarm-global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/swarm-global-teardown.mjs',
    },
  ],
};
