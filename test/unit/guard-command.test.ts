/**
 * `stateguard guard` through the CLI, with the real plan over a fake engine: the JSON document
 * (docs/architecture.md §4 shape), exit codes 0/1/3, and that the verdict comes from a fresh plan.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { cliRun } from '../support/commands.js';
import { formatStamp } from '../../src/backup/names.js';
import { examplePlatform, FakeRuntime } from '../support/fake-runtime.js';
import { cleanupTempRepos, tempRepo } from '../support/fixtures.js';
import { REPO } from '../support/runner.js';
import { addManifestToFile } from '../support/manifests.js';

afterAll(cleanupTempRepos);

const ROOT = path.join(REPO, 'examples/platform');

const engine = (initExit: number | 'missing'): FakeRuntime => examplePlatform({ initExit });

async function guard(args: string[], rt: FakeRuntime) {
  const { code, stdout, stderr } = await cliRun(['guard', '--root', ROOT, '--json', ...args], rt);
  return { code, json: JSON.parse(stdout) as Record<string, unknown>, stderr };
}

describe('stateguard guard (CLI, fresh plan over a fake engine)', () => {
  it('a failed one-shot without consent: exit 1, blocked, every reason, docs/architecture.md §4 JSON shape', async () => {
    const r = await guard(['--module', 'store-init'], engine(1));
    expect(r.code).toBe(1);
    expect(Object.keys(r.json).sort()).toEqual([
      'applied_by',
      'backup',
      'decision',
      'drift_keys',
      'failure_reason',
      'how_applied',
      'module',
      'plan_hash',
      'reasons',
    ]);
    expect(r.json).toMatchObject({
      module: 'store-init',
      decision: 'blocked',
      drift_keys: ['container.state.exited_success'],
      failure_reason: 'not-allowed',
    });
    expect((r.json.reasons as Array<{ code: string; input: string }>).map((x) => [x.code, x.input])).toEqual([
      ['not-allowed', 'allow-stateful'],
      ['backup-rejected', 'backup-ref'],
      ['confirm-mismatch', 'confirm'],
    ]);
    expect(r.json.plan_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stderr).toContain('fix: ');
  });

  it('a successful one-shot is a no-op: exit 0 with no input at all', async () => {
    const r = await guard(['--module', 'store-init'], engine(0));
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ decision: 'no-op', reasons: [], failure_reason: '' });
  });

  it('every condition met, with a real backup file verified by verify-backup: exit 0, allowed', async () => {
    const name = `store-${formatStamp(new Date(Date.now() - 60_000))}.tar.gz`;
    const backups = tempRepo({ [name]: await tinyArchive() });
    const file = path.join(backups, name);
    addManifestToFile(file, { project: 'platform', service: 'store' });
    const r = await guard(
      [
        '--module',
        'store-init',
        '--allow-stateful',
        '--confirm',
        'BACKUP_DONE',
        '--backup-ref',
        file,
        '--backup-root',
        backups,
      ],
      engine(1),
    );
    expect(r.json).toMatchObject({
      decision: 'allowed',
      failure_reason: '',
      backup: { verified: true, matched_module: 'store' },
    });
    expect(r.code).toBe(0);
  });

  it('the engine unreachable: exit 3, blocked (docker-unavailable), never allowed', async () => {
    const rt = engine(1);
    rt.reachable = false;
    const r = await guard(['--module', 'store-init', '--allow-stateful', '--confirm', 'BACKUP_DONE'], rt);
    expect(r.code).toBe(3);
    expect(r.json).toMatchObject({ decision: 'blocked', failure_reason: 'docker-unavailable', plan_hash: null });
  });

  it('stateless drift is allowed (exit 0) without stateful inputs', async () => {
    const rt = engine(0);
    rt.containers = rt.containers.filter((c) => c.service !== 'web');
    const r = await guard(['--module', 'web'], rt);
    expect(r.json).toMatchObject({ decision: 'allowed', drift_keys: ['container.missing'] });
    expect(r.code).toBe(0);
  });

  it('an unknown module is refused before any engine call', async () => {
    const rt = engine(1);
    const r = await guard(['--module', 'nope'], rt);
    expect(r.code).toBe(3); // a usage error, not a "no" about a module
    expect(r.json).toMatchObject({ failure_reason: 'module-not-found' });
    // validate renders the compose file through compose (no engine involved): nothing else ran
    expect(rt.calls.filter((c) => c.method !== 'renderProject')).toEqual([]);
  });
});

async function tinyArchive(): Promise<Buffer> {
  const tar = await import('tar');
  const { mkdtempSync, writeFileSync, readFileSync, rmSync, mkdirSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-guard-bk-'));
  // the layout of examples/platform's store: one top-level directory per declared volume
  mkdirSync(path.join(dir, 'store-data'));
  writeFileSync(path.join(dir, 'store-data', 'f'), 'x');
  const file = path.join(dir, 'a.tar.gz');
  await tar.c({ gzip: true, file, cwd: dir, portable: true }, ['store-data']);
  const buf = readFileSync(file);
  rmSync(dir, { recursive: true, force: true });
  return buf;
}
