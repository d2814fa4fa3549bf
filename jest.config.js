// ESM mode: @actions/* v3+ are ESM-only. ts-jest only transpiles here; `npm test` runs tsc first.
// Six projects: `unit` (no docker, no built dist/: `npm run test:unit` runs anywhere, and
// fast), `differential` (test/differential: our tar walker against GNU tar, Python and
// busybox, which it spawns; no docker), `runner`
// (test/runner: spawns the committed dist/ bundles as a runner does; some need docker), the
// real-engine suites per compose flavor (STATEGUARD_COMPOSE=v1 and v2; those the flavor cannot
// change run with v2 only, see V2_ONLY), each scenario set up with the flavor the product uses
// (test/support/flavor-*.ts), and `swarm`
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

// Suites whose subject the compose flavor does not touch run once, with v2: the engine-level work of
// snapshot (docker stop/cp/start), provenance (the manifest and verify-backup), the data-mount
// refusals (all made before anything is stopped or recreated), restore's helper image (the probe;
// its restore is restore.test.ts's path) and the restore drill (scratch volumes, a throwaway
// container). Everything compose renders, hashes or recreates (plan, corpus, config-diff, apply,
// restore, upgrade, probe, dry runs, recipes, the record store contract) runs on both flavors.
// The setup script is flavor-independent too; the README's adoption section uses `docker compose`
// (v2). swarm*.test.ts belong to the `swarm` project only.
const V2_ONLY = [
  'setup-docker',
  'adoption',
  'snapshot',
  'provenance',
  'data-mounts',
  'restore-helper',
  'restore-drill',
];
const integration = (flavor) => ({
  ...base,
  displayName: `compose-${flavor}`,
  roots: ['<rootDir>/test/integration'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: [
    '/swarm[^/]*\\.test\\.ts$',
    ...(flavor === 'v1' ? V2_ONLY.map((name) => `/${name}\\.test\\.ts$`) : []),
  ],
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
