/**
 * A container's definition read from `docker inspect`, and the Engine API request that creates the
 * same container again (docs/architecture.md §13: an upgrade's rollback recreates the container
 * exactly as it was before the deploy, not today's compose file with another image). Pure: the
 * compose adapter (./docker-cli.ts) reads and sends.
 *
 * The definition holds the container's environment values (Config.Env): it is secret material and
 * only ever goes back to the engine.
 */
/* eslint-disable @typescript-eslint/no-base-to-string --
   parsed YAML/JSON values are turned into text as they are, whatever their type; a later check
   refuses what is not the text it expects */
import type { ContainerDefinition, ContainerNetwork } from './types.js';

type Json = Record<string, unknown>;

function obj(v: unknown): Json | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The container's short ID: docker's default hostname and the alias it adds on user networks. */
function shortId(id: string): string {
  return id.slice(0, 12);
}

/** The destinations HostConfig itself declares (Binds `src:dst[:opts]` and Mounts[].Target). */
function declaredDestinations(host: Json): Set<string> {
  const out = new Set<string>();
  for (const b of strings(host.Binds)) {
    const parts = b.split(':');
    // `src:dst`, `src:dst:opts`; a Windows drive letter is not a case on this engine
    if (parts.length >= 2) out.add(parts[1]!);
  }
  if (Array.isArray(host.Mounts)) {
    for (const m of host.Mounts) {
      const t = obj(m)?.Target;
      if (typeof t === 'string') out.add(t);
    }
  }
  return out;
}

/** The definition of one inspected container (an element of `docker inspect`'s array), or why not. */
export function definitionFromInspect(raw: unknown): { definition: ContainerDefinition } | { problem: string } {
  const c = obj(raw);
  const config = obj(c?.Config);
  const host = obj(c?.HostConfig);
  const id = typeof c?.Id === 'string' ? c.Id : '';
  const imageId = typeof c?.Image === 'string' ? c.Image : '';
  if (!c || !config || !host || !id || !/^sha256:[0-9a-f]{64}$/.test(imageId)) {
    return { problem: 'docker inspect gave no Config, HostConfig, ID or image ID for the container' };
  }
  const networks: ContainerNetwork[] = [];
  for (const [name, raw] of Object.entries(obj(obj(c.NetworkSettings)?.Networks) ?? {})) {
    const n = obj(raw) ?? {};
    const ipam = obj(n.IPAMConfig);
    const hasIpam = ipam !== null && Object.values(ipam).some((v) => (Array.isArray(v) ? v.length > 0 : !!v));
    const opts = obj(n.DriverOpts);
    networks.push({
      name,
      aliases: strings(n.Aliases).filter((a) => a !== shortId(id)),
      ipam: hasIpam ? ipam : null,
      links: strings(n.Links),
      driver_opts: opts ? Object.fromEntries(Object.entries(opts).map(([k, v]) => [k, String(v)])) : null,
    });
  }
  const declared = declaredDestinations(host);
  const anonymous: ContainerDefinition['anonymous_volumes'] = [];
  for (const raw of Array.isArray(c.Mounts) ? c.Mounts : []) {
    const m = obj(raw) ?? {};
    if (m.Type !== 'volume' || typeof m.Destination !== 'string' || declared.has(m.Destination)) continue;
    if (typeof m.Name !== 'string' || m.Name === '') {
      return { problem: `the volume at ${m.Destination} has no name to re-attach it by` };
    }
    anonymous.push({ name: m.Name, destination: m.Destination, read_only: m.RW === false });
  }
  return {
    definition: {
      id,
      name: String(c.Name ?? '').replace(/^\//, ''),
      image_id: imageId,
      config,
      host_config: host,
      networks,
      anonymous_volumes: anonymous,
    },
  };
}

/** Containers the definition needs to exist (`container:<id>` modes, VolumesFrom), by what needs them. */
export function referencedContainers(def: ContainerDefinition): { field: string; container: string }[] {
  const out: { field: string; container: string }[] = [];
  for (const field of ['NetworkMode', 'PidMode', 'IpcMode']) {
    const v = def.host_config[field];
    if (typeof v === 'string' && v.startsWith('container:')) out.push({ field, container: v.slice(10) });
  }
  for (const v of strings(def.host_config.VolumesFrom)) out.push({ field: 'VolumesFrom', container: v.split(':')[0]! });
  return out;
}

export interface CreateRequest {
  /** POST /containers/create?name=… body */
  body: Json;
  /** networks to connect after the create (API < 1.44 takes one network at create) */
  connect: { network: string; endpoint: Json }[];
}

function endpoint(n: ContainerNetwork): Json {
  return {
    ...(n.aliases.length ? { Aliases: n.aliases } : {}),
    ...(n.ipam ? { IPAMConfig: n.ipam } : {}),
    ...(n.links.length ? { Links: n.links } : {}),
    ...(n.driver_opts ? { DriverOpts: n.driver_opts } : {}),
  };
}

/**
 * The create request for a recorded definition: Config with Image set to the recorded image ID and
 * docker's default Hostname (the old short ID) dropped; HostConfig as inspected plus the anonymous
 * volumes as `Mounts` of type volume (their data is not lost); the network HostConfig.NetworkMode
 * names (or the first) at create, the others connected afterwards with their aliases.
 */
export function createRequest(def: ContainerDefinition): CreateRequest {
  const config: Json = { ...def.config, Image: def.image_id };
  if (config.Hostname === shortId(def.id)) delete config.Hostname;
  const host: Json = { ...def.host_config };
  if (def.anonymous_volumes.length) {
    host.Mounts = [
      ...(Array.isArray(host.Mounts) ? host.Mounts : []),
      ...def.anonymous_volumes.map((v) => ({
        Type: 'volume',
        Source: v.name,
        Target: v.destination,
        ReadOnly: v.read_only,
      })),
    ];
  }
  const mode = typeof host.NetworkMode === 'string' ? host.NetworkMode : '';
  const sharedStack = mode === 'host' || mode === 'none' || mode.startsWith('container:');
  const primaryName = mode === 'default' || mode === '' ? 'bridge' : mode;
  const primary = sharedStack ? undefined : (def.networks.find((n) => n.name === primaryName) ?? def.networks[0]);
  const body: Json = {
    ...config,
    HostConfig: host,
    ...(primary ? { NetworkingConfig: { EndpointsConfig: { [primary.name]: endpoint(primary) } } } : {}),
  };
  const connect = sharedStack
    ? []
    : def.networks.filter((n) => n !== primary).map((n) => ({ network: n.name, endpoint: endpoint(n) }));
  return { body, connect };
}
