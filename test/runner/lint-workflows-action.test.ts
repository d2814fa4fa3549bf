/** The built lint-workflows bundle, run as a runner runs it, and the CLI bundle (dist/cli.js). */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cleanupTempRepos, tempRepo } from '../support/fixtures.js';
import { REPO, runActionBundle } from '../support/runner.js';

afterAll(cleanupTempRepos);

const SHA = '0123456789abcdef0123456789abcdef01234567';
const many = `on: workflow_dispatch\npermissions: {}\njobs:\n  j:\n    runs-on: x\n    steps:\n${Array.from({ length: 13 }, (_, i) => `      - uses: actions/checkout@v${i}\n`).join('')}`;
const injected = `on: pull_request\npermissions:\n  contents: read\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@${SHA}\n      - run: |\n          echo "\${{ github.event.pull_request.title }}"\n`;

describe('actions/lint-workflows bundle', () => {
  it('errors: annotations with file and line (10 per file at most), outputs, summary, SARIF file, exit 1', () => {
    const root = tempRepo({ '.github/workflows/many.yml': many, '.github/workflows/pr.yml': injected });
    const r = runActionBundle('lint-workflows', { 'sarif-file': 'out/lint.sarif' }, { cwd: root });
    expect(r.status).toBe(1);
    expect(r.outputs).toEqual({
      errors: '1',
      warnings: '13',
      'sarif-file': 'out/lint.sarif',
      'failure-reason': 'lint-errors',
    });
    expect(r.stdout).toMatch(
      /^::error title=stateguard SG201,file=\.github\/workflows\/pr\.yml,line=10,col=17::SG201 \$\{\{ github\.event\.pull_request\.title \}\} is interpolated/m,
    );
    expect(
      r.stdout.match(/^::warning title=stateguard SG301,file=\.github\/workflows\/many\.yml,line=\d+/gm),
    ).toHaveLength(10);
    expect(r.summary).toContain('.github/workflows/many.yml (3 more)');
    expect(r.summary).toContain('| .github/workflows/pr.yml | 10:17 | SG201 | error |');
    const sarif = JSON.parse(readFileSync(path.join(root, 'out/lint.sarif'), 'utf8'));
    expect(sarif.runs[0].results).toHaveLength(14);
  });

  it('warnings alone: exit 0, empty failure-reason', () => {
    const root = tempRepo({ 'workflows/many.yml': many });
    const r = runActionBundle('lint-workflows', {}, { cwd: root });
    expect(r.status).toBe(0);
    expect(r.outputs).toEqual({ errors: '0', warnings: '13', 'sarif-file': '', 'failure-reason': '' });
  });

  it('explicit paths come one per line; a missing one is "could not run"', () => {
    const root = tempRepo({ 'a/one.yml': injected });
    const ok = runActionBundle('lint-workflows', { paths: 'a/one.yml\n' }, { cwd: root });
    expect(ok.status).toBe(1);
    expect(ok.outputs.errors).toBe('1');
    const missing = runActionBundle('lint-workflows', { paths: 'a/one.yml\nnope' }, { cwd: root });
    expect(missing.status).toBe(3);
    expect(missing.outputs['failure-reason']).toBe('invalid-input');
    expect(missing.stdout).toContain('cannot read "nope"');
  });

  it('the root action runs it with command: lint-workflows', () => {
    const root = tempRepo({ 'workflows/pr.yml': injected });
    const r = runActionBundle('root', { command: 'lint-workflows' }, { cwd: root });
    expect(r.status).toBe(1);
    expect(r.outputs.errors).toBe('1');
  });
});

describe('dist/cli.js lint-workflows', () => {
  function cli(args: string[], cwd: string) {
    return spawnSync(process.execPath, [path.join(REPO, 'dist/cli.js'), 'lint-workflows', ...args], {
      cwd,
      encoding: 'utf8',
      timeout: 60_000,
    });
  }

  it("the repository's own workflows lint clean through the bundle", () => {
    const r = cli([], REPO);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/workflow files? checked: 0 errors/);
    expect(r.status).toBe(0);
  });

  it("text, json and sarif through the bundle (GitHub's parser loads in it)", () => {
    const root = tempRepo({ 'workflows/pr.yml': injected + '        bogus: 1\n' });
    const text = cli([], root);
    expect(text.status).toBe(1);
    expect(text.stdout.split('\n').slice(0, 2)).toEqual([
      "workflows/pr.yml:10:17: SG201 ${{ github.event.pull_request.title }} is interpolated into a run: script of step 2 in job 'j' (script injection: it reads github.event.pull_request.title); pass it through env: and use the variable instead (docs/rules.md#sg201-script-injection)",
      "workflows/pr.yml:11:9: SG000 Unexpected value 'bogus' (docs/rules.md#sg000-workflow-schema)",
    ]);
    const json = JSON.parse(cli(['--format', 'json'], root).stdout);
    expect(json.problems.map((p: { rule: string }) => p.rule)).toEqual(['SG201', 'SG000']);
    const sarif = JSON.parse(cli(['--format', 'sarif'], root).stdout);
    expect(sarif.runs[0].results.map((x: { ruleId: string }) => x.ruleId)).toEqual(['SG201', 'SG000']);
    expect(cli(['missing-dir'], root).status).toBe(3);
  });
});
