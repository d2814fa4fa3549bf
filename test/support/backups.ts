/** A hand-made backup of the example platform's `store` (for tests about apply, not snapshots). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { formatStamp } from '../../src/backup/names.js';
import { addManifestToFile } from './manifests.js';

/**
 * Writes `store-<now>.tar.gz` into `backupDir` in the snapshot layout (one top-level directory per
 * declared data volume of store: `store-data/`), with the provenance manifest snapshot writes for
 * the compose project `project` (docs/architecture.md §16), and returns its path.
 */
export async function handMadeStoreBackup(backupDir: string, project = 'platform'): Promise<string> {
  const src = mkdtempSync(path.join(tmpdir(), 'sg-bk-src-'));
  try {
    mkdirSync(path.join(src, 'store-data'));
    writeFileSync(path.join(src, 'store-data', 'marker'), 'x');
    const file = path.join(backupDir, `store-${formatStamp(new Date())}.tar.gz`);
    await tar.c({ gzip: true, file, cwd: src, portable: true }, ['store-data']);
    // What snapshot writes first (docs/architecture.md §16): the example's store is platform/store.
    addManifestToFile(file, { project, service: 'store' });
    return file;
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}
