/**
 * Every rule's messages (docs/rules.md, issue 29): one line (no raw newline, whatever the workflow
 * quotes), ending in the rule's section of docs/rules.md, and — for stateguard's own rules — naming
 * the fix. One triggering workflow per rule; a rule added without a case here fails the first test.
 */
import { afterAll, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { lintWorkflowText } from '../../../src/lint/lint.js';
import { RULES, type Problem, type RuleId } from '../../../src/lint/rules.js';
import { cleanupTempRepos } from '../../support/fixtures.js';
import { REPO } from '../../support/runner.js';
import { job, PERMS, SAFE_APPLY, SHA } from './support.js';
import { lintRepo, WF } from './repo-support.js';

afterAll(cleanupTempRepos);

const MODULE = `apiVersion: stateguard/v1\nkind: Module\nmetadata:\n  name: store\nspec:\n  class: stateful\n  compose: { file: ../../compose.yaml, project: shop, service: db }\n  backup: { ref_modules: [store], max_age_hours: 24 }\n  data:\n    volumes:\n      - { volume: db-data, path: /data }\n    ephemeral_paths: [/tmp]\n`;
const TARGET = `on: pull_request_target\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n`;

/** Per rule: how to trigger it, and the words of its fix in the message (undefined: the anchor is the fix). */
const CASES: Record<RuleId, { lint: () => Promise<Problem[]>; fix?: RegExp }> = {
  SG000: { lint: () => text(job('      - run: echo hi\n        bogus: 1\n')) },
  SG001: { lint: () => text('on: [\n') },
  SG002: {
    lint: () => text(job('      - run: echo # stateguard-lint: ignore SG999 -- x\n')),
    fix: /write '# stateguard-lint: ignore/,
  },
  SG003: { lint: () => repo({ [WF]: job('      - uses: ./missing\n') }), fix: /; correct the path or add the action/ },
  SG101: { lint: () => text(SAFE_APPLY.replace('on:\n', 'on:\n  push:\n')), fix: /only workflow_dispatch may run it/ },
  SG102: {
    lint: () => text(SAFE_APPLY.replace('${{ inputs.allow_stateful }}', 'true')),
    fix: /take it from a workflow_dispatch input/,
  },
  SG103: { lint: () => text(SAFE_APPLY.replace('default: false', 'default: true')), fix: /must have 'default: false'/ },
  SG104: {
    lint: () => text(SAFE_APPLY.replace('cancel-in-progress: false', 'cancel-in-progress: true')),
    fix: /set it to false/,
  },
  SG105: {
    lint: () =>
      text(
        SAFE_APPLY.replace(
          '        with:\n          module:',
          '        continue-on-error: true\n        with:\n          module:',
        ),
      ),
    fix: /remove it/,
  },
  // a quoted word spanning lines: the message quotes it, on one line
  SG106: {
    lint: () => text(job('      - run: |\n          docker volume rm "data\n          more"\n')),
    fix: /drop the flag/,
  },
  SG107: {
    lint: () =>
      text(
        `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: gh workflow run apply.yml -f allow_stateful=true\n`,
      ),
    fix: /dispatch without consent inputs/,
  },
  SG108: {
    lint: () =>
      text(
        SAFE_APPLY.replace('stateful-apply@', 'restore@').replace(
          'confirm: ${{ inputs.stateful_confirm }}',
          'confirm: ${{ inputs.backup_ref }}',
        ),
      ),
    fix: /take it from its own required workflow_dispatch input/,
  },
  SG109: {
    lint: () =>
      repo({
        'compose.yaml': 'services: {db: {image: x}}\n',
        'modules/store/module.yaml': MODULE,
        [WF]: `on:\n  schedule:\n    - cron: '0 4 * * *'\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: docker compose pull db\n`,
      }),
    fix: /change it with stateguard upgrade or apply/,
  },
  SG110: {
    lint: () =>
      repo({
        'compose.yaml': 'services: {db: {image: x}}\n',
        'modules/store/module.yaml': MODULE,
        [WF]: job('      - run: npx stateguard plan --module stor\n'),
      }),
    fix: /correct the name/,
  },
  SG111: {
    lint: () => text(job(`      - uses: acme/stateguard/actions/plan@${'0'.repeat(40)}\n`), '.github/workflows/p.yml'),
    fix: /replace it with the commit SHA/,
  },
  SG201: {
    lint: () =>
      text(
        `on: issues\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: echo "\${{ github.event.issue.title }}"\n`,
      ),
    fix: /pass it through env:/,
  },
  SG202: {
    lint: () => text(`on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: echo\n`),
    fix: /declare the least it needs/,
  },
  SG203: {
    lint: () =>
      text(
        TARGET +
          `      - uses: actions/checkout@${SHA}\n        with:\n          ref: \${{ github.event.pull_request.head.sha }}\n`,
      ),
    fix: /use the 'pull_request' trigger/,
  },
  SG301: { lint: () => text(job('      - uses: actions/checkout@v4\n')), fix: /use actions\/checkout@<40-hex-sha>/ },
  SG204: {
    lint: () =>
      text(
        TARGET +
          '      - env:\n          HEAD: ${{ github.event.pull_request.head.ref }}\n        run: echo "B=$HEAD" >> "$GITHUB_ENV"\n',
      ),
    fix: /through `env:`|do not write/i,
  },
};

async function text(yaml: string, file = 'w.yml'): Promise<Problem[]> {
  return (await lintWorkflowText(Buffer.from(yaml), file)).problems;
}
async function repo(files: Record<string, string>): Promise<Problem[]> {
  return (await lintRepo(files)).problems;
}

const headings = new Set(
  readFileSync(path.join(REPO, 'docs/rules.md'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('## '))
    .map((l) => l.slice(3).trim().toLowerCase().replace(/\s+/g, '-')),
);

it('every rule has a case here', () => {
  expect(Object.keys(CASES).sort()).toEqual(RULES.map((r) => r.id).sort());
});

it.each(RULES.map((r) => [r.id, r.name] as const))(
  '%s %s: each message is one line, ends in its docs/rules.md anchor and names the fix',
  async (id, name) => {
    const c = CASES[id];
    const problems = (await c.lint()).filter((p) => p.rule === id);
    expect(problems.length).toBeGreaterThan(0);
    const anchor = `${id.toLowerCase()}-${name}`;
    expect(headings.has(anchor)).toBe(true);
    for (const p of problems) {
      expect(p.message).not.toMatch(/[\r\n\u2028\u2029]/);
      expect(p.message.endsWith(` (docs/rules.md#${anchor})`)).toBe(true);
      if (c.fix) expect(p.message).toMatch(c.fix);
    }
  },
);
