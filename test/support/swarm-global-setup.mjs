// globalSetup of the `swarm` jest project (jest runs it only when that project has tests in the
// run): make the engine a single-node swarm manager, as `scripts/setup-docker.sh --swarm` does.
// An inactive engine is initialised and remembered (globalThis, read by swarm-global-teardown.mjs,
// which jest runs in the same process) so teardown leaves exactly that swarm; an engine that is
// already a manager is left alone. No engine: CI=true fails, otherwise a loud SKIPPED warning
// (the suites then skip through describeSwarm).
import { spawnSync } from 'node:child_process';

export const STATE_KEY = '__stateguardSwarmInitialisedByTests';

function docker(args) {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? 1, stdout: (r.stdout ?? '').trim(), stderr: (r.stderr ?? '').trim() };
}

function failOrWarn(message) {
  if (process.env.CI === 'true') throw new Error(`swarm global setup: ${message}`);
  console.warn(`\n*** SKIPPED (swarm global setup): ${message} ***\n`);
}

export default async function swarmGlobalSetup() {
  globalThis[STATE_KEY] = undefined;
  if (docker(['info', '--format', '{{.ServerVersion}}']).status !== 0) {
    failOrWarn(
      'docker is not reachable; run scripts/setup-docker.sh --swarm (CI must start the engine before the tests)',
    );
    return;
  }
  const state = docker(['info', '--format', '{{.Swarm.LocalNodeState}}']).stdout;
  if (state === 'active') {
    if (docker(['info', '--format', '{{.Swarm.ControlAvailable}}']).stdout !== 'true') {
      failOrWarn('the engine is an active swarm worker, not a manager: promote it or leave that swarm yourself');
    }
    return; // an existing manager (not ours): used as it is, never left
  }
  if (state !== 'inactive') {
    failOrWarn(`the engine's swarm state is '${state || 'unknown'}': fix it yourself ('docker info') and re-run`);
    return;
  }
  const init = docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
  if (init.status !== 0) {
    failOrWarn(`'docker swarm init --advertise-addr 127.0.0.1' failed: ${init.stderr}`);
    return;
  }
  const clusterId = docker(['info', '--format', '{{if .Swarm.Cluster}}{{.Swarm.Cluster.ID}}{{end}}']).stdout;
  globalThis[STATE_KEY] = { clusterId };
  console.log(`swarm global setup: initialised a single-node swarm (cluster ${clusterId}); teardown leaves it`);
}
