/**
 * One shape for both sides of a Swarm comparison (docs/architecture.md §14): the service as the
 * stack file declares it (`docker stack config`, rendered) and as the engine runs it (the service
 * spec and each task's own spec). The adapter hashes the view for `container.config`;
 * src/drift/config-diff.ts names the fields that differ. Pure: no docker here.
 */
/* eslint-disable @typescript-eslint/no-base-to-string --
   parsed YAML/JSON values are turned into text as they are, whatever their type; a later check
   refuses what is not the text it expects */
import { createHash } from 'node:crypto';
import { splitShellWords } from '../probe/shell-words.js';
import type { SwarmSpecView } from './types.js';

/** Labels stateguard or `docker stack deploy` itself sets: never a difference the user declared. */
const OWN_LABEL = /^(com\.docker\.stack\.|io\.stateguard\.)/;

/**
 * `repo:tag@sha256:…` (what `docker stack deploy` pins a tag to when it resolves images) compares as
 * `repo:tag`: the tag is what was declared, the digest is the resolution; a reference that is only
 * a digest keeps it.
 */
export function swarmImageRef(ref: string): string {
  const at = ref.indexOf('@');
  if (at < 0) return ref;
  const name = ref.slice(0, at);
  const lastSlash = name.lastIndexOf('/');
  return name.slice(lastSlash + 1).includes(':') ? name : ref;
}

/** Compose's string form of a command, split into words as the stack deploy does. */
function words(v: unknown): string[] | null {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.map(String);
  try {
    return splitShellWords(String(v));
  } catch {
    return [String(v)];
  }
}

function keyValues(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String).sort();
  if (v && typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => (x === null || x === undefined ? k : `${k}=${String(x)}`))
      .sort();
  }
  return [];
}

function ownLabelsOut(labels: string[]): string[] {
  return labels.filter((l) => !OWN_LABEL.test(l.split('=')[0]!)).sort();
}

function healthTest(v: any): string[] | null {
  if (!v || typeof v !== 'object') return null;
  if (v.disable === true) return ['NONE'];
  if (v.test === undefined) return null;
  if (typeof v.test === 'string') return ['CMD-SHELL', v.test];
  return words(v.test);
}

/** The stack's name for a named volume: `<stack>_<key>` unless it is external or named. */
function volumeName(stack: string, key: string, topVolumes: Record<string, any>): string {
  const top = topVolumes[key];
  if (top && typeof top === 'object') {
    if (typeof top.name === 'string' && top.name !== '') return top.name;
    if (top.external === true || (top.external && typeof top.external === 'object')) return key;
  }
  return `${stack}_${key}`;
}

/** The declared view of one service of a rendered stack file. */
export function declaredView(stack: string, svc: any, topVolumes: Record<string, any> = {}): SwarmSpecView {
  const deploy = (svc.deploy ?? {}) as Record<string, any>;
  const mode = typeof deploy.mode === 'string' ? deploy.mode : 'replicated';
  const mounts: string[] = [];
  for (const v of Array.isArray(svc.volumes) ? svc.volumes : []) {
    if (typeof v === 'string') {
      const [src, dst, opt] = v.split(':');
      if (dst === undefined) mounts.push(`volume::${src}`);
      else if (src!.startsWith('/') || src!.startsWith('.'))
        mounts.push(`bind:${src}:${dst}${opt === 'ro' ? ':ro' : ''}`);
      else mounts.push(`volume:${volumeName(stack, src!, topVolumes)}:${dst}${opt === 'ro' ? ':ro' : ''}`);
      continue;
    }
    const type = String(v.type ?? 'volume');
    const source =
      type === 'volume' && v.source ? volumeName(stack, String(v.source), topVolumes) : String(v.source ?? '');
    mounts.push(`${type}:${source}:${String(v.target ?? '')}${v.read_only ? ':ro' : ''}`);
  }
  const ports: string[] = [];
  for (const p of Array.isArray(svc.ports) ? svc.ports : []) {
    if (p && typeof p === 'object') {
      ports.push(`${p.published ?? ''}:${p.target ?? ''}/${p.protocol ?? 'tcp'}`);
    } else {
      const [pub, tgt] = String(p).split(':');
      ports.push(tgt === undefined ? `:${pub}/tcp` : `${pub}:${tgt}/tcp`);
    }
  }
  return {
    image: swarmImageRef(String(svc.image ?? '')),
    entrypoint: words(svc.entrypoint),
    command: words(svc.command),
    environment: keyValues(svc.environment),
    user: typeof svc.user === 'string' ? svc.user : '',
    container_labels: ownLabelsOut(keyValues(svc.labels)),
    service_labels: ownLabelsOut(keyValues(deploy.labels)),
    mounts: mounts.sort(),
    healthcheck: healthTest(svc.healthcheck),
    restart_condition: String(deploy.restart_policy?.condition ?? 'any'),
    mode,
    replicas: mode === 'global' || mode === 'global-job' ? null : Number(deploy.replicas ?? 1),
    ports: ports.sort(),
  };
}

