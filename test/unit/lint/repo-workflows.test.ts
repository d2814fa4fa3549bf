/**
 * Every ready-to-copy workflow in workflows/ and the project's own workflows lint with zero
 * errors. The directories are listed, not named file by file, so a workflow added later is covered.
 */
import { expect, it } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { formatProblemLine, lintWorkflows } from '../../../src/lint/lint.js';
import { REPO } from '../../support/runner.js';

const DIRS = ['workflows', '.github/workflows', '.forgejo/workflows', '.gitea/workflows'];
const onDisk = DIRS.filter((d) => existsSync(path.join(REPO, d))).flatMap((d) =>
  readdirSync(path.join(REPO, d))
    .filter((f) => /\.ya?ml$/i.test(f))
    .map((f) => `${d}/${f}`),
);

it('the repository has the ready-to-copy workflows and its own CI (GitHub and Forgejo)', () => {
  for (const f of [
    'workflows/plan-on-pr.yml',
    'workflows/lint-workflows.yml',
    'workflows/restore.yml',
    'workflows/recover.yml',
    'workflows/upgrade.yml',
    'workflows/backup.yml',
    '.github/workflows/ci.yml',
    '.forgejo/workflows/ci.yml',
    '.github/workflows/release.yml',
    '.forgejo/workflows/release.yml',
  ]) {
    expect(onDisk).toContain(f);
  }
});

it("every workflows/*.yml and the project's own workflows lint with zero errors", async () => {
  const report = await lintWorkflows(REPO, []);
  expect([...report.files].sort()).toEqual([...onDisk].sort());
  const errors = report.problems.filter((p) => p.severity === 'error').map(formatProblemLine);
  expect(errors).toEqual([]);
});

it('the workflows written with the linter are free of warnings too (every uses: pinned to a SHA)', async () => {
  const mine = [
    'workflows/plan-on-pr.yml',
    'workflows/lint-workflows.yml',
    'workflows/restore.yml',
    'workflows/recover.yml',
    'workflows/upgrade.yml',
    'workflows/backup.yml',
    '.github/workflows/ci.yml',
    '.forgejo/workflows/ci.yml',
    '.github/workflows/release.yml',
    '.forgejo/workflows/release.yml',
  ];
  const report = await lintWorkflows(REPO, mine);
  expect(report.problems.map(formatProblemLine)).toEqual([]);
});

it('workflows/backup.yml is linted as what it is: without its concurrency group, or on push, it is an error', async () => {
  const { readFileSync } = await import('node:fs');
  const { lintWorkflowText } = await import('../../../src/lint/lint.js');
  const text = readFileSync(path.join(REPO, 'workflows/backup.yml'), 'utf8');
  const rules = async (t: string) => (await lintWorkflowText(Buffer.from(t), 'backup.yml')).problems.map((p) => p.rule);
  expect(await rules(text)).toEqual([]);
  const noGroup = text.replace(/ {4}concurrency:\n {6}group: .*\n {6}cancel-in-progress: false\n/, '');
  expect(noGroup).not.toBe(text);
  expect(await rules(noGroup)).toContain('SG104');
  const onPush = text.replace('  workflow_dispatch:\n', '  workflow_dispatch:\n  push:\n');
  expect(onPush).not.toBe(text);
  // snapshot and prune-backups both refused on push
  expect((await rules(onPush)).filter((r) => r === 'SG101')).toHaveLength(2);
});
