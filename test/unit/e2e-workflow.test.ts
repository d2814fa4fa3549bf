/** workflows/staging-e2e.yml: lints clean and only uses inputs the e2e-gate action really has. */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { runCli } from '../../src/cli.js';
import { e2eGateCommand } from '../../src/commands/e2e-gate.js';
import type { InputDef } from '../../src/commands/spec.js';
import { splitShellWords } from '../../src/probe/shell-words.js';
import { REPO } from '../support/runner.js';

const FILE = path.join(REPO, 'workflows/staging-e2e.yml');
interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
  'continue-on-error'?: unknown;
}
const doc = parse(readFileSync(FILE, 'utf8')) as {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, { steps: Step[] }>;
};
const steps = Object.values(doc.jobs).flatMap((j) => j.steps);
const gate = steps.find((s) => s.uses?.includes('/actions/e2e-gate@'))!;

describe('workflows/staging-e2e.yml', () => {
  it('lints clean with stateguard lint-workflows (no errors, no warnings)', async () => {
    let out = '';
    const code = await runCli(['lint-workflows', '--format', 'json', FILE], {
      stdout: (t) => (out += t),
      stderr: () => undefined,
      env: {},
      cwd: REPO,
    });
    expect(JSON.parse(out).problems).toEqual([]);
    expect(code).toBe(0);
  });

  it('least privilege, pinned actions, no expression inside a run: line', () => {
    expect(doc.permissions).toEqual({ contents: 'read' });
    for (const s of steps) {
      if (s.uses) expect(s.uses).toMatch(/@[0-9a-f]{40}$/);
      if (s.run) expect(s.run).not.toContain('${{');
      expect(s['continue-on-error']).toBeUndefined();
    }
    expect(Object.keys(doc.on).sort()).toEqual(['push', 'workflow_dispatch']);
  });

  it('passes only inputs the action declares, and a run string the gate accepts', () => {
    const names = (e2eGateCommand.inputs as readonly InputDef[]).filter((d) => !d.cliOnly).map((d) => d.name);
    expect(gate).toBeDefined();
    for (const k of Object.keys(gate.with ?? {})) expect(names).toContain(k);
    expect(splitShellWords(gate.with!.run!)).toEqual(['npm', 'run', 'e2e', '--silent']);
    // every required name reaches the step through env:, so the gate can see it
    const required = gate
      .with!.require!.split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    for (const n of [gate.with!.switch!, ...required]) expect(Object.keys(gate.env ?? {})).toContain(n);
  });
});
