/**
 * What differs between a module's declared compose service (as compose rendered it) and the
 * container the engine runs, field by field — so a `container.config` item says "command,
 * environment DB_HOST" instead of two opaque config hashes (docs/architecture.md, "Drift").
 *
 * The config-hash comparison stays the verdict: this only explains it. Only what is declared is
 * compared (an image's own defaults — its CMD, ENV, labels — are not in the compose file), and
 * environment and label values never appear: a key and, for keys that do not look secret, a short
 * fingerprint of each value. Pure; no I/O.
 */
/* eslint-disable @typescript-eslint/no-base-to-string --
   parsed YAML/JSON values are turned into text as they are, whatever their type; a later check
   refuses what is not the text it expects */
import { createHash } from 'node:crypto';
import { looksSecret } from '../report/scrub.js';
import type { ContainerInfo, RenderedService, SwarmSpecView } from '../ports.js';
import { normalizeImageRef } from './image-ref.js';

/** Where the Swarm adapter puts the declared view of a rendered stack service. */
export const SWARM_VIEW_KEY = 'x-stateguard-swarm';

/** A short, stable fingerprint of a value (never the value). */
export function fingerprint(value: string): string {
  return createHash('sha256').update(`stateguard-fp\0${value}`).digest('hex').slice(0, 8);
}

/**
 * Compose's rendered config keeps the `$$` escape (v1 and v2 alike); the engine gets one `$`
 * (docs/architecture.md §3, "Field-level config differences"). Declared values are compared unescaped.
 */
export function unescapeDollars(v: string): string {
  return v.replace(/\$\$/g, '$');
}

/**
 * A string command as compose splits it (v1: Python's POSIX `shlex.split`): whitespace separates,
 * single quotes are literal, a backslash escapes the next character outside quotes and only `"` or
 * `\\` inside double quotes. Nothing is expanded: `$` is an ordinary character here. null when the
 * quotes do not close.
 */
function composeWords(input: string): string[] | null {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (quote === "'") {
      if (ch === "'") quote = null;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && (input[i + 1] === '"' || input[i + 1] === '\\')) word += input[++i]!;
      else word += ch;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      inWord = true;
      if (ch === "'" || ch === '"') quote = ch;
      else if (ch === '\\') {
        if (i + 1 >= input.length) return null;
        word += input[++i]!;
      } else word += ch;
    }
  }
  if (quote) return null;
  if (inWord) out.push(word);
  return out;
}

function words(v: unknown): string[] | null {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.map((x) => unescapeDollars(String(x)));
  if (typeof v === 'string') return (composeWords(v) ?? [v]).map(unescapeDollars);
  return [unescapeDollars(String(v))];
}

function sameList(a: readonly string[] | null, b: readonly string[] | null): boolean {
  return (a ?? []).length === (b ?? []).length && (a ?? []).every((x, i) => x === (b ?? [])[i]);
}

/** `environment`/`labels` as compose renders them: a map, or a list of `K=V` (values unescaped when asked). */
function keyValues(v: unknown, unescape = false): Map<string, string | null> {
  const out = new Map<string, string | null>();
  const value = (x: string): string => (unescape ? unescapeDollars(x) : x);
  if (Array.isArray(v)) {
    for (const e of v.map(String)) {
      const i = e.indexOf('=');
      out.set(i < 0 ? e : e.slice(0, i), i < 0 ? null : value(e.slice(i + 1)));
    }
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      out.set(k, x === null || x === undefined ? null : value(String(x)));
  }
  return out;
}

function describeValueChange(name: string, key: string, declared: string | null, observed: string | undefined): string {
  if (observed === undefined) return `${name} ${key} (not set on the container)`;
  if (declared === null || looksSecret(key)) return `${name} ${key} (value changed)`;
  return `${name} ${key} (${fingerprint(observed)} → ${fingerprint(declared)})`;
}

function cleanPath(p: string): string {
  return p.replace(/\/+$/, '') || '/';
}

