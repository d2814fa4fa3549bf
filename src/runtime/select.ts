/**
 * One engine adapter per runtime kind, created on first use: the compose adapter for `spec.compose`
 * modules, the Swarm adapter for `spec.swarm` ones (docs/architecture.md §14). An injected runtime
 * (tests, the simulated engine) stands for both.
 */
import { DockerCli } from './docker-cli.js';
import { SwarmCli } from './swarm-cli.js';
import type { Runtime, RuntimeKind } from './types.js';

export function runtimeSelector(
  env: Readonly<Record<string, string | undefined>>,
  injected?: () => Runtime,
): (kind?: RuntimeKind) => Runtime {
  const made = new Map<RuntimeKind, Runtime>();
  return (kind = 'compose') => {
    let rt = made.get(kind);
    if (!rt) {
      rt = injected?.() ?? (kind === 'swarm' ? new SwarmCli({ env }) : new DockerCli({ env }));
      made.set(kind, rt);
    }
    return rt;
  };
}
