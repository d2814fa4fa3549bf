/**
 * actions/verify-backup and actions/snapshot bundles, run exactly as a runner runs them: outputs,
 * exit codes, failure-reason and summary. (Build first: npm run build.)
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatStamp } from '../../src/backup/names.js';
import { dir, file, gz, tar } from '../support/archives.js';
import { addManifestToFile } from '../support/manifests.js';
import { describeDocker, IMAGE, removeProject, uniqueProject, docker } from '../support/docker.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { REPO, runActionBundle } from '../support/runner.js';

const made: string[] = [];
afterAll(() => {
  made.forEach((d) => rmSync(d, { recursive: true, force: true }));
  cleanupTempRepos();
});
function backups(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'sg-runner-backups-'));
  made.push(d);
  return d;
}
const GOOD = gz(tar(dir('store-data/'), file('store-data/a', 'a\n'), file('store-data/b', '')));
const freshName = (module = 'store'): string => `${module}-${formatStamp(new Date(Date.now() - 60_000))}.tar.gz`;

describe('actions/verify-backup bundle', () => {
  it('a good backup: verified, sha256, bytes, entries, empty failure-reason, exit 0', () => {
    const root = backups();
    const ref = path.join(root, freshName());
    writeFileSync(ref, GOOD);
    addManifestToFile(ref, { project: 'platform', service: 'store' });
    const written = readFileSync(ref);
    const r = runActionBundle('verify-backup', {
      root: path.join(REPO, 'examples/platform'),
      module: 'store-init',
      'backup-ref': ref,
      'backup-root': `/nonexistent\n${root}\n`,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.outputs).toMatchObject({
      verified: 'true',
      sha256: createHash('sha256').update(written).digest('hex'),
      bytes: String(written.length),
      entries: '4', // the provenance manifest and three entries
      'failure-reason': '',
    });
    expect(r.summary).toContain('### stateguard verify-backup: verified');
  });

  it('a hostile backup: verified false, failure-reason backup-rejected, every problem in the summary, exit 1', () => {
    const root = backups();
    const ref = path.join(root, freshName());
    writeFileSync(ref, gz(tar(file('../escape'), file('/abs'))));
    const r = runActionBundle('verify-backup', {
      root: 'examples/platform',
      module: 'store',
      'backup-ref': ref,
      'backup-root': root,
    });
    expect(r.status).toBe(1);
    expect(r.outputs.verified).toBe('false');
    expect(r.outputs['failure-reason']).toBe('backup-rejected');
    expect(r.summary).toContain("| `unsafe-path` | path has a '..' segment | `../escape` |");
    expect(r.summary).toContain('| `unsafe-path` | absolute path | `/abs` |');
    expect(r.stdout).toMatch(/^::error title=stateguard verify-backup::backup rejected: \[unsafe-path\]/m);
  });

  it('a missing file is a rejection (exit 1), not "could not run"', () => {
    const root = backups();
    const r = runActionBundle('verify-backup', {
      root: 'examples/platform',
      module: 'store',
      'backup-ref': path.join(root, freshName()),
      'backup-root': root,
    });
    expect(r.status).toBe(1);
    expect(r.outputs).toMatchObject({ verified: 'false', 'failure-reason': 'backup-rejected', sha256: '', bytes: '' });
    expect(r.summary).toContain('`not-found`');
  });

  it('no backup-root: refused', () => {
    const root = backups();
    const ref = path.join(root, freshName());
    writeFileSync(ref, GOOD);
    const r = runActionBundle('verify-backup', { root: 'examples/platform', module: 'store', 'backup-ref': ref });
    expect(r.status).toBe(1);
    expect(r.summary).toContain('`no-backup-root`');
  });

  it('a bad size cap is an input error naming the input (exit 3)', () => {
    const r = runActionBundle('verify-backup', {
      root: 'examples/platform',
      module: 'store',
      'backup-ref': 'x.tar.gz',
      'max-uncompressed-bytes': 'lots',
    });
    expect(r.status).toBe(3);
    expect(r.outputs['failure-reason']).toBe('invalid-input');
    expect(r.stdout).toContain("input 'max-uncompressed-bytes' must be a size like 512, 64K, 100M or 2G");
  });
});

describeDocker('actions/snapshot bundle on the real engine', () => {
  const project = uniqueProject('sgsnapact');
  afterAll(() => {
    removeProject(project);
    // created by `docker run -v` (no compose label), so removed by name after its container
    docker(['volume', 'rm', '-f', `${project}_store-data`]);
  });

  it('writes the archive, sets backup-ref/sha256/bytes, and verify-backup accepts it', () => {
    const repo = tempRepo({
      'compose.yaml': `version: "3.7"\nservices:\n  store:\n    image: ${IMAGE}\n    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]\n    volumes:\n      - store-data:/data\nvolumes:\n  store-data: {}\n`,
      'modules/store/module.yaml': moduleYaml(
        'store',
        `  class: stateful\n  compose: { file: ../../compose.yaml, project: ${project}, service: store }\n  backup: { ref_modules: [store], max_age_hours: 24 }\n  data:\n    volumes:\n      - { volume: store-data, path: /data }\n`,
      ),
    });
    const up = docker([
      'run',
      '-d',
      '--name',
      `${project}_store_1`,
      '--label',
      `com.docker.compose.project=${project}`,
      '--label',
      'com.docker.compose.service=store',
      '--label',
      'com.docker.compose.oneoff=False',
      '-v',
      `${project}_store-data:/data`,
      IMAGE,
      'sh',
      '-c',
      "echo hi > /data/hello; trap 'exit 0' TERM; while true; do sleep 1; done",
    ]);
    expect(up.status).toBe(0);
    const out = path.join(repo, 'backups');
    mkdirSync(out);
    const r = runActionBundle('snapshot', { root: repo, module: 'store', 'out-dir': out }, { cwd: repo });
    expect(r.status).toBe(0);
    expect(r.outputs['failure-reason']).toBe('');
    expect(path.dirname(r.outputs['backup-ref']!)).toBe(out);
    expect(readdirSync(out).sort()).toEqual([
      path.basename(r.outputs['backup-ref']!),
      `${path.basename(r.outputs['backup-ref']!)}.sha256`,
    ]);
    expect(r.outputs.sha256).toMatch(/^[0-9a-f]{64}$/);
    const v = runActionBundle(
      'verify-backup',
      { root: repo, module: 'store', 'backup-ref': r.outputs['backup-ref']!, 'backup-root': out },
      { cwd: repo },
    );
    expect(v.status).toBe(0);
    expect(v.outputs).toMatchObject({ verified: 'true', sha256: r.outputs.sha256, bytes: r.outputs.bytes });
  }, 180_000);
});
