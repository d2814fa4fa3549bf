/** Helpers for the lint-workflows tests: expected positions are marked in the YAML itself. */
import { describe, expect, it } from '@jest/globals';
import { lintWorkflowBytes } from '../../../src/lint/lint.js';
import { ruleById, type Problem } from '../../../src/lint/rules.js';

/** A syntactically valid commit SHA, so fixtures do not trip SG301 unless they mean to. */
export const SHA = '0123456789abcdef0123456789abcdef01234567';

/**
 * Lines ending in `#!SG123` (several markers allowed: `#!SG101 #!SG301`) are where that rule
 * must fire. Returns the markers as `RULE@line`, sorted like the linter sorts.
 */
export function markers(yaml: string): string[] {
  const out: string[] = [];
  yaml.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(/#!(SG\d{3})/g)) out.push(`${m[1]}@${i + 1}`);
  });
  return out.sort(byLineThenRule);
}

function byLineThenRule(a: string, b: string): number {
  const [ra, la] = a.split('@');
  const [rb, lb] = b.split('@');
  return Number(la) - Number(lb) || ra!.localeCompare(rb!);
}

export async function lint(yaml: string | Buffer, file = 'w.yml'): Promise<Problem[]> {
  return lintWorkflowBytes(typeof yaml === 'string' ? Buffer.from(yaml) : yaml, file);
}

export function found(problems: Problem[]): string[] {
  return problems.map((p) => `${p.rule}@${p.line}`).sort(byLineThenRule);
}

/** A workflow that passes every rule: dispatch-only stateful apply done right. */
export const SAFE_APPLY = `name: stateful apply
on:
  workflow_dispatch:
    inputs:
      module:
        type: string
        required: true
      allow_stateful:
        type: boolean
        default: false
      backup_ref:
        type: string
        required: true
      stateful_confirm:
        type: string
        required: true
permissions:
  contents: read
jobs:
  apply:
    runs-on: ubuntu-latest
    concurrency:
      group: stateful-apply-\${{ inputs.module }}
      cancel-in-progress: false
    steps:
      - uses: actions/checkout@${SHA} # v4
      - uses: acme/stateguard/actions/stateful-apply@${SHA} # v1
        with:
          module: \${{ inputs.module }}
          allow-stateful: \${{ inputs.allow_stateful }}
          backup-ref: \${{ inputs.backup_ref }}
          confirm: \${{ inputs.stateful_confirm }}
`;

export const PERMS = 'permissions:\n  contents: read\n';

/** A dispatch-only restore done right: the shape of workflows/restore.yml. */
export const SAFE_RESTORE = `name: restore
on:
  workflow_dispatch:
    inputs:
      module:
        type: string
        required: true
      backup_ref:
        type: string
        required: true
      restore_confirm:
        type: string
        required: true
      allow_stateful:
        type: boolean
        default: false
${PERMS}jobs:
  restore:
    runs-on: ubuntu-latest
    concurrency:
      group: stateful-apply-\${{ inputs.module }}
      cancel-in-progress: false
    steps:
      - uses: ./actions/restore
        with:
          module: \${{ inputs.module }}
          allow-stateful: \${{ inputs.allow_stateful }}
          backup-ref: \${{ inputs.backup_ref }}
          backup-root: /var/backups/stateguard
          confirm: \${{ inputs.restore_confirm }}
`;

/** A dispatch-only workflow with one job whose steps are given. */
export function job(steps: string, extra = ''): string {
  return `on: workflow_dispatch\n${PERMS}jobs:\n  j:\n    runs-on: ubuntu-latest\n${extra}    steps:\n${steps}`;
}

export interface Case {
  name: string;
  yaml: string;
}

/**
 * One test per case: the complete list of problems must be exactly the `#!SGnnn` markers (rule
 * and line), so a rule firing where it should not fails the case too.
 */
export function table(title: string, cases: Case[]): void {
  describe(title, () => {
    it.each(cases)('$name', async ({ yaml }) => {
      const problems = await lint(yaml);
      expect(found(problems)).toEqual(markers(yaml));
      for (const p of problems) {
        expect(p.severity).toBe(ruleById(p.rule).severity);
        expect(p.file).toBe('w.yml');
        expect(p.column).toBeGreaterThanOrEqual(1);
        expect(p.message.length).toBeGreaterThan(10);
      }
    });
  });
}
