/** docs/rules.md and the rule catalogue in src/lint/rules.ts stay in step, both ways. */
import { expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RULES } from '../../../src/lint/rules.js';
import { REPO } from '../../support/runner.js';

const doc = readFileSync(path.join(REPO, 'docs/rules.md'), 'utf8');
const sections = new Map<string, string>();
for (const part of doc.split(/^## /m).slice(1)) {
  const heading = part.split('\n')[0]!.trim();
  sections.set(heading, part);
}

it('every rule in the code has a section in docs/rules.md, and every section a rule', () => {
  expect([...sections.keys()].sort()).toEqual(RULES.map((r) => `${r.id} ${r.name}`).sort());
});

it.each(RULES.map((r) => [r.id, r] as const))(
  '%s: severity, what, why, how to fix and also-covered-by match the code',
  (_id, rule) => {
    const section = sections.get(`${rule.id} ${rule.name}`)!;
    expect(section).toContain(`**Severity:** ${rule.severity}`);
    expect(section).toContain(`**What:** ${rule.summary}`);
    expect(section).toContain(`**Why:** ${rule.why}`);
    expect(section).toContain(`**How to fix:** ${rule.fix}`);
    // Whether actionlint or zizmor also report it, so nobody assumes coverage that is not there.
    expect(section).toContain(`**Also covered by:** ${rule.coveredBy}`);
  },
);

it('the index table lists every rule with its severity', () => {
  for (const r of RULES) expect(doc).toContain(`| ${r.name} | ${r.severity} |`);
});

it('rule IDs and names are unique', () => {
  expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
  expect(new Set(RULES.map((r) => r.name)).size).toBe(RULES.length);
  for (const r of RULES) expect(r.id).toMatch(/^SG\d{3}$/);
});