function mountTargets(v: unknown): string[] {
  const out: string[] = [];
  for (const m of Array.isArray(v) ? v : []) {
    if (typeof m === 'string') {
      const parts = m.split(':');
      out.push(cleanPath(parts.length >= 2 ? parts[1]! : parts[0]!));
    } else if (m && typeof m === 'object' && typeof (m as { target?: unknown }).target === 'string') {
      out.push(cleanPath((m as { target: string }).target));
    }
  }
  return out.sort();
}

/**
 * Where compose mounts a service's `secrets:` (under `/run/secrets`) or `configs:` (under `/`):
 * the target when given (a relative one below that directory), else the source's name. v2 renders
 * the target of a secret, v1 only the source.
 */
function fileMountTargets(v: unknown, dir: '/run/secrets' | ''): string[] {
  const out: string[] = [];
  for (const e of Array.isArray(v) ? v : []) {
    const o = typeof e === 'string' ? { source: e } : e && typeof e === 'object' ? (e as Record<string, unknown>) : {};
    const target = typeof o.target === 'string' && o.target !== '' ? o.target : o.source;
    if (typeof target !== 'string' || target === '') continue;
    out.push(cleanPath(target.startsWith('/') ? target : `${dir}/${target}`));
  }
  return out;
}

/** A volume the engine created without a name (an image `VOLUME` or an anonymous compose volume). */
function anonymousVolume(m: ContainerInfo['mounts'][number]): boolean {
  return m.type === 'volume' && /^[0-9a-f]{64}$/.test(m.name ?? '');
}

/** What configDifferences needs to know beyond the service and the container. */
export interface DiffContext {
  /**
   * The `VOLUME` paths of the image the container runs (its Config.Volumes), or null when not read.
   * An anonymous volume there that the compose file does not declare is the image's, not a removed mount.
   */
  imageVolumes?: readonly string[] | null;
  /** compose v1 ignores a service's `configs:` (it mounts nothing); v2 mounts them */
  configsMounted?: boolean;
}

function restartName(v: unknown): string {
  const s = v === undefined || v === null || v === false ? 'no' : String(v);
  return s === '' ? 'no' : s.split(':')[0]!;
}

/** Field-level differences, in a fixed order; [] when nothing declared differs. */
export function configDifferences(service: RenderedService, c: ContainerInfo, ctx: DiffContext = {}): string[] {
  const swarmView = service[SWARM_VIEW_KEY] as SwarmSpecView | undefined;
  if (swarmView && c.swarm) return swarmDifferences(swarmView, c.swarm.view);
  const out: string[] = [];
  if (typeof service.image === 'string' && service.image.trim() !== '' && c.imageRef !== '') {
    if (normalizeImageRef(service.image) !== normalizeImageRef(c.imageRef))
      out.push(`image (${c.imageRef} → ${service.image.trim()})`);
  }
  const cfg = c.config;
  if (!cfg) return out;
  const s = service as Record<string, unknown>;
  for (const field of ['command', 'entrypoint'] as const) {
    const declared = words(s[field]);
    if (declared !== null && !sameList(declared, field === 'command' ? cfg.cmd : cfg.entrypoint)) out.push(field);
  }
  const env = keyValues(s.environment, true);
  const actualEnv = new Map(
    c.env.map((e) => [e.slice(0, Math.max(0, e.indexOf('='))), e.slice(e.indexOf('=') + 1)] as const),
  );
  for (const key of [...env.keys()].sort()) {
    const want = env.get(key)!;
    const have = actualEnv.get(key);
    if (have === undefined || (want !== null && have !== want))
      out.push(describeValueChange('environment', key, want, have));
  }
  const labels = keyValues(s.labels, true);
  for (const key of [...labels.keys()].sort()) {
    const want = labels.get(key)!;
    const have = c.labels[key];
    if (have === undefined || (want !== null && have !== want)) out.push(describeValueChange('label', key, want, have));
  }
  // Declared mounts: volumes, secrets and (v2) configs. An image VOLUME is not declared: skipped.
  const wantMounts = [
    ...mountTargets(s.volumes),
    ...fileMountTargets(s.secrets, '/run/secrets'),
    ...(ctx.configsMounted === false ? [] : fileMountTargets(s.configs, '')),
  ].sort();
  const imageVolumes = new Set((ctx.imageVolumes ?? []).map(cleanPath));
  const haveMounts = c.mounts
    .filter((m) => {
      const dest = cleanPath(m.destination);
      return !(anonymousVolume(m) && imageVolumes.has(dest) && !wantMounts.includes(dest));
    })
    .map((m) => cleanPath(m.destination))
    .sort();
  const added = wantMounts.filter((t) => !haveMounts.includes(t));
  const removed = haveMounts.filter((t) => !wantMounts.includes(t));
  if (added.length || removed.length) {
    out.push(`volumes (${[...added.map((t) => `+${t}`), ...removed.map((t) => `-${t}`)].join(', ')})`);
  }
  if (s.healthcheck !== undefined) {
    const hc = s.healthcheck as { test?: unknown; disable?: unknown };
    // A string test is compose's shorthand for CMD-SHELL, which is what the engine stores.
    const want =
      hc.disable === true
        ? ['NONE']
        : typeof hc.test === 'string'
          ? ['CMD-SHELL', unescapeDollars(hc.test)]
          : words(hc.test);
    if (want !== null && !sameList(want, cfg.healthcheck)) out.push('healthcheck');
  }
  if (restartName(s.restart) !== restartName(cfg.restartPolicy))
    out.push(`restart (${restartName(cfg.restartPolicy)} → ${restartName(s.restart)})`);
  if (s.user !== undefined && unescapeDollars(String(s.user)) !== cfg.user) out.push('user');
  if (s.ports !== undefined && !sameList(portKeys(s.ports), cfg.ports)) out.push('ports');
  return out;
}

