/**
 * Swarm suites (the `swarm` jest project) need a real engine that is a swarm manager; the
 * project's globalSetup (swarm-global-setup.mjs) makes it one if it is inactive. Locally without
 * one they are skipped with a loud warning; in CI (CI=true) they fail instead.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeWhen, docker, dockerReachable } from './docker.js';

let cached: boolean | undefined;
/** Docker answers, and the engine is an active swarm manager. */
export function swarmReachable(): boolean {
  if (cached === undefined) {
    const r = dockerReachable()
      ? docker(['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'])
      : undefined;
    cached = r?.status === 0 && r.stdout.trim() === 'active true';
  }
  return cached;
}

/** describe() for suites that need a swarm manager (like describeDocker). */
export function describeSwarm(name: string, fn: () => void): void {
  describeWhen(
    swarmReachable(),
    { what: 'a Docker engine that is a swarm manager', setup: 'scripts/setup-docker.sh --swarm' },
    name,
    fn,
  );
}

/** A unique stack name per test, so parallel or leftover runs never collide. */
export function uniqueStack(prefix = 'sgs'): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

/** Poll predicate until it holds or timeoutMs passes; true if it held. */
export async function waitFor(predicate: () => boolean, timeoutMs: number, intervalMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (predicate()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** `docker stack deploy` of one compose file, local images only; throws with stderr on failure. */
export function deployStack(file: string, stack: string): void {
  const r = docker(['stack', 'deploy', '--resolve-image', 'never', '-c', file, stack]);
  if (r.status !== 0) throw new Error(`docker stack deploy ${stack} failed (${r.status}): ${r.stderr || r.stdout}`);
}

const ids = (args: string[]): string[] => docker(args).stdout.split('\n').filter(Boolean);

/** What of the stack is still there (empty lists when removeStack is done). */
export function stackLeftovers(stack: string): {
  services: string[];
  containers: string[];
  volumes: string[];
  networks: string[];
  configs: string[];
} {
  const ns = `label=com.docker.stack.namespace=${stack}`;
  return {
    services: ids(['service', 'ls', '-q', '--filter', ns]),
    containers: ids(['ps', '-aq', '--filter', ns]),
    volumes: ids(['volume', 'ls', '-q', '--filter', ns]),
    networks: ids(['network', 'ls', '-q', '--filter', ns]),
    configs: ids(['config', 'ls', '-q', '--filter', ns]),
  };
}

/**
 * Remove everything a test created for the stack and wait (bounded) until it is gone: the stack's
 * services and their task containers, its volumes, networks and configs, stateguard's lock configs,
 * run-record and last-known-good volumes of that project, and helper containers on its volumes.
 * Throws if something is still there at the end.
 */
export async function removeStack(stack: string, timeoutMs = 60_000): Promise<void> {
  const ns = `label=com.docker.stack.namespace=${stack}`;
  docker(['stack', 'rm', stack]); // fails harmlessly when there is no such stack
  await waitFor(
    () => ids(['service', 'ls', '-q', '--filter', ns]).length === 0 && ids(['ps', '-aq', '--filter', ns]).length === 0,
    timeoutMs,
  );
  const left = ids(['ps', '-aq', '--filter', ns]);
  if (left.length) docker(['rm', '-f', ...left]);

  // restore's helper containers (labelled io.stateguard.helper=<journal key>) that mount the stack's volumes
  const helpers = docker([
    'ps',
    '-a',
    '--no-trunc',
    '--filter',
    'label=io.stateguard.helper',
    '--format',
    '{{.ID}} {{.Mounts}}',
  ])
    .stdout.split('\n')
    .filter((l) =>
      l
        .split(' ')[1]
        ?.split(',')
        .some((m) => m.startsWith(`${stack}_`)),
    )
    .map((l) => l.split(' ')[0]!);
  if (helpers.length) docker(['rm', '-f', ...helpers]);

  const configs = [
    ...ids(['config', 'ls', '-q', '--filter', ns]),
    ...ids(['config', 'ls', '-q', '--filter', `label=io.stateguard.stack=${stack}`]),
    ...ids([
      'config',
      'ls',
      '-q',
      '--filter',
      'name=stateguard-lock',
      '--filter',
      `label=io.stateguard.project=${stack}`,
    ]),
  ];
  if (configs.length) docker(['config', 'rm', ...new Set(configs)]);

  const volumes = (): string[] => [
    ...ids(['volume', 'ls', '-q', '--filter', ns]),
    ...ids(['volume', 'ls', '-q', '--filter', `label=io.stateguard.run-record.project=${stack}`]),
    ...ids(['volume', 'ls', '-q', '--filter', `label=io.stateguard.lkg.project=${stack}`]),
  ];
  // a volume can stay in use for a moment after its task container is gone
  await waitFor(() => {
    const v = volumes();
    if (v.length) docker(['volume', 'rm', '-f', ...new Set(v)]);
    return volumes().length === 0;
  }, timeoutMs);

  await waitFor(() => {
    const n = ids(['network', 'ls', '-q', '--filter', ns]);
    if (n.length) docker(['network', 'rm', ...n]);
    return ids(['network', 'ls', '-q', '--filter', ns]).length === 0;
  }, timeoutMs);

  const rest = stackLeftovers(stack);
  if (Object.values(rest).some((l) => l.length))
    throw new Error(`removeStack ${stack}: still there after ${timeoutMs} ms: ${JSON.stringify(rest)}`);
}
