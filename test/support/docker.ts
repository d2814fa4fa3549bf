/**
 * Integration tests need a real engine. Locally without one they are skipped with a loud warning;
 * in CI (CI=true) they fail instead, so a broken engine can never turn into a green run.
 */
import { describe, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

let cached: boolean | undefined;
export function dockerReachable(): boolean {
  cached ??=
    spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 20_000 }).status === 0;
  return cached;
}

export const IMAGE = 'stateguard/busybox:1.0.0';
export const NOSHELL_IMAGE = 'stateguard/noshell:1.0.0';

/**
 * describe() for suites that need an engine: run when `available`; otherwise a failing test under
 * CI=true (a missing engine never turns into a green run), else skipped with a loud warning.
 */
export function describeWhen(
  available: boolean,
  need: { what: string; setup: string },
  name: string,
  fn: () => void,
): void {
  if (available) {
    describe(name, fn);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it(`needs ${need.what} (CI=true: failing instead of skipping)`, () => {
        throw new Error(`${need.what} is not there; run ${need.setup} (CI must start the engine before the tests)`);
      });
    });
    return;
  }
  console.warn(`SKIPPED (no ${need.what}): ${name}. Run ${need.setup} to run it.`);
  describe.skip(name, fn);
}

/** describe() for suites that need docker. */
export function describeDocker(name: string, fn: () => void): void {
  describeWhen(dockerReachable(), { what: 'a reachable Docker engine', setup: 'scripts/setup-docker.sh' }, name, fn);
}

/** A unique compose project name per test, so parallel or leftover runs never collide. */
export function uniqueProject(prefix = 'sgt'): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

export function docker(args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('docker', args, { encoding: 'utf8', input, timeout: 120_000 });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Remove every container, volume and network labelled with the compose project. */
export function removeProject(project: string): void {
  const label = `label=com.docker.compose.project=${project}`;
  const ids = docker(['ps', '-aq', '--filter', label]).stdout.split('\n').filter(Boolean);
  if (ids.length) docker(['rm', '-f', ...ids]);
  const vols = docker(['volume', 'ls', '-q', '--filter', label]).stdout.split('\n').filter(Boolean);
  if (vols.length) docker(['volume', 'rm', '-f', ...vols]);
  // stateguard's own run records of the project's one-shots (labelled empty volumes)
  const records = docker(['volume', 'ls', '-q', '--filter', `label=io.stateguard.run-record.project=${project}`])
    .stdout.split('\n')
    .filter(Boolean);
  if (records.length) docker(['volume', 'rm', '-f', ...records]);
  const nets = docker(['network', 'ls', '-q', '--filter', label]).stdout.split('\n').filter(Boolean);
  if (nets.length) docker(['network', 'rm', ...nets]);
}

/** The compose flavor these tests run with: the one the product will use (STATEGUARD_COMPOSE). */
export function testFlavor(): 'v1' | 'v2' {
  const f = process.env.STATEGUARD_COMPOSE;
  if (f === 'v1' || f === 'v2') return f;
  return spawnSync('docker', ['compose', 'version', '--short'], { encoding: 'utf8', timeout: 20_000 }).status === 0
    ? 'v2'
    : 'v1';
}

/**
 * A test registered with one compose flavor only (v2): for engine behaviour the flavor cannot change
 * (a refusal before anything runs, the lock, a docker-level step), inside a suite that runs on both
 * flavors for what compose renders, hashes or recreates. Under v1 it is not registered at all (not
 * skipped); jest.config.js's V2_ONLY does the same for whole files.
 */
const notRegistered = Object.assign(() => undefined, { each: () => () => undefined }) as unknown as typeof it;
export const itOnce: typeof it = process.env.STATEGUARD_COMPOSE === 'v1' ? notRegistered : it;

/** Run compose of the test's flavor (setup and teardown use the same compose as the product). */
export function compose(
  files: string[],
  project: string,
  args: string[],
): { status: number; stdout: string; stderr: string } {
  const base = [...files.flatMap((f) => ['-f', f]), '-p', project, ...args];
  const [cmd, argv] = testFlavor() === 'v2' ? ['docker', ['compose', ...base]] : ['docker-compose', base];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 180_000 });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * Remove every container, volume and swarm config whose name or labels mention `token` (a unique
 * test token): what a contract test left on the engine, whatever the adapter made of it.
 */
export function removeEngineObjectsMentioning(token: string): void {
  const lines = (args: string[]): string[] =>
    docker(args)
      .stdout.split('\n')
      .filter((l) => l.includes(token));
  const ids = (args: string[]): string[] => lines(args).map((l) => l.split(' ')[0]!);
  const containers = ids(['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}} {{.Labels}}']);
  if (containers.length > 0) docker(['rm', '-f', ...containers]);
  const volumes = ids(['volume', 'ls', '--format', '{{.Name}} {{.Labels}}']);
  if (volumes.length > 0) docker(['volume', 'rm', '-f', ...volumes]);
  const configs = ids(['config', 'ls', '--format', '{{.ID}} {{.Name}} {{.Labels}}']);
  if (configs.length > 0) docker(['config', 'rm', ...configs]);
}
