/**
 * The plan's PR comment and job summary: the commit and the run link (from the environment, never
 * injected), every module's plan hash, the next step per drift kind, long drift collapsed, bounded.
 */
import { describe, expect, it } from '@jest/globals';
import type { DriftItem, ModulePlan } from '../../src/drift/types.js';
import {
  DRIFT_COLLAPSE_AT,
  nextStep,
  nextStepLines,
  renderPlanMarkdown,
  renderPlanText,
  runContextLine,
  type RunContext,
} from '../../src/report/plan-render.js';
import { runContextFromEnv } from '../../src/report/pr-comment.js';
import { planOf, withPlanHash } from '../support/plans.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const HEAD = 'fedcba9876543210fedcba9876543210fedcba98';
const ENV = {
  GITHUB_SHA: SHA,
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/platform',
  GITHUB_RUN_ID: '4242',
};
const RUN_URL = 'https://github.com/acme/platform/actions/runs/4242';

function mod(over: Partial<ModulePlan> & { name: string; drift: DriftItem[] }): ModulePlan {
  return withPlanHash({
    class: 'stateful',
    expected_state: 'running',
    compose: { project: 'p', service: over.name, file: 'compose.yaml' },
    observed: { container_id: 'c', state: 'running', exit_code: null, image: 'i', health: null },
    in_sync: over.drift.length === 0,
    ...over,
  });
}

const exitedNonzero: DriftItem = {
  key: 'container.state.exited_success',
  declared: 'exited (0)',
  observed: 'exited (1)',
  reason: 'exited-nonzero',
};
const imageDrift: DriftItem = { key: 'container.image', declared: 'db:2.0.0', observed: 'db:1.0.0', bump: 'major' };
const configDrift: DriftItem = { key: 'container.config', declared: 'h1', observed: 'h2', fields: ['command'] };
const upgrade = (bump: 'major' | 'minor' | 'unknown') => ({
  from: 'db:1.0.0',
  to: 'db:2.0.0',
  bump,
  would_hold: bump === 'minor' ? ('' as const) : ('held-major' as const),
  message: 'm',
  release_notes: null,
});

describe('runContextFromEnv', () => {
  const payload = (p: unknown) => () => JSON.stringify(p);
  it.each<[string, Record<string, string>, () => string, RunContext]>([
    ['push: GITHUB_SHA and the run link', ENV, payload({}), { sha: SHA, runUrl: RUN_URL }],
    [
      'pull_request: the PR head, not the merge commit',
      { ...ENV, GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: '/e.json' },
      payload({ pull_request: { head: { sha: HEAD } } }),
      { sha: HEAD, runUrl: RUN_URL },
    ],
    [
      'pull_request without a readable payload: GITHUB_SHA',
      { ...ENV, GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: '/e.json' },
      () => {
        throw new Error('ENOENT');
      },
      { sha: SHA, runUrl: RUN_URL },
    ],
    [
      'Forgejo under a path, trailing slash',
      { ...ENV, GITHUB_SERVER_URL: 'https://git.example/forge/' },
      payload({}),
      { sha: SHA, runUrl: 'https://git.example/forge/acme/platform/actions/runs/4242' },
    ],
    ['no run id: no link', { ...ENV, GITHUB_RUN_ID: '' }, payload({}), { sha: SHA }],
    [
      'no server: no link',
      { GITHUB_SHA: SHA, GITHUB_REPOSITORY: 'a/b', GITHUB_RUN_ID: '1' },
      payload({}),
      { sha: SHA },
    ],
    ['nothing set', {}, payload({}), {}],
    [
      'hostile values are dropped, not escaped into a link',
      {
        GITHUB_SHA: '`](javascript:alert(1))',
        GITHUB_SERVER_URL: 'https://x.example/](javascript:alert(1))',
        GITHUB_REPOSITORY: 'a/b',
        GITHUB_RUN_ID: '1',
      },
      payload({}),
      {},
    ],
    [
      'a hostile head SHA in the payload is dropped',
      {
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: '/e.json',
        GITHUB_REPOSITORY: 'a/b c',
        GITHUB_RUN_ID: '1',
      },
      payload({ pull_request: { head: { sha: '<img src=x onerror=alert(1)>' } } }),
      {},
    ],
  ])('%s', (_, env, read, want) => {
    expect(runContextFromEnv(env, read)).toEqual(want);
  });
});

