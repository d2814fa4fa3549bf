/**
 * Which containers are a compose service: matched by the compose labels, one-off `compose run`
 * containers excluded (they are not the service, and never count as its state).
 */
import type { ContainerInfo, Runtime } from '../ports.js';
import { waiter, type Waiter } from '../clock.js';

/** States of a container that is up (what an operation stops before it touches the data). */
export const UP_STATES: ReadonlySet<string> = new Set(['running', 'restarting', 'paused']);

export function ofService(projectContainers: readonly ContainerInfo[], service: string): ContainerInfo[] {
  return projectContainers.filter((c) => c.service === service && !c.oneoff);
}

/** One listing of the project (ps + inspect), narrowed to the service. */
export async function listServiceContainers(
  runtime: Runtime,
  compose: { project: string; service: string },
): Promise<ContainerInfo[]> {
  return ofService(await runtime.listProjectContainers(compose.project), compose.service);
}

/**
 * Why a container is not "up": running, and healthy where it has a healthcheck (`starting` is not
 * yet healthy). null when it is up. The one definition used wherever readiness is judged.
 */
export function notReady(c: Pick<ContainerInfo, 'state' | 'health'> | undefined): string | null {
  if (!c) return 'is gone';
  if (c.state !== 'running') return `is ${c.state}`;
  if (c.health !== null && c.health !== 'healthy') return `is ${c.health}`;
  return null;
}

/**
 * Poll the engine (bounded) until every container is running and healthy where it has a
 * healthcheck. Returns the containers still not ready at the deadline with why, or [] when all are.
 */
export async function waitUntilReady(
  runtime: Pick<Runtime, 'inspectContainers'>,
  ids: readonly string[],
  timeoutMs: number,
  sleep?: ((ms: number) => Promise<void>) | Waiter,
  intervalMs = 1000,
): Promise<Array<{ id: string; problem: string }>> {
  // A caller's Waiter (the health gate's) keeps one account of elapsed time across its waits.
  const wait = typeof sleep === 'object' ? sleep : waiter(sleep);
  const start = wait.elapsed();
  for (;;) {
    const found = await runtime.inspectContainers(ids);
    const pending = ids
      .map((id) => ({ id, problem: notReady(found.find((c) => c.id === id)) }))
      .filter((x): x is { id: string; problem: string } => x.problem !== null);
    // An exited or dead container will not become ready by waiting.
    if (
      pending.length === 0 ||
      wait.elapsed() - start >= timeoutMs ||
      pending.some((p) => /^is (exited|dead|gone)/.test(p.problem))
    )
      return pending;
    await wait.sleep(intervalMs);
  }
}
