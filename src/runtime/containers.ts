/**
 * Which containers are a compose service: matched by the compose labels, one-off `compose run`
 * containers excluded (they are not the service, and never count as its state).
 */
import type { ContainerInfo, Runtime } from './types.js';

export function ofService(projectContainers: readonly ContainerInfo[], service: string): ContainerInfo[] {
  return projectContainers.filter((c) => c.service === service && !c.oneoff);
}

/** One listing of the project (ps + inspect), narrowed to the service. */
export async function listServiceContainers(runtime: Runtime, compose: { project: string; service: string }): Promise<ContainerInfo[]> {
  return ofService(await runtime.listProjectContainers(compose.project), compose.service);
}
