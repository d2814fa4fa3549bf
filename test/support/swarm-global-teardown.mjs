// globalTeardown of the `swarm` jest project: leave the swarm only if swarm-global-setup.mjs
// initialised it in this jest process (and it still is that cluster), then remove docker_gwbridge
// (bounded retries: it can stay busy a moment after leaving; `ingress` goes with the leave).
// A swarm that existed before the run is never touched.
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { STATE_KEY } from './swarm-global-setup.mjs';

function docker(args) {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? 1, stdout: (r.stdout ?? '').trim(), stderr: (r.stderr ?? '').trim() };
}

export default async function swarmGlobalTeardown() {
  const ours = globalThis[STATE_KEY];
  if (!ours) return;
  globalThis[STATE_KEY] = undefined;
  const current = docker(['info', '--format', '{{if .Swarm.Cluster}}{{.Swarm.Cluster.ID}}{{end}}']).stdout;
  if (current && ours.clusterId && current !== ours.clusterId) {
    console.warn(
      `swarm global teardown: the engine is in cluster ${current}, not ${ours.clusterId} that setup created: not leaving it`,
    );
    return;
  }
  if (docker(['info', '--format', '{{.Swarm.LocalNodeState}}']).stdout !== 'inactive') {
    const leave = docker(['swarm', 'leave', '--force']);
    if (leave.status !== 0)
      throw new Error(`swarm global teardown: 'docker swarm leave --force' failed: ${leave.stderr}`);
  }
  for (let i = 0; i < 20; i++) {
    if (docker(['network', 'inspect', 'docker_gwbridge']).status !== 0) return;
    if (docker(['network', 'rm', 'docker_gwbridge']).status === 0) return;
    await sleep(500);
  }
  throw new Error('swarm global teardown: network docker_gwbridge is still in use 10 s after leaving the swarm');
}
