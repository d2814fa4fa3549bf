/**
 * Which path applies a change, said the same by guard, apply, the README and the action outputs.
 * guard's `allowed` means only that the stateful rule does not block the change; `applied_by` and
 * the text name the path that applies it (apply runs one-shots only; a long-running stateless module
 * goes through the normal deploy; a stateful image bump through upgrade). docs/architecture.md §4.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getCommand } from '../../src/commands/index.js';
import { ALLOWED_MEANS, appliedBy, howApplied } from '../../src/guard/applies.js';
import { actionRun, cliRun } from '../support/commands.js';
import { examplePlatform, type FakeRuntime } from '../support/fake-runtime.js';
import { cleanupTempRepos } from '../support/fixtures.js';
import { REPO } from '../support/runner.js';

afterAll(cleanupTempRepos);

const ROOT = path.join(REPO, 'examples/platform');

/** web's compose definition changed (stateless, long-running, drifted); store's image bumped. */
function engine(): FakeRuntime {
  const rt = examplePlatform({ initExit: 0 });
  rt.projects.platform!.hashes.web = 'h-web-2';
  rt.projects.platform!.services.store = { image: 'stateguard/busybox:1.1.0' };
  rt.projects.platform!.hashes.store = 'h-store-2';
  rt.images['stateguard/busybox:1.1.0'] = 'sha256:bbb';
  return rt;
}

describe('the path words', () => {
  it.each<[string, Parameters<typeof appliedBy>[0], string[], string, RegExp]>([
    [
      'stateless one-shot',
      { name: 'm', class: 'stateless', expectedState: 'exited-success' },
      ['container.state.exited_success'],
      'apply',
      /`stateguard apply --module m` re-runs it\.$/,
    ],
    [
      'stateful one-shot',
      { name: 'i', class: 'stateful', expectedState: 'exited-success' },
      ['container.state.exited_success'],
      'apply',
      /re-runs it \(with --allow-stateful and a verified backup\)/,
    ],
    [
      'stateless long-running',
      { name: 'web', class: 'stateless', expectedState: 'running' },
      ['container.config'],
      'normal-deploy',
      /apply only re-runs one-shots, so deploy it through your normal deploy \(e\.g\. `docker compose up -d`\)/,
    ],
    [
      'stateless on Swarm',
      { name: 'web', class: 'stateless', expectedState: 'running', runtime: 'swarm' },
      ['container.config'],
      'normal-deploy',
      /`docker stack deploy`/,
    ],
    [
      'stateful image bump',
      { name: 'db', class: 'stateful', expectedState: 'running' },
      ['container.image', 'container.config'],
      'upgrade',
      /an image bump goes through `stateguard upgrade --module db` \(workflows\/upgrade\.yml\), not apply/,
    ],
    [
      'stateful image bump on Swarm',
      { name: 'db', class: 'stateful', expectedState: 'running', runtime: 'swarm' },
      ['container.image', 'container.config'],
      'by-hand',
      /no stateguard command applies this drift/,
    ],
    [
      'sidecar image bump',
      { name: 'c', class: 'sidecar', expectedState: 'running' },
      ['container.image'],
      'by-hand',
      /long-running and sidecar: no stateguard command applies/,
    ],
    [
      'stateful config only',
      { name: 'db', class: 'stateful', expectedState: 'running' },
      ['container.config'],
      'by-hand',
      /take a snapshot, change it by hand/,
    ],
    [
      'stateful missing',
      { name: 'db', class: 'stateful', expectedState: 'running' },
      ['container.missing'],
      'by-hand',
      /by hand/,
    ],
  ])('%s', (_, m, keys, by, words) => {
    expect(appliedBy(m, keys as never)).toBe(by);
    expect(howApplied(m, keys as never)).toMatch(words);
  });

  it('in an action, the input is named (not the flag)', () => {
    expect(howApplied({ name: 'i', class: 'stateful', expectedState: 'exited-success' }, [], 'action')).toMatch(
      /with allow-stateful and/,
    );
  });
});

describe('guard --module web (stateless, drifted) and apply --module web say the same', () => {
  it('guard: allowed, what allowed means, and that the normal deploy applies it (text, JSON)', async () => {
    const r = await cliRun(['guard', '--root', ROOT, '--module', 'web', '--json'], engine());
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ decision: 'allowed', applied_by: 'normal-deploy', failure_reason: '' });
    expect(json.how_applied).toMatch(/normal deploy/);
    expect(r.stderr).toContain(
      `guard web: allowed (drift: container.config)\n  ${ALLOWED_MEANS}; ${json.how_applied as string}`,
    );
  });

  it('apply: refused, with the same words (not a contradiction of allowed)', async () => {
    const g = JSON.parse((await cliRun(['guard', '--root', ROOT, '--module', 'web', '--json'], engine())).stdout) as {
      how_applied: string;
    };
    const r = await cliRun(['apply', '--root', ROOT, '--module', 'web', '--json'], engine());
    expect(r.code).toBe(1);
    const o = JSON.parse(r.stdout) as { status: string; verdict: string };
    expect(o.status).toBe('refused');
    expect(o.verdict).toContain(`A guard decision of allowed means only that ${ALLOWED_MEANS}; ${g.how_applied}`);
    expect(o.verdict).not.toMatch(/Deploy long-running services through your normal deploy, not stateguard apply/);
  });

  it('the action: outputs decision and applied-by; the summary says what allowed means', async () => {
    const rec = await actionRun('guard', { root: ROOT, module: 'web' }, engine());
    expect(rec.code).toBe(0);
    expect(rec.outputs).toMatchObject({ decision: 'allowed', 'applied-by': 'normal-deploy' });
    expect(rec.summaries.join('\n')).toContain(`\`allowed\`: ${ALLOWED_MEANS}.`);
  });

  it('a stateful image bump: blocked for the guard, and its fix points to upgrade', async () => {
    const r = await cliRun(['guard', '--root', ROOT, '--module', 'store', '--json'], engine());
    const json = JSON.parse(r.stdout) as {
      decision: string;
      applied_by: string;
      reasons: Array<{ code: string; fix: string }>;
    };
    expect(json).toMatchObject({ decision: 'blocked', applied_by: 'upgrade' });
    const fixes = json.reasons.filter((x) => x.code === 'drift-not-allowed').map((x) => x.fix);
    expect(fixes.length).toBeGreaterThan(0);
    for (const f of fixes) expect(f).toMatch(/`stateguard upgrade --module store`/);
  });
});

describe('the README and the action outputs carry the same meaning', () => {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  it('the guard table says what allowed means for a stateless module, and that apply runs only one-shots', () => {
    const row = readme.split('\n').find((l) => l.startsWith('| `stateless` | any |'));
    expect(row).toBeDefined();
    expect(row).toContain(ALLOWED_MEANS);
    expect(row).toMatch(/normal deploy/);
  });
  it("guard's decision output describes allowed with the same words, and applied-by exists", () => {
    const outs = getCommand('guard')!.outputs;
    expect(outs.find((o) => o.name === 'decision')!.description).toContain(ALLOWED_MEANS);
    expect(outs.map((o) => o.name)).toContain('applied-by');
    const yml = readFileSync(path.join(REPO, 'actions/guard/action.yml'), 'utf8');
    expect(yml).toContain(ALLOWED_MEANS);
    expect(yml).toContain('applied-by');
  });
});
