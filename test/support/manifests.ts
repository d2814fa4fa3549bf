/**
 * Provenance manifests for archives built by tests (docs/architecture.md §16): what snapshot
 * writes, prepended to any `.tar.gz` as its own gzip member, with each top-level directory's
 * entries and bytes counted by walking the archive, so a hand-made backup verifies as a snapshot's
 * would. Tests about the manifest itself build it here and then break one field.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import zlib from 'node:zlib';
import { MANIFEST_PATH, serializeManifest, type Manifest } from '../../src/backup/manifest.js';
import { parseArchiveName, parseStamp } from '../../src/backup/names.js';
import { TarWalker } from '../../src/backup/tar-walker.js';
import { headerBlocks, bodyPadding } from '../../src/backup/tar-writer.js';

/** Entries and file bytes under each top-level directory of a gzipped tar, as the verify walk counts them. */
export function tallyTopLevel(gzipped: Buffer): Map<string, { entries: number; bytes: number }> {
  const tally = new Map<string, { entries: number; bytes: number }>();
  const walker = new TarWalker({
    maxEntries: 1_000_000,
    layout: null,
    report: () => undefined,
    onCap: () => undefined,
    onEntry: (e) => {
      const top = e.path.split('/').filter((s) => s !== '' && s !== '.')[0];
      if (top === undefined || top === '.stateguard') return;
      const t = tally.get(top.normalize('NFC')) ?? { entries: 0, bytes: 0 };
      t.entries++;
      if (e.type === 'file') t.bytes += e.size;
      tally.set(top.normalize('NFC'), t);
    },
  });
  let tarBytes: Buffer;
  try {
    tarBytes = zlib.gunzipSync(gzipped);
  } catch {
    // hostile archives: count what a lenient reader gets (their own problem is what the test is about)
    try {
      tarBytes = zlib.gunzipSync(gzipped, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch {
      return tally;
    }
  }
  walker.write(tarBytes);
  return tally;
}

export interface ManifestMeta extends Partial<Omit<Manifest, 'volumes'>> {
  module: string;
  stamp: string;
  /** container paths by volume name (default `/data`) */
  paths?: Record<string, string>;
  /** replace the counted volumes (tests that lie about them) */
  volumes?: Manifest['volumes'];
}

/** Whether the archive's first entry is already a manifest. */
export function hasManifest(gzipped: Buffer): boolean {
  try {
    const head = zlib
      .gunzipSync(gzipped, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
      .subarray(0, MANIFEST_PATH.length);
    return head.toString('latin1') === MANIFEST_PATH;
  } catch {
    return false;
  }
}

/** The manifest snapshot would write for this archive. */
export function manifestFor(gzipped: Buffer, meta: ManifestMeta): Manifest {
  const volumes =
    meta.volumes ??
    [...tallyTopLevel(gzipped)].map(([name, t]) => ({ name, path: meta.paths?.[name] ?? '/data', ...t }));
  return {
    format: meta.format ?? 1,
    kind: meta.kind ?? 'backup',
    module: meta.module,
    runtime: meta.runtime ?? 'compose',
    project: meta.project ?? 'p',
    service: meta.service ?? meta.module,
    stamp: meta.stamp,
    created_at: meta.created_at ?? (parseStamp(meta.stamp) ?? new Date(0)).toISOString(),
    volumes,
    image: meta.image ?? { ref: 'stateguard/busybox:1.0.0', id: `sha256:${'a'.repeat(64)}` },
    engine_id: meta.engine_id ?? 'TEST:ENGINE',
    stateguard_version: meta.stateguard_version ?? '1.0.0',
  };
}

/** The manifest's own gzip member: its tar header, body and padding (no end marker). */
export function manifestMember(m: Manifest | Buffer): Buffer {
  const body = Buffer.isBuffer(m) ? m : serializeManifest(m);
  return zlib.gzipSync(
    Buffer.concat([
      headerBlocks({ path: MANIFEST_PATH, type: 'File', size: body.length, mode: 0o644, uid: 0, gid: 0, mtime: 0 }),
      body,
      bodyPadding(body.length),
    ]),
  );
}

/** `gzipped` with the manifest as its first entry. */
export function withManifest(gzipped: Buffer, meta: ManifestMeta): Buffer {
  return Buffer.concat([manifestMember(manifestFor(gzipped, meta)), gzipped]);
}

/**
 * Prepend a manifest to the archive at `file` (module, stamp and kind from its name unless given);
 * a `.sha256` beside it is rewritten to match.
 */
export function addManifestToFile(file: string, meta: Partial<ManifestMeta> = {}): void {
  const parsed = parseArchiveName(path.basename(file));
  if (!parsed && (!meta.module || !meta.stamp)) throw new Error(`${file}: not an archive name; give module and stamp`);
  const data = readFileSync(file);
  const out = withManifest(data, {
    ...meta,
    module: meta.module ?? parsed!.module,
    stamp: meta.stamp ?? parsed!.stamp,
    kind: meta.kind ?? parsed?.kind ?? 'backup',
  });
  writeFileSync(file, out);
  const sum = `${file}.sha256`;
  if (existsSync(sum)) {
    writeFileSync(sum, `${createHash('sha256').update(out).digest('hex')}  ${path.basename(file)}\n`);
  }
}
