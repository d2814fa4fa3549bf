/**
 * The published package, as a user gets it: `npm pack` of the repository (the committed dist/),
 * the tarball installed into an empty directory OFFLINE with an empty npm cache — which succeeds
 * only because the ncc bundle needs no dependencies — then the installed `stateguard` bin run from
 * there: `--version` prints package.json's version and `validate` accepts a copy of
 * examples/platform.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO } from '../support/runner.js';

const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };

interface PackEntry {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string }[];
}

let tmp = '';
let packed: PackEntry;
let installDir = '';

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout: 90_000,
    // an empty cache and no audit/fund/update-notifier traffic: the install must need nothing
    env: { ...process.env, npm_config_cache: path.join(tmp, 'npm-cache'), npm_config_update_notifier: 'false' },
  });
  if (r.error) throw r.error;
  return r;
}

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'sg-pack-'));
  // --ignore-scripts: packing must not build; it ships the committed dist/ as the release does.
  const p = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], REPO);
  expect(p.stderr).not.toMatch(/npm (error|ERR!)/);
  expect(p.status).toBe(0);
  packed = (JSON.parse(p.stdout) as PackEntry[])[0]!;
  installDir = path.join(tmp, 'install');
  cpSync(path.join(REPO, 'examples/platform'), path.join(tmp, 'platform'), { recursive: true });
  mkdirSync(installDir);
  writeFileSync(path.join(installDir, 'package.json'), JSON.stringify({ name: 'pack-test', private: true }));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('npm pack: the published package', () => {
  it('is named for the version and holds what runs and what documents it', () => {
    expect(packed.filename).toBe(`${pkg.name}-${pkg.version}.tgz`);
    const files = packed.files.map((f) => f.path);
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'action.yml',
      'dist/cli.js',
      'dist/index.js',
      'dist/package.json',
      'dist/actions/plan.js',
      'actions/plan/action.yml',
      'actions/stateful-apply/action.yml',
      'schema/module.schema.json',
    ]) {
      expect(files).toContain(f);
    }
  });

  it('holds no sources, tests, benchmarks, examples, scripts or workflows', () => {
    const leaked = packed.files
      .map((f) => f.path)
      .filter(
        (f) =>
          /^(src|test|bench|examples|scripts|docs|workflows|\.github|\.forgejo|node_modules)\//.test(f) ||
          /\.ts$/.test(f),
      );
    expect(leaked).toEqual([]);
  });

  it('installs offline from an empty cache (no dependencies) and runs --version and validate', () => {
    const i = run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--offline', path.join(tmp, packed.filename)],
      installDir,
    );
    expect(i.stderr).not.toMatch(/npm (error|ERR!)/);
    expect(i.status).toBe(0);
    const bin = path.join(installDir, 'node_modules/.bin/stateguard');

    const v = run(bin, ['--version'], installDir);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);

    const ok = run(bin, ['validate', '--root', path.join(tmp, 'platform')], installDir);
    expect(ok.stderr + ok.stdout).toContain('3 modules valid');
    expect(ok.status).toBe(0);
  });
});