describe('the header line: short commit and run link', () => {
  it.each<[string, RunContext | undefined, string]>([
    ['both', { sha: SHA, runUrl: RUN_URL }, `commit \`0123456\` · [workflow run](${RUN_URL})`],
    ['commit only', { sha: SHA }, 'commit `0123456`'],
    ['run only', { runUrl: RUN_URL }, `[workflow run](${RUN_URL})`],
    ['none', undefined, ''],
    [
      'malformed values given directly are dropped',
      { sha: 'xyz`|', runUrl: 'javascript:alert(1)//actions/runs/1' },
      '',
    ],
  ])('%s', (_, run, want) => {
    expect(runContextLine(run)).toBe(want);
    const md = renderPlanMarkdown(planOf([mod({ name: 'db', drift: [] })]), run ? { run } : {});
    if (want) expect(md.split('\n')[2]).toBe(want);
    else expect(md).not.toMatch(/commit `|workflow run/);
  });
});

describe('next steps per drift kind: what is true for each class, expected state and drift', () => {
  const HASH = /[0-9a-f]{64}/.source;
  const minor = { ...upgrade('minor'), bump: 'minor' as const };
  const manual = { ...upgrade('minor'), would_hold: 'held-manual-migration' as const };
  // [name, module, backup modules, present in markdown, absent from markdown, present in the text]
  const cases: Array<[string, ModulePlan, string[] | undefined, RegExp[], RegExp[], RegExp[]]> = [
    [
      'stateful one-shot that exited non-zero: stateful-apply with a snapshot of its backup module',
      mod({ name: 'store-init', class: 'sidecar', expected_state: 'exited-success', drift: [exitedNonzero] }),
      ['store'],
      [
        /dispatch `workflows\/stateful-apply\.yml`/,
        /`module`=`store-init`/,
        /`allow_stateful`=`true`/,
        /`backup_ref`=a snapshot of `store` under your backup root \(`store-YYYYMMDDTHHMMSSZ\.tar\.gz`\)/,
        /`stateful_confirm`=`BACKUP_DONE`/,
        new RegExp(`\`expected_plan_hash\`=\`${HASH}\``),
        /or from a shell: `stateguard apply --module store-init --allow-stateful --backup-root DIR --backup-ref DIR\/store-YYYYMMDDTHHMMSSZ\.tar\.gz --confirm BACKUP_DONE --expected-plan-hash/,
      ],
      [/allow_major/, /by hand/],
      [
        /next: a sidecar one-shot to re-run: dispatch workflows\/stateful-apply\.yml with module=store-init/,
        /or: stateguard apply --module store-init --allow-stateful/,
      ],
    ],
    [
      'running stateful, image bump with the config it brings (minor): upgrade, workflow and CLI line',
      mod({ name: 'db', drift: [{ ...imageDrift, bump: 'minor' }, configDrift], upgrade: minor }),
      undefined,
      [
        /an image bump \(db:1\.0\.0 → db:2\.0\.0, minor\) of a long-running stateful module: dispatch `workflows\/upgrade\.yml`/,
        /`module`=`db`, `allow_stateful`=`true`, `stateful_confirm`=`BACKUP_DONE`/,
        new RegExp(
          `or from a shell: \`stateguard upgrade --module db --allow-stateful --confirm BACKUP_DONE --out-dir DIR --expected-plan-hash ${HASH}\``,
        ),
      ],
      [/allow_major/, /by hand/, /no workflow applies/],
      [
        /next: an image bump .* dispatch workflows\/upgrade\.yml with module=db/,
        /or: stateguard upgrade --module db --allow-stateful --confirm/,
      ],
    ],
    [
      'running stateful, image drift alone: upgrade',
      mod({ name: 'db', drift: [{ ...imageDrift, bump: 'minor' }], upgrade: minor }),
      undefined,
      [/dispatch `workflows\/upgrade\.yml`/, /`stateguard upgrade --module db /],
      [/allow_major/],
      [/or: stateguard upgrade --module db /],
    ],
    [
      'running stateful, major image bump (with config): upgrade with allow_major',
      mod({ name: 'db', drift: [imageDrift, configDrift], upgrade: upgrade('major') }),
      undefined,
      [
        /dispatch `workflows\/upgrade\.yml`/,
        /`allow_major`=`true` \(a major bump/,
        /`expected_plan_hash`=/,
        /--allow-stateful --allow-major --confirm/,
      ],
      [/backup_ref/, /by hand/],
      [/allow_major=true \(a major bump/, /or: stateguard upgrade --module db --allow-stateful --allow-major/],
    ],
    [
      'running stateful, unknown bump: "an unknown bump", allow_major',
      mod({ name: 'db', drift: [{ ...imageDrift, bump: undefined }, configDrift], upgrade: upgrade('unknown') }),
      undefined,
      [/\(an unknown bump: read the release notes first\)/],
      [/a unknown/],
      [/an unknown bump/],
    ],
    [
      'running stateful, release notes flag a manual migration: upgrade would hold, by hand with a snapshot',
      mod({ name: 'db', drift: [imageDrift, configDrift], upgrade: manual }),
      undefined,
      [/`stateguard upgrade` would hold: its release notes flag a manual migration/, /`workflows\/backup\.yml`/],
      [/dispatch/],
      [/would hold: its release notes flag a manual migration/],
    ],
    [
      'running stateful on Swarm, image bump: no upgrade on Swarm, docker stack deploy by hand',
      mod({ name: 'db', runtime: 'swarm', drift: [imageDrift, configDrift] }),
      undefined,
      [/upgrade is not built for Swarm/, /`docker stack deploy -c compose\.yaml p`/],
      [/dispatch/],
      [/upgrade is not built for Swarm/],
    ],
    [
      'running sidecar, image bump: upgrade takes only stateful modules',
      mod({ name: 'cache', class: 'sidecar', drift: [imageDrift, configDrift] }),
      undefined,
      [
        /upgrade takes only stateful modules, this one is a sidecar/,
        /by hand \(`docker compose -p p -f compose\.yaml up -d --no-deps cache`\)/,
      ],
      [/dispatch/],
      [/upgrade takes only stateful modules/],
    ],
    [
      'running stateful, config drift without an image bump: by hand, snapshot first',
      mod({ name: 'db', drift: [configDrift] }),
      undefined,
      [/a configuration change without an image bump/, /take a snapshot \(`workflows\/backup\.yml`\)/],
      [/dispatch/],
      [/a configuration change without an image bump/],
    ],
    [
      'running stateful, not running: bring it back or restore',
      mod({ name: 'db', drift: [{ key: 'container.state.running', declared: 'running', observed: 'exited (1)' }] }),
      undefined,
      [/not running as declared \(`container\.state\.running`\)/, /`workflows\/restore\.yml`/],
      [/dispatch/],
      [/not running as declared/],
    ],
    [
      'a stateful one-shot with image drift: by hand, naming what the guard re-runs',
      mod({ name: 'init', class: 'sidecar', expected_state: 'exited-success', drift: [exitedNonzero, imageDrift] }),
      undefined,
      [/no stateguard path applies `container\.image` to a sidecar one-shot/, /by hand/],
      [/dispatch/],
      [/no stateguard path applies `container\.image` to a sidecar one-shot/],
    ],
    [
      'a one-shot whose image cannot be compared: create the container, do not start it',
      mod({
        name: 'init',
        class: 'stateful',
        expected_state: 'exited-success',
        drift: [{ ...imageDrift, reason: 'unverifiable' }],
      }),
      undefined,
      [/`docker compose -p p -f compose\.yaml up --no-start --no-deps init`/],
      [/dispatch/],
      [/create \(not start\)/],
    ],
    [
      'stateless long-running: the guard does not block it; the normal deploy, not apply',
      mod({ name: 'web', class: 'stateless', drift: [configDrift] }),
      undefined,
      [
        /stateless and long-running: the guard does not block it, and stateguard does not deploy it \(`apply` only re-runs one-shots\); deploy it through your normal deploy/,
      ],
      [/dispatch/, /stateguard apply --module/],
      [/deploy it through your normal deploy/],
    ],
    [
      'stateless one-shot: apply, no backup',
      mod({ name: 'migrate', class: 'stateless', expected_state: 'exited-success', drift: [exitedNonzero] }),
      undefined,
      [/: `stateguard apply --module migrate --expected-plan-hash [0-9a-f]{64}`/],
      [/allow-stateful/, /dispatch/],
      [/run: stateguard apply --module migrate --expected-plan-hash/],
    ],
    [
      'an interrupted operation: recover first',
      mod({
        name: 'db',
        drift: [imageDrift],
        interrupted_operation: {
          status: 'open',
          message: 'restore interrupted',
        } as ModulePlan['interrupted_operation'],
      }),
      undefined,
      [/recover it first \(`workflows\/recover\.yml`\): `stateguard recover --module db`/],
      [/dispatch/],
      [/run: stateguard recover --module db/],
    ],
  ];
  it.each(cases)('%s', (_, m, backup, present, absent, inText) => {
    const step = nextStep(m, backup);
    for (const re of present) expect(step).toMatch(re);
    for (const re of absent) expect(step).not.toMatch(re);
    // the old advice that sent users around the upgrade gate is gone everywhere
    expect(step).not.toMatch(/no workflow applies/);
    const md = renderPlanMarkdown(planOf([m]), backup ? { backupModules: { [m.name]: backup } } : {});
    expect(md).toContain('**Next steps**');
    expect(md).toContain(step);
    const text = renderPlanText(planOf([m]), backup ? { [m.name]: backup } : undefined);
    for (const re of inText) expect(text).toMatch(re);
    expect(text).toContain(nextStepLines(m, backup).join('\n  '));
  });

  it('none for a module in sync', () => {
    const m = mod({ name: 'db', drift: [] });
    expect(nextStep(m)).toBe('');
    expect(nextStepLines(m)).toEqual([]);
    expect(renderPlanMarkdown(planOf([m]))).not.toContain('Next steps');
    expect(renderPlanText(planOf([m]))).not.toContain('next:');
  });
});

describe('every module shows its plan hash; long drift is collapsed', () => {
  it('in-sync modules carry their hash too', () => {
    const m = mod({ name: 'db', drift: [] });
    expect(renderPlanMarkdown(planOf([m]))).toContain(`| \`${m.plan_hash}\` |`);
  });

  it.each([
    [DRIFT_COLLAPSE_AT, false],
    [DRIFT_COLLAPSE_AT + 1, true],
  ])('%i drift items: collapsed %p', (n, collapsed) => {
    const drift = Array.from({ length: n }, (_, i) => ({ ...configDrift, fields: [`f${i}`] }));
    const md = renderPlanMarkdown(planOf([mod({ name: 'db', drift })]));
    expect(md.includes(`<details><summary>${n} drift items</summary>`)).toBe(collapsed);
    expect(md).toContain(`f${n - 1}`);
  });
});

describe('escaping and the size bound', () => {
  it('a hostile service name cannot open HTML, close the cell or the comment marker', () => {
    const m = mod({ name: 'db', drift: [configDrift] });
    m.compose.service = 'x|<script>alert(1)</script>`-->';
    const md = renderPlanMarkdown(planOf([m]));
    expect(md).not.toContain('<script>');
    expect(md).not.toContain('-->');
    expect(md).toContain('x\\|&lt;script&gt;');
  });

  it('with next steps and a run line, the comment stays within maxChars', () => {
    const many = Array.from({ length: 400 }, (_, i) =>
      mod({ name: `init${i}`, class: 'sidecar', expected_state: 'exited-success', drift: [exitedNonzero] }),
    );
    for (const max of [3000, 20_000, 60_000]) {
      const md = renderPlanMarkdown(planOf(many), { maxChars: max, run: { sha: SHA, runUrl: RUN_URL } });
      expect(md.length).toBeLessThanOrEqual(max);
      expect(md).toContain('commit `0123456`');
      expect(md).toContain('Planned with');
    }
  });
});
