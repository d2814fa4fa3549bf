/**
 * The pending upgrade in the plan: a stateful running module with container.image drift shows what
 * `stateguard upgrade` would do, per its pre-deploy gate — in the JSON, the table, the summary and the
 * PR comment (the same markdown). A plan never fails on missing release notes: it shows "would be held".
 */
import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { planModules } from '../../../src/plan/plan.js';
import type { ModulePlan, PendingUpgrade } from '../../../src/drift/types.js';
import type { ModuleDecl } from '../../../src/model/module.js';
import { renderPlanMarkdown, renderPlanText } from '../../../src/report/plan-render.js';
import { FakeRuntime, container } from '../../support/fake-runtime.js';
import { planOf, withPlanHash } from '../../support/plans.js';
import { REPO } from '../../support/runner.js';

const validatePlan = new Ajv2020({ strict: true, allErrors: true }).compile(
  JSON.parse(readFileSync(path.join(REPO, 'schema/plan.schema.json'), 'utf8')),
);

function db(opts: Partial<ModuleDecl> = {}): ModuleDecl {
  return {
    name: 'db',
    class: 'stateful',
    runtime: 'compose',
    compose: {
      file: '../../compose.yaml',
      path: '/repo/compose.yaml',
      display: 'compose.yaml',
      project: 'p',
      service: 'db',
    },
    expectedState: 'running',
    timeoutSeconds: 300,
    volumes: [],
    ephemeralPaths: [],
    dependsOnHealthy: [],
    file: 'modules/db/module.yaml',
    absFile: '/repo/modules/db/module.yaml',
    source: undefined as never,
    ...opts,
  };
}
const WITH_NOTES: ModuleDecl['upgrade'] = {
  releaseNotes: '/repo/modules/db/notes/{version}.md',
  holdMarkers: ['manual migration'],
  healthTimeoutSeconds: 120,
  settleSeconds: 10,
};

function runtime(declared: string, running = 'stateguard/busybox:1.0.0'): FakeRuntime {
  const rt = new FakeRuntime();
  rt.projects.p = { services: { db: { image: declared } }, hashes: { db: 'hash-current' } };
  rt.images[declared] = 'sha256:bbb';
  rt.containers = [container({ project: 'p', service: 'db', imageRef: running, imageId: 'sha256:aaa' })];
  return rt;
}

describe('planModules: the pending upgrade', () => {
  const cases: Array<{
    name: string;
    module: ModuleDecl;
    to: string;
    notes?: Record<string, string>;
    want: Partial<PendingUpgrade> | undefined;
  }> = [
    {
      name: 'a minor bump without notes would proceed',
      module: db(),
      to: 'stateguard/busybox:1.1.0',
      want: { bump: 'minor', would_hold: '', release_notes: null },
    },
    {
      name: 'a major bump would be held',
      module: db(),
      to: 'stateguard/busybox:2.0.0',
      want: {
        from: 'stateguard/busybox:1.0.0',
        to: 'stateguard/busybox:2.0.0',
        bump: 'major',
        would_hold: 'held-major',
      },
    },
    {
      name: 'flagged notes would be held, path shown relative to the root',
      module: db({ upgrade: WITH_NOTES }),
      to: 'stateguard/busybox:1.1.0',
      notes: { '/repo/modules/db/notes/1.1.0.md': '# 1.1.0\nA manual\nmigration is needed.' },
      want: {
        would_hold: 'held-manual-migration',
        release_notes: {
          path: 'modules/db/notes/1.1.0.md',
          flagged: ['manual migration'],
          excerpt: '# 1.1.0\nA manual\nmigration is needed.',
        },
      },
    },
    {
      name: 'missing notes do not fail the plan: would be held',
      module: db({ upgrade: WITH_NOTES }),
      to: 'stateguard/busybox:1.1.0',
      notes: {},
      want: { would_hold: 'held-manual-migration' },
    },
    {
      name: 'not for a stateless module',
      module: db({ class: 'stateless' }),
      to: 'stateguard/busybox:2.0.0',
      want: undefined,
    },
  ];
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const plan = await planModules([c.module], runtime(c.to), { root: '/repo', readFile: (f) => c.notes?.[f] ?? null });
    expect(validatePlan(plan)).toBe(true);
    expect(validatePlan.errors ?? []).toEqual([]);
    if (c.want === undefined) expect(plan.modules[0]!.upgrade).toBeUndefined();
    else expect(plan.modules[0]!.upgrade).toMatchObject(c.want);
  });

  it('a re-pointed tag (same reference, another image ID) is an unknown bump: would be held', async () => {
    const plan = await planModules([db()], runtime('stateguard/busybox:1.0.0'), { readFile: () => null });
    expect(plan.modules[0]!.in_sync).toBe(false);
    expect(plan.modules[0]!.upgrade).toMatchObject({ bump: 'unknown', would_hold: 'held-major' });
  });
});

