/**
 * The provenance manifest (docs/architecture.md §16): `.stateguard/manifest.json`, the first entry of
 * every archive stateguard writes. It says what the archive is (kind, module, project or stack,
 * service, the stamp of its file name), what it held (each data volume's entry count and byte
 * total) and where it came from (image, engine, stateguard's version), so a renamed backup, another
 * project's backup, an archive changed after writing or a backup that silently shrank is refused.
 *
 * On read the manifest is untrusted input: capped at MAX_MANIFEST_BYTES, strict JSON of exactly the
 * shape below, and canonical — its bytes must equal what `serializeManifest` writes for the values
 * it holds. So a duplicated key (which JSON readers resolve differently), an unknown key, a value
 * of another type or a reordered document is refused, not interpreted.
 */
import { formatStamp } from './names.js';

/** The archive path of the manifest; the only entry outside the data volumes' directories. */
export const MANIFEST_PATH = '.stateguard/manifest.json';
/** Its directory: the one top-level name besides the data volumes (no volume name starts with a dot). */
export const MANIFEST_DIR = '.stateguard';
/** The format this stateguard writes and reads. A later format is refused with "upgrade stateguard". */
export const MANIFEST_FORMAT = 1;
/** Read no more than this of a manifest: a few hundred bytes per volume is what stateguard writes. */
export const MAX_MANIFEST_BYTES = 64 * 1024;

export const MANIFEST_KINDS = ['backup', 'pre-restore', 'pre-upgrade', 'drill'] as const;
export type ManifestKind = (typeof MANIFEST_KINDS)[number];

export interface ManifestVolume {
  /** the declared volume name: the archive's top-level directory */
  name: string;
  /** where the service mounted it */
  path: string;
  /** archive entries under `<name>/`, the directory itself included */
  entries: number;
  /** bytes of the regular files under `<name>/` */
  bytes: number;
}

export interface Manifest {
  format: number;
  kind: ManifestKind;
  module: string;
  runtime: 'compose' | 'swarm';
  /** the compose project (runtime compose) or the stack (runtime swarm) */
  project: string;
  service: string;
  /** the stamp in the archive's file name, `YYYYMMDDTHHMMSSZ` */
  stamp: string;
  /** when the copy started, ISO 8601 UTC with milliseconds */
  created_at: string;
  volumes: ManifestVolume[];
  /** the image the service's container ran when the copy was taken */
  image: { ref: string; id: string };
  /** the engine's ID (`docker info`): which host the data came from */
  engine_id: string;
  stateguard_version: string;
}

/**
 * The canonical bytes: keys in this order, two-space indentation, a closing newline. Swarm writes
 * `stack` where compose writes `project` (docs/architecture.md §16); the value is the same field.
 */
export function serializeManifest(m: Manifest): Buffer {
  const ordered: Record<string, unknown> = {
    format: m.format,
    kind: m.kind,
    module: m.module,
    runtime: m.runtime,
    [m.runtime === 'swarm' ? 'stack' : 'project']: m.project,
    service: m.service,
    stamp: m.stamp,
    created_at: m.created_at,
    volumes: m.volumes.map((v) => ({ name: v.name, path: v.path, entries: v.entries, bytes: v.bytes })),
    image: { ref: m.image.ref, id: m.image.id },
    engine_id: m.engine_id,
    stateguard_version: m.stateguard_version,
  };
  return Buffer.from(`${JSON.stringify(ordered, null, 2)}\n`, 'utf8');
}

export type ManifestRead = { manifest: Manifest } | { problem: string };

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isText = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length <= max;

/**
 * Read a manifest's bytes (`size` is the entry's size in the archive, which may exceed what was
 * captured). Never throws: anything but a canonical manifest of this format is a problem.
 */
export function parseManifest(body: Buffer, size: number): ManifestRead {
  if (size > MAX_MANIFEST_BYTES) {
    return { problem: `${MANIFEST_PATH} is ${size} bytes; a manifest is at most ${MAX_MANIFEST_BYTES}` };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    return { problem: `${MANIFEST_PATH} is not valid UTF-8` };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { problem: `${MANIFEST_PATH} is not JSON (${(err as Error).message.slice(0, 200)})` };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { problem: `${MANIFEST_PATH} is not a JSON object` };
  }
  const o = doc as Record<string, unknown>;
  if (o.format !== MANIFEST_FORMAT) {
    return {
      problem:
        typeof o.format === 'number' && o.format > MANIFEST_FORMAT
          ? `${MANIFEST_PATH} has format ${o.format}; this stateguard reads format ${MANIFEST_FORMAT}: ` +
            'upgrade stateguard'
          : `${MANIFEST_PATH} has no format ${MANIFEST_FORMAT} (format: ${JSON.stringify(o.format)?.slice(0, 40)})`,
    };
  }
  const runtime = o.runtime;
  if (runtime !== 'compose' && runtime !== 'swarm')
    return { problem: `${MANIFEST_PATH}: runtime is not compose or swarm` };
  const project = runtime === 'swarm' ? o.stack : o.project;
  const image = o.image as Record<string, unknown> | null | undefined;
  const volumes = o.volumes;
  const bad: string[] = [];
  if (!MANIFEST_KINDS.includes(o.kind as ManifestKind)) bad.push('kind');
  for (const k of ['module', 'service', 'stamp', 'created_at', 'engine_id', 'stateguard_version'] as const) {
    if (!isText(o[k])) bad.push(k);
  }
  if (!isText(project)) bad.push(runtime === 'swarm' ? 'stack' : 'project');
  if (typeof image !== 'object' || image === null || !isText(image.ref) || !isText(image.id)) bad.push('image');
  if (
    !Array.isArray(volumes) ||
    volumes.length === 0 ||
    volumes.length > 256 ||
    !volumes.every(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        isText((v as ManifestVolume).name, 255) &&
        isText((v as ManifestVolume).path) &&
        isCount((v as ManifestVolume).entries) &&
        isCount((v as ManifestVolume).bytes),
    )
  ) {
    bad.push('volumes');
  }
  if (bad.length) return { problem: `${MANIFEST_PATH}: ${bad.join(', ')} missing or of the wrong type` };
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    kind: o.kind as ManifestKind,
    module: o.module as string,
    runtime,
    project: project as string,
    service: o.service as string,
    stamp: o.stamp as string,
    created_at: o.created_at as string,
    volumes: (volumes as ManifestVolume[]).map((v) => ({
      name: v.name,
      path: v.path,
      entries: v.entries,
      bytes: v.bytes,
    })),
    image: { ref: image!.ref as string, id: image!.id as string },
    engine_id: o.engine_id as string,
    stateguard_version: o.stateguard_version as string,
  };
  // Canonical: a duplicated or unknown key, another order or other spacing is not what we write.
  if (!serializeManifest(manifest).equals(body)) {
    return {
      problem:
        `${MANIFEST_PATH} is not in the form stateguard writes (an unknown or repeated key, another key ` +
        `order or other spacing): it was not written by stateguard, or was edited`,
    };
  }
  return { manifest };
}

/** The manifest's totals over every volume. */
export function manifestTotals(m: Pick<Manifest, 'volumes'>): { entries: number; bytes: number } {
  return m.volumes.reduce((t, v) => ({ entries: t.entries + v.entries, bytes: t.bytes + v.bytes }), {
    entries: 0,
    bytes: 0,
  });
}

/** The stamp a manifest records for a copy taken at `takenAt` (the file name's, see ./names.ts). */
export const manifestStamp = (takenAt: Date): string => formatStamp(takenAt);