/** `published:target/proto` for each rendered port (v1 strings and v2 objects alike), sorted. */
function portKeys(v: unknown): string[] {
  const out: string[] = [];
  for (const p of Array.isArray(v) ? v : []) {
    if (typeof p === 'string' || typeof p === 'number') {
      const [spec, proto = 'tcp'] = String(p).split('/');
      const parts = spec!.split(':');
      const target = parts[parts.length - 1]!;
      const published = parts.length >= 2 ? parts[parts.length - 2]! : '';
      out.push(`${published}:${target}/${proto}`);
    } else if (p && typeof p === 'object') {
      const o = p as { target?: unknown; published?: unknown; protocol?: unknown };
      out.push(`${String(o.published ?? '')}:${String(o.target ?? '')}/${String(o.protocol ?? 'tcp')}`);
    }
  }
  return out.sort();
}

/**
 * On Swarm: the fields of the declared view (the stack file) that differ from what a task ran,
 * named as in the stack file. Environment entries: the key and fingerprints, never a value.
 */
export function swarmDifferences(declared: SwarmSpecView, observed: SwarmSpecView): string[] {
  const out: string[] = [];
  const simple: Array<[keyof SwarmSpecView, string]> = [
    ['image', 'image'],
    ['entrypoint', 'entrypoint'],
    ['command', 'command'],
    ['user', 'user'],
    ['container_labels', 'labels'],
    ['service_labels', 'deploy.labels'],
    ['mounts', 'volumes'],
    ['healthcheck', 'healthcheck'],
    ['restart_condition', 'deploy.restart_policy.condition'],
    ['mode', 'deploy.mode'],
    ['replicas', 'deploy.replicas'],
    ['ports', 'ports'],
  ];
  for (const [k, name] of simple) {
    if (JSON.stringify(declared[k]) !== JSON.stringify(observed[k])) {
      out.push(k === 'replicas' || k === 'mode' ? `${name} (${observed[k]} → ${declared[k]})` : name);
    }
  }
  const want = keyValues(declared.environment);
  const have = keyValues(observed.environment);
  for (const key of [...new Set([...want.keys(), ...have.keys()])].sort()) {
    const w = want.get(key);
    const h = have.get(key);
    if (w === h) continue;
    if (w === undefined) out.push(`environment ${key} (not declared)`);
    else out.push(describeValueChange('environment', key, w, h ?? undefined));
  }
  return out;
}