const held: PendingUpgrade = {
  from: 'pg:16.1',
  to: 'pg:17.0',
  bump: 'major',
  would_hold: 'held-manual-migration',
  message:
    "upgrade held, nothing touched: db: pg:16.1 → pg:17.0; the release notes flag a manual migration ('manual migration')",
  release_notes: {
    path: 'modules/db/notes/17.0.md',
    flagged: ['manual migration'],
    excerpt: '# 17.0\n</pre><script>x</script>\n| a | b |',
  },
};
function modulePlan(upgrade?: PendingUpgrade): ModulePlan {
  return withPlanHash({
    name: 'db',
    class: 'stateful',
    expected_state: 'running',
    compose: { project: 'p', service: 'db', file: 'compose.yaml' },
    observed: { container_id: 'c1', state: 'running', exit_code: null, image: 'pg:16.1', health: null },
    drift: [
      { key: 'container.image', declared: 'pg:17.0', observed: 'pg:16.1', reason: 'reference-changed', bump: 'major' },
    ],
    in_sync: false,
    upgrade,
  });
}

describe('rendering the pending upgrade', () => {
  it('the text table: pending upgrade and would be held', () => {
    const text = renderPlanText(planOf([modulePlan(held)]));
    expect(text).toContain('  pending upgrade: pg:16.1 → pg:17.0 (major)');
    expect(text).toContain('  would be held: held-manual-migration: upgrade held, nothing touched');
  });

  it('markdown (summary and PR comment): in the drift cell, notes collapsed in <details>, nothing in them renders', () => {
    const md = renderPlanMarkdown(planOf([modulePlan(held)]));
    expect(md).toContain('<br>pending upgrade: pg:16.1 → pg:17.0 (major)<br>would be held: held-manual-migration');
    expect(md).toContain(
      "<details><summary>db: release notes modules/db/notes/17.0.md — flagged: 'manual migration'</summary>",
    );
    expect(md).toContain('<pre># 17.0\n&lt;/pre&gt;&lt;script&gt;x&lt;/script&gt;\n| a | b |</pre>');
    expect(md).not.toContain('<script>');
    expect(md.indexOf('<details>')).toBeGreaterThan(md.indexOf('| ⚠️ db |'));
  });

  it('a proceeding upgrade shows no "would be held" and no notes', () => {
    const ok: PendingUpgrade = { ...held, bump: 'minor', would_hold: '', message: 'upgrade may proceed' };
    const md = renderPlanMarkdown(planOf([modulePlan(ok)]));
    expect(md).toContain('pending upgrade: pg:16.1 → pg:17.0 (minor)');
    expect(md).not.toContain('would be held');
    expect(md).not.toContain('<details>');
  });

  it('the notes are dropped, not cut, when the comment would be too long', () => {
    const plan = planOf([modulePlan(held)]);
    const full = renderPlanMarkdown(plan);
    const capped = renderPlanMarkdown(plan, { maxChars: full.length - 1 });
    expect(capped).not.toContain('<details>');
    expect(capped).toContain('would be held');
    expect(capped.length).toBeLessThan(full.length);
  });
});