/** The engine's view: the container part from a task's spec (or the service's template), the rest from the service. */
export function engineView(serviceSpec: any, taskTemplate?: any): SwarmSpecView {
  const tpl = (taskTemplate ?? serviceSpec?.TaskTemplate ?? {}) as Record<string, any>;
  const cs = (tpl.ContainerSpec ?? {}) as Record<string, any>;
  const modeObj = (serviceSpec?.Mode ?? {}) as Record<string, any>;
  let mode = 'replicated';
  let replicas: number | null = 1;
  if (modeObj.Replicated) replicas = Number(modeObj.Replicated.Replicas ?? 1);
  else if (modeObj.Global) [mode, replicas] = ['global', null];
  else if (modeObj.ReplicatedJob)
    [mode, replicas] = ['replicated-job', Number(modeObj.ReplicatedJob.TotalCompletions ?? 1)];
  else if (modeObj.GlobalJob) [mode, replicas] = ['global-job', null];
  const labelList = (l: unknown): string[] =>
    ownLabelsOut(Object.entries((l ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`));
  const hc = cs.Healthcheck as { Test?: string[] } | undefined;
  return {
    image: swarmImageRef(String(cs.Image ?? '')),
    entrypoint: Array.isArray(cs.Command) ? cs.Command.map(String) : null,
    command: Array.isArray(cs.Args) ? cs.Args.map(String) : null,
    environment: Array.isArray(cs.Env) ? cs.Env.map(String).sort() : [],
    user: typeof cs.User === 'string' ? cs.User : '',
    container_labels: labelList(cs.Labels),
    service_labels: labelList(serviceSpec?.Labels),
    mounts: (Array.isArray(cs.Mounts) ? cs.Mounts : [])
      .map((m: any) => `${m.Type ?? 'volume'}:${m.Source ?? ''}:${m.Target ?? ''}${m.ReadOnly ? ':ro' : ''}`)
      .sort(),
    healthcheck: hc && Array.isArray(hc.Test) && hc.Test.length > 0 ? hc.Test.map(String) : null,
    restart_condition: String(tpl.RestartPolicy?.Condition ?? 'any'),
    mode,
    replicas,
    ports: (Array.isArray(serviceSpec?.EndpointSpec?.Ports) ? serviceSpec.EndpointSpec.Ports : [])
      .map((p: any) => `${p.PublishedPort ?? ''}:${p.TargetPort ?? ''}/${p.Protocol ?? 'tcp'}`)
      .sort(),
  };
}

/** The config hash of a view: the same declared service always gives the same text to hash. */
export function viewHash(view: SwarmSpecView): string {
  const keys = Object.keys(view).sort() as (keyof SwarmSpecView)[];
  return createHash('sha256')
    .update(JSON.stringify(keys.map((k) => [k, view[k]])))
    .digest('hex');
}
