/**
 * The release workflows' version step, run as the runner runs it (`bash --noprofile --norc -eo
 * pipefail`, with GITHUB_REF_NAME, RUNNER_TEMP and GITHUB_OUTPUT): it accepts only the tag v +
 * package.json's version, and the release notes it extracts are that version's CHANGELOG.md
 * section, without the next section or the link references.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO } from '../support/runner.js';

const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Step {
  id?: string;
  run?: string;
}

function versionStep(file: string): string {
  const doc = parse(readFileSync(path.join(REPO, file), 'utf8')) as { jobs: Record<string, { steps: Step[] }> };
  const step = Object.values(doc.jobs)
    .flatMap((j) => j.steps)
    .find((s) => s.id === 'version');
  expect(step?.run).toBeDefined();
  return step!.run!;
}

function runStep(script: string, tag: string) {
  const tmp = mkdtempSync(path.join(tmpdir(), 'sg-release-'));
  dirs.push(tmp);
  const output = path.join(tmp, 'output');
  writeFileSync(output, '');
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
    cwd: REPO,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, GITHUB_REF_NAME: tag, RUNNER_TEMP: tmp, GITHUB_OUTPUT: output },
  });
  const outputs = Object.fromEntries(
    readFileSync(output, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  let notes = '';
  try {
    notes = readFileSync(path.join(tmp, 'notes.md'), 'utf8');
  } catch {
    // not written
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, outputs, notes };
}

describe.each(['.github/workflows/release.yml', '.forgejo/workflows/release.yml'])('%s: version step', (file) => {
  const script = versionStep(file);

  it(`tag v${VERSION}: outputs tag and major, notes are the section of ${VERSION} only`, () => {
    const r = runStep(script, `v${VERSION}`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.outputs).toEqual({ tag: `v${VERSION}`, major: `v${VERSION.split('.')[0]}` });
    expect(r.notes).toContain('### Added');
    expect(r.notes).not.toMatch(/^## /m);
    expect(r.notes).not.toMatch(/^\[[^\]]+\]: /m);
    expect(r.notes).not.toContain('<!--');
  });

  it.each(['v9.9.9', VERSION, `v${VERSION}-rc.1`, 'v1.0', `v${VERSION}; echo injected`])('tag %j is refused', (tag) => {
    const r = runStep(script, tag);
    expect(r.status).toBe(1);
    expect(r.outputs).toEqual({});
    expect(r.stdout + r.stderr).not.toContain('injected\n');
  });
});
