/**
 * The drift allowlist, `spec.drift.allow` (docs/architecture.md §3, "Drift allowlist"): what validate
 * refuses, which items an entry allows on the plan's UTC day (expiry at the day boundary, partial
 * fields, the config-hash proof), and what the plan, `--detailed-exitcode` and the guard make of it.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { applyAllowances, configProofRequest, countedDrift, fieldName, utcDay } from '../../src/drift/allow.js';
import { fingerprint } from '../../src/drift/config-diff.js';
import { planModules } from '../../src/plan/plan.js';
import type { DriftItem, Plan } from '../../src/drift/types.js';
import { decide } from '../../src/guard/decide.js';
import { evaluateGuard } from '../../src/guard/evaluate.js';
import { renderPlanMarkdown } from '../../src/report/plan-render.js';
import { isCalendarDay, type DriftAllowEntry } from '../../src/model/drift-allow.js';
import { validateModules } from '../../src/model/validate.js';
import type { ContainerInfo } from '../../src/runtime/types.js';
import { cliRun } from '../support/commands.js';
import { FakeRuntime, container } from '../support/fake-runtime.js';
import { fileRenderer } from '../support/file-renderer.js';
import { BASIC_COMPOSE, DB_MODULE, cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { REPO } from '../support/runner.js';

afterAll(cleanupTempRepos);

const validatePlan = new Ajv2020({ strict: true, allErrors: true }).compile(
  JSON.parse(readFileSync(path.join(REPO, 'schema/plan.schema.json'), 'utf8')),
);

const allow = (entries: string): string => `  drift:\n    allow:\n${entries}`;
const WEB = (extra = ''): string =>
  moduleYaml('web', `  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n${extra}`);
const ONE_SHOT = (extra = ''): string =>
  moduleYaml(
    'job',
    `  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: db-init }\n` +
      `  runtime: { expected_state: exited-success }\n${extra}`,
  );
const SIDECAR = (extra = ''): string =>
  moduleYaml(
    'db-init',
    `  class: sidecar\n  compose: { file: ../../compose.yaml, project: p, service: db-init }\n` +
      `  runtime: { expected_state: exited-success }\n  backup: { ref_modules: [db], max_age_hours: 12 }\n${extra}`,
  );
const LOG_LEVEL =
  '      - { key: container.config, fields: [environment LOG_LEVEL], reason: "noisy logs, INC-7", until: 2027-01-31 }\n';

interface RefusalCase {
  name: string;
  file: 'db' | 'web' | 'job' | 'db-init';
  yaml: string;
  /** the file named, and a message fragment */
  expect: RegExp;
}

const refusals: RefusalCase[] = [
  {
    name: 'no key',
    file: 'web',
    yaml: WEB(allow('      - { reason: r, until: 2027-01-31 }\n')),
    expect: /spec\.drift\.allow\.0 is missing required key 'key' \(each entry is \{ key, fields/,
  },
  {
    name: 'no reason',
    file: 'web',
    yaml: WEB(allow('      - { key: container.health, until: 2027-01-31 }\n')),
    expect: /spec\.drift\.allow\.0 is missing required key 'reason'/,
  },
  {
    name: 'an empty reason',
    file: 'web',
    yaml: WEB(allow('      - { key: container.health, reason: "  ", until: 2027-01-31 }\n')),
    expect: /spec\.drift\.allow\.0\.reason must not be empty/,
  },
  {
    name: 'a reason over two lines (would forge plan lines)',
    file: 'web',
    yaml: WEB(allow('      - { key: container.health, reason: "ok\\n  - db: in sync", until: 2027-01-31 }\n')),
    expect: /spec\.drift\.allow\.0: reason holds a line break or control character: write it on one line/,
  },
  {
    name: 'a reason with an escape sequence',
    file: 'web',
    yaml: WEB(allow('      - { key: container.health, reason: "ok\\u001b[2K", until: 2027-01-31 }\n')),
    expect: /reason holds a line break or control character/,
  },
  {
    name: 'no until',
    file: 'web',
    yaml: WEB(allow('      - { key: container.health, reason: r }\n')),
    expect: /spec\.drift\.allow\.0 is missing required key 'until'/,
  },
  {
    name: 'until not a date',
    file: 'web',
    yaml: WEB(allow('      - { key: container.health, reason: r, until: "next week" }\n')),
    expect: /spec\.drift\.allow\.0\.until must be a date YYYY-MM-DD/,
  },
  {
    name: 'until a number',
    file: 'web',
    yaml: WEB(allow('      - { key: container.health, reason: r, until: 20270131 }\n')),
    expect: /spec\.drift\.allow\.0\.until must be a string, got 20270131/,
  },
  {
    name: 'until no calendar day',
    file: 'web',
    yaml: WEB(allow('      - { key: container.health, reason: r, until: 2027-02-30 }\n')),
    expect: /spec\.drift\.allow\.0: until "2027-02-30" is no calendar day: write a date YYYY-MM-DD/,
  },
  {
    name: 'an unknown key, with a suggestion',
    file: 'web',
    yaml: WEB(allow('      - { key: container.helth, reason: r, until: 2027-01-31 }\n')),
    expect:
      /unknown drift key "container\.helth": did you mean 'container\.health'\?; the drift keys are container\.missing, /,
  },
  {
    name: 'a key that means everything: *',
    file: 'web',
    yaml: WEB(allow('      - { key: "*", reason: r, until: 2027-01-31 }\n')),
    expect: /key "\*" would cover the whole module; an allowance never does/,
  },
  {
    name: 'a key that means everything: container.*',
    file: 'web',
    yaml: WEB(allow('      - { key: "container.*", reason: r, until: 2027-01-31 }\n')),
    expect: /would cover the whole module/,
  },
  {
    name: 'an empty key',
    file: 'web',
    yaml: WEB(allow('      - { key: "", reason: r, until: 2027-01-31 }\n')),
    expect: /key "" would cover the whole module/,
  },
  {
    name: 'container.missing (the whole module)',
    file: 'web',
    yaml: WEB(allow('      - { key: container.missing, reason: r, until: 2027-01-31 }\n')),
    expect: /container\.missing would cover the whole module/,
  },
  {
    name: 'container.image of a stateful module',
    file: 'db',
    yaml: DB_MODULE + allow('      - { key: container.image, reason: r, until: 2027-01-31 }\n'),
    expect: /container\.image is never allowed on a stateful module: its image changes go through `stateguard upgrade`/,
  },
  {
    name: 'container.image of a sidecar',
    file: 'db-init',
    yaml: SIDECAR(allow('      - { key: container.image, reason: r, until: 2027-01-31 }\n')),
    expect: /container\.image is never allowed on a sidecar module/,
  },
  {
    name: "a one-shot's exit state",
    file: 'job',
    yaml: ONE_SHOT(allow('      - { key: container.state.exited_success, reason: r, until: 2027-01-31 }\n')),
    expect: /a one-shot's exit state is never allowed/,
  },
  {
    name: "a one-shot's config (its exit state, stale-config)",
    file: 'job',
    yaml: ONE_SHOT(allow(LOG_LEVEL)),
    expect: /a one-shot's config drift is its exit state/,
  },
  {
    name: 'an exit state on a long-running module',
    file: 'web',
    yaml: WEB(allow('      - { key: container.state.exited_success, reason: r, until: 2027-01-31 }\n')),
    expect: /this module is long-running, so it never has that drift/,
  },
  {
    name: 'container.config without fields',
    file: 'db',
    yaml: DB_MODULE + allow('      - { key: container.config, reason: r, until: 2027-01-31 }\n'),
    expect: /container\.config needs fields: .*one entry never allows all config drift/,
  },
  {
    name: 'container.config with an empty fields list',
    file: 'db',
    yaml: DB_MODULE + allow('      - { key: container.config, fields: [], reason: r, until: 2027-01-31 }\n'),
    expect: /spec\.drift\.allow\.0\.fields must NOT have fewer than 1 items/,
  },
  {
    name: 'a field stateguard cannot prove (command)',
    file: 'db',
    yaml: DB_MODULE + allow('      - { key: container.config, fields: [command], reason: r, until: 2027-01-31 }\n'),
    expect: /field "command" cannot be allowed: only `environment NAME` and `label NAME` can/,
  },
  {
    name: 'a field of volumes',
    file: 'db',
    yaml: DB_MODULE + allow('      - { key: container.config, fields: [volumes], reason: r, until: 2027-01-31 }\n'),
    expect: /field "volumes" cannot be allowed/,
  },
  {
    name: 'a field naming every variable',
    file: 'db',
    yaml: DB_MODULE + allow('      - { key: container.config, fields: [environment], reason: r, until: 2027-01-31 }\n'),
    expect: /field "environment" cannot be allowed/,
  },
  {
    name: 'a field with a wildcard',
    file: 'db',
    yaml:
      DB_MODULE + allow('      - { key: container.config, fields: ["environment *"], reason: r, until: 2027-01-31 }\n'),
    expect: /field "environment \*" cannot be allowed/,
  },
  {
    name: 'fields on a key that has none',
    file: 'web',
    yaml: WEB(allow('      - { key: container.health, fields: [environment X], reason: r, until: 2027-01-31 }\n')),
    expect: /container\.health has no fields \(only container\.config has\): remove fields/,
  },
  {
    name: 'one key twice',
    file: 'web',
    yaml: WEB(
      allow(
        '      - { key: container.health, reason: r, until: 2027-01-31 }\n      - { key: container.health, reason: s, until: 2027-02-01 }\n',
      ),
    ),
    expect: /spec\.drift\.allow\.1: container\.health is already allowed by spec\.drift\.allow\.0/,
  },
  {
    name: 'one field in two entries',
    file: 'db',
    yaml: DB_MODULE + allow(LOG_LEVEL + LOG_LEVEL),
    expect: /spec\.drift\.allow\.1: field 'environment LOG_LEVEL' is already allowed by spec\.drift\.allow\.0/,
  },
  {
    name: 'an unknown key in an entry',
    file: 'web',
    yaml: WEB(allow('      - { key: container.health, reason: r, until: 2027-01-31, forever: true }\n')),
    expect: /unknown key 'forever' in spec\.drift\.allow\.0/,
  },
  {
    name: 'an unknown key under drift',
    file: 'web',
    yaml: WEB('  drift:\n    allow_all: true\n'),
    expect: /unknown key 'allow_all' in spec\.drift/,
  },
];

async function problemsOf(file: RefusalCase['file'], yaml: string) {
  const root = tempRepo({
    'compose.yaml': BASIC_COMPOSE,
    'modules/db/module.yaml': DB_MODULE,
    [`modules/${file}/module.yaml`]: yaml,
  });
  return validateModules(root, 'modules/*/module.yaml', root, fileRenderer);
}

describe('validate refuses a drift allowance it could not honour exactly', () => {
  it.each(refusals.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const { problems, loaded } = await problemsOf(c.file, c.yaml);
    expect(problems.map((p) => `${p.file}:${p.line}: ${p.message}`)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^modules/${c.file}/module\\.yaml:\\d+: .*${c.expect.source}`)),
      ]),
    );
    // The refused module is left out: nothing plans with an allowlist it could not honour.
    expect(loaded.modules.map((m) => m.name)).not.toContain(c.file === 'job' ? 'job' : c.file);
  });

  it('accepts a scoped entry per key, and reads it trimmed', async () => {
    const yaml =
      DB_MODULE +
      allow(
        LOG_LEVEL +
          '      - { key: container.config, fields: ["label com.example.tier "], reason: " migration ", until: 2026-12-31 }\n' +
          '      - { key: container.health, reason: flapping probe, until: 2027-01-01 }\n' +
          '      - { key: container.state.running, reason: stopped for maintenance, until: 2027-01-01 }\n',
      );
    const { problems, loaded } = await problemsOf('db', yaml);
    expect(problems).toEqual([]);
    expect(loaded.modules.find((m) => m.name === 'db')!.driftAllow).toEqual([
      { key: 'container.config', fields: ['environment LOG_LEVEL'], reason: 'noisy logs, INC-7', until: '2027-01-31' },
      { key: 'container.config', fields: ['label com.example.tier'], reason: 'migration', until: '2026-12-31' },
      { key: 'container.health', fields: null, reason: 'flapping probe', until: '2027-01-01' },
      { key: 'container.state.running', fields: null, reason: 'stopped for maintenance', until: '2027-01-01' },
    ]);
    const web = await problemsOf(
      'web',
      WEB(allow('      - { key: container.image, reason: pinned by hand, until: 2027-01-31 }\n')),
    );
    expect(web.problems).toEqual([]);
  });

  it('isCalendarDay: real days only', () => {
    expect(['2027-01-31', '2028-02-29', '2026-12-31'].map(isCalendarDay)).toEqual([true, true, true]);
    expect(
      ['2027-02-29', '2027-13-01', '2027-00-10', '27-01-31', '2027-1-31', '2027-01-31T00:00:00Z', ''].map(
        isCalendarDay,
      ),
    ).toEqual([false, false, false, false, false, false, false]);
  });
});

const entry = (e: Partial<DriftAllowEntry> & Pick<DriftAllowEntry, 'key'>): DriftAllowEntry => ({
  fields: null,
  reason: 'why',
  until: '2026-12-03',
  ...e,
});
const health: DriftItem = { key: 'container.health', declared: 'healthy', observed: 'unhealthy' };
const config = (...fields: string[]): DriftItem => ({
  key: 'container.config',
  declared: 'config aaaaaaaaaaaa',
  observed: 'config bbbbbbbbbbbb',
  fields,
});
const LL = 'environment LOG_LEVEL (1a2b3c4d → 5e6f7a8b)';
const TIER = 'label tier (not set on the container)';

describe('matching: which items an entry allows on the plan day', () => {
  it('utcDay is the UTC day, whatever the local zone', () => {
    expect(utcDay(new Date('2026-12-03T23:59:59.999Z'))).toBe('2026-12-03');
    expect(utcDay(new Date('2026-12-04T00:00:00.000Z'))).toBe('2026-12-04');
    expect(utcDay(new Date('2026-12-04T00:30:00+01:00'))).toBe('2026-12-03');
  });

  it.each([
    ['the day before until', '2026-12-02', true],
    ['until itself (the last day it holds)', '2026-12-03', true],
    ['the day after until', '2026-12-04', false],
    ['a year later', '2027-12-03', false],
  ])('a non-config key on %s (%s): allowed=%s', (_n, today, live) => {
    const [item] = applyAllowances([health], [entry({ key: 'container.health' })], today);
    expect(item).toMatchObject({
      allowed: live,
      allowances: [{ reason: 'why', until: '2026-12-03', expired: !live }],
    });
    if (live) expect(item!.allowance_note).toBeUndefined();
    else expect(item!.allowance_note).toBe('allowance expired after 2026-12-03: it counts as drift again');
    expect(countedDrift([item!])).toHaveLength(live ? 0 : 1);
  });

  it('an item no entry names is left as it was (no allowance fields)', () => {
    const items = applyAllowances([health, config(LL)], [entry({ key: 'container.state.running' })], '2026-12-01');
    expect(items).toEqual([health, config(LL)]);
  });

  it.each<
    [
      string,
      DriftItem,
      DriftAllowEntry[],
      string,
      'equal' | 'differs' | 'unknown' | undefined,
      boolean,
      RegExp | undefined,
    ]
  >([
    [
      'every field allowed and proven',
      config(LL),
      [entry({ key: 'container.config', fields: ['environment LOG_LEVEL'] })],
      '2026-12-03',
      'equal',
      true,
      undefined,
    ],
    [
      'every field allowed, the hash differs',
      config(LL),
      [entry({ key: 'container.config', fields: ['environment LOG_LEVEL'] })],
      '2026-12-03',
      'differs',
      false,
      /not proven the only difference: .* does not equal the container's/,
    ],
    [
      'every field allowed, no proof could be made',
      config(LL),
      [entry({ key: 'container.config', fields: ['environment LOG_LEVEL'] })],
      '2026-12-03',
      'unknown',
      false,
      /put back could not be computed/,
    ],
    [
      'every field allowed, proof not asked',
      config(LL),
      [entry({ key: 'container.config', fields: ['environment LOG_LEVEL'] })],
      '2026-12-03',
      undefined,
      false,
      /not proven/,
    ],
    [
      'one of two fields allowed: the other counts',
      config(LL, TIER),
      [entry({ key: 'container.config', fields: ['environment LOG_LEVEL'] })],
      '2026-12-03',
      'equal',
      false,
      /not allowed: label tier \(not set on the container\): it counts as drift/,
    ],
    [
      'a field not compared (command) beside an allowed one',
      config(LL, 'command'),
      [entry({ key: 'container.config', fields: ['environment LOG_LEVEL'] })],
      '2026-12-03',
      'equal',
      false,
      /not allowed: command/,
    ],
    [
      'two entries, one expired',
      config(LL, TIER),
      [
        entry({ key: 'container.config', fields: ['environment LOG_LEVEL'] }),
        entry({ key: 'container.config', fields: ['label tier'], until: '2026-12-02' }),
      ],
      '2026-12-03',
      'equal',
      false,
      /allowance expired after 2026-12-02 \(label tier\)/,
    ],
    [
      'two entries, both live, proven',
      config(LL, TIER),
      [
        entry({ key: 'container.config', fields: ['environment LOG_LEVEL'] }),
        entry({ key: 'container.config', fields: ['label tier'] }),
      ],
      '2026-12-03',
      'equal',
      true,
      undefined,
    ],
    [
      'expired the next day',
      config(LL),
      [entry({ key: 'container.config', fields: ['environment LOG_LEVEL'] })],
      '2026-12-04',
      'equal',
      false,
      /allowance expired after 2026-12-03 \(environment LOG_LEVEL\)/,
    ],
    [
      'another variable of the same prefix is not named',
      config('environment LOG_LEVEL_EXTRA (1a2b3c4d → 5e6f7a8b)'),
      [entry({ key: 'container.config', fields: ['environment LOG_LEVEL'] })],
      '2026-12-03',
      'equal',
      false,
      undefined,
    ],
  ])('container.config: %s', (_n, item, entries, today, proof, allowed, note) => {
    const [out] = applyAllowances([item], entries, today, proof);
    if (note === undefined && !allowed) {
      expect(out).toEqual(item); // named by no entry
      return;
    }
    expect(out!.allowed).toBe(allowed);
    if (note) expect(out!.allowance_note).toMatch(note);
    else expect(out!.allowance_note).toBeUndefined();
    expect(countedDrift([out!])).toHaveLength(allowed ? 0 : 1);
  });

  it('a config item with no compared field (only the hash differs) is never allowed', () => {
    const entries = [entry({ key: 'container.config', fields: ['environment LOG_LEVEL'] })];
    expect(configProofRequest(config(), entries, '2026-12-01')).toBeNull();
    expect(applyAllowances([config()], entries, '2026-12-01', 'equal')).toEqual([config()]);
  });

  it('configProofRequest asks only when every field is named by a live entry', () => {
    const e = [entry({ key: 'container.config', fields: ['environment LOG_LEVEL', 'label tier'] })];
    expect(configProofRequest(config(LL, TIER), e, '2026-12-03')).toEqual({
      fields: ['environment LOG_LEVEL', 'label tier'],
    });
    expect(configProofRequest(config(LL, TIER), e, '2026-12-04')).toBeNull();
    expect(configProofRequest(config(LL, 'command'), e, '2026-12-03')).toBeNull();
  });

  it('fieldName reads the allowlist name of a field-level difference', () => {
    expect(fieldName(LL)).toBe('environment LOG_LEVEL');
    expect(fieldName('environment PASSWORD (value changed)')).toBe('environment PASSWORD');
    expect(fieldName('label com.example.tier (1a → 2b)')).toBe('label com.example.tier');
    expect(fieldName('command')).toBeNull();
    expect(fieldName('image (a:1 → a:2)')).toBeNull();
    expect(fieldName('volumes (+/data)')).toBeNull();
  });
});

// ---- the plan over the simulated engine ----

const COMPOSE = `services:
  db:
    image: stateguard/busybox:1.0.0
    environment:
      LOG_LEVEL: debug
      TZ: UTC
    volumes:
      - db-data:/var/lib/db
volumes:
  db-data: {}
`;
const DB_ALLOW = (until: string, fields = '[environment LOG_LEVEL]'): string =>
  DB_MODULE +
  allow(`      - { key: container.config, fields: ${fields}, reason: "noisy logs, INC-7", until: ${until} }\n`);

/** The db container made before LOG_LEVEL changed (its hash label: `hash-old`); `env` as the engine shows it. */
function engine(env: string[] = ['LOG_LEVEL=info', 'TZ=UTC', 'PATH=/bin']): FakeRuntime {
  const rt = new FakeRuntime();
  rt.projects.p = { services: {}, hashes: { db: 'hash-new' } };
  rt.images['stateguard/busybox:1.0.0'] = 'sha256:aaa';
  const c: ContainerInfo = container({
    project: 'p',
    service: 'db',
    id: 'db-1',
    configHash: 'hash-old',
    env,
    mounts: [
      {
        type: 'volume',
        name: 'p_db-data',
        source: '/var/lib/docker/volumes/p_db-data/_data',
        destination: '/var/lib/db',
      },
    ] as ContainerInfo['mounts'],
  });
  c.config = { cmd: null, entrypoint: null, user: '', restartPolicy: 'no', healthcheck: null, ports: [] };
  rt.containers = [c];
  // compose's hash of the declared service with LOG_LEVEL=info put back is the old container's
  rt.hashWithValues = (_s, v) =>
    v.environment.LOG_LEVEL === 'info' && Object.keys(v.labels).length === 0 ? 'hash-old' : 'hash-other';
  return rt;
}

async function plan(rt: FakeRuntime, until: string, now: Date, fields?: string) {
  const root = tempRepo({ 'compose.yaml': COMPOSE, 'modules/db/module.yaml': DB_ALLOW(until, fields) });
  const { loaded, problems } = await validateModules(root, 'modules/*/module.yaml', root, fileRenderer);
  expect(problems).toEqual([]);
  return { root, plan: await planModules(loaded.modules, rt, { now }) };
}

const NOW = new Date('2026-12-03T12:00:00Z');

describe('plan: allowed drift is listed, marked, and not counted', () => {
  it('a live, proven allowance: in sync, the item kept with its reason and until; one proof asked', async () => {
    const rt = engine();
    const { plan: p } = await plan(rt, '2026-12-03', NOW);
    expect(validatePlan(p)).toBe(true);
    const m = p.modules[0]!;
    expect(m.in_sync).toBe(true);
    expect(p.summary.drifted).toBe(0);
    expect(m.drift).toEqual([
      expect.objectContaining({
        key: 'container.config',
        fields: [`environment LOG_LEVEL (${fingerprint('info')} → ${fingerprint('debug')})`],
        allowances: [
          { reason: 'noisy logs, INC-7', until: '2026-12-03', fields: ['environment LOG_LEVEL'], expired: false },
        ],
        allowed: true,
      }),
    ]);
    expect(rt.callsTo('configHashWithValues').map((c) => c.args.slice(1))).toEqual([
      ['db', { environment: { LOG_LEVEL: 'info' }, labels: {} }],
    ]);
  });

  it('the same allowance the next UTC day: drift again, and the plan says it expired; the plan hash changes', async () => {
    const live = (await plan(engine(), '2026-12-03', NOW)).plan.modules[0]!;
    const rt = engine();
    const expired = (await plan(rt, '2026-12-03', new Date('2026-12-04T00:00:00Z'))).plan.modules[0]!;
    expect(expired.in_sync).toBe(false);
    expect(expired.drift[0]).toMatchObject({
      allowed: false,
      allowances: [{ expired: true }],
      allowance_note: 'allowance expired after 2026-12-03 (environment LOG_LEVEL): it counts as drift',
    });
    expect(rt.callsTo('configHashWithValues')).toEqual([]); // nothing to prove
    expect(expired.plan_hash).not.toBe(live.plan_hash);
  });

  it('a live allowance the hash does not prove (something else differs too): counts, and says why', async () => {
    const rt = engine();
    rt.hashWithValues = () => 'hash-other';
    const m = (await plan(rt, '2027-01-31', NOW)).plan.modules[0]!;
    expect(m.in_sync).toBe(false);
    expect(m.drift[0]!.allowance_note).toMatch(/not proven the only difference/);
    rt.hashWithValues = () => null;
    const unknown = (await plan(rt, '2027-01-31', NOW)).plan.modules[0]!;
    expect(unknown.in_sync).toBe(false);
    expect(unknown.drift[0]!.allowance_note).toMatch(/could not be computed/);
  });

  it('a declared variable the container does not have cannot be put back: not proven', async () => {
    const rt = engine(['TZ=UTC']);
    const m = (await plan(rt, '2027-01-31', NOW)).plan.modules[0]!;
    expect(m.in_sync).toBe(false);
    expect(rt.callsTo('configHashWithValues')).toEqual([]);
  });

  it('partial fields: an allowed variable beside one not allowed still counts', async () => {
    const rt = engine(['LOG_LEVEL=info', 'TZ=Europe/Berlin']);
    const m = (await plan(rt, '2027-01-31', NOW)).plan.modules[0]!;
    expect(m.in_sync).toBe(false);
    expect(m.drift[0]!.allowance_note).toMatch(/^not allowed: environment TZ \(/);
    const both = (
      await plan(
        engine(['LOG_LEVEL=info', 'TZ=Europe/Berlin']),
        '2027-01-31',
        NOW,
        '[environment LOG_LEVEL, environment TZ]',
      )
    ).plan.modules[0]!;
    // both named, and the (simulated) compose hash with both put back is the container's: allowed
    expect(both.in_sync).toBe(true);
    expect(both.drift[0]!.allowances!.map((a) => a.fields)).toEqual([['environment LOG_LEVEL', 'environment TZ']]);
  });

  it('the plan hash binds the allowance: another reason or until changes it', async () => {
    const a = (await plan(engine(), '2027-01-31', NOW)).plan.modules[0]!;
    const b = (await plan(engine(), '2027-02-01', NOW)).plan.modules[0]!;
    expect(a.in_sync && b.in_sync).toBe(true);
    expect(a.plan_hash).not.toBe(b.plan_hash);
  });
});

describe('plan command: --detailed-exitcode and the words', () => {
  const files = (until: string) => ({ 'compose.yaml': COMPOSE, 'modules/db/module.yaml': DB_ALLOW(until) });
  const run = (argv: string[], until: string, now: Date) =>
    cliRun(['plan', ...argv], engine(), { cwd: tempRepo(files(until)), now: () => now });

  it.each([
    ['live on its last day', 0, '2026-12-03', NOW],
    ['expired since midnight UTC', 2, '2026-12-03', new Date('2026-12-04T00:00:00Z')],
    ['live until next year', 0, '2027-12-31', NOW],
  ] as const)('%s: exit %i', async (_n, code, until, now) => {
    const r = await run(['--detailed-exitcode'], until, now);
    expect(r.code).toBe(code);
  });

  it('text: in sync with the allowed item, its reason and until; expired: the drift says so', async () => {
    const live = await run([], '2027-01-31', NOW);
    expect(live.stdout).toMatch(/^db\s+stateful\s+running\s+running\s+in sync; container\.config \(allowed\)$/m);
    expect(live.stdout).toContain('db (p/db, compose.yaml): in sync, allowed drift:');
    expect(live.stdout).toContain('— ALLOWED (environment LOG_LEVEL until 2027-01-31: noisy logs, INC-7)');
    expect(live.stdout).toContain('1 module, all in sync. 1 allowed drift item (spec.drift.allow) not counted.');
    const expired = await run(['--detailed-exitcode'], '2026-12-02', NOW);
    expect(expired.stdout).toMatch(/^db\s+stateful\s+running\s+running\s+container\.config$/m);
    expect(expired.stdout).toContain(
      '— counts: allowance expired after 2026-12-02 (environment LOG_LEVEL): it counts as drift',
    );
  });

  it('markdown (summary, PR comment): the module in sync, the allowed item with its reason and until', async () => {
    const { plan: p } = await plan(engine(), '2027-01-31', NOW);
    const md = renderPlanMarkdown(p);
    expect(md).toContain('all in sync');
    expect(md).toMatch(
      /\| ✅ db \| stateful \| running \| p\/db \| running \| in sync<br>container\.config: .* — ALLOWED \(environment LOG_LEVEL until 2027-01-31: noisy logs, INC-7\) \|/,
    );
    expect(md).not.toContain('Next steps');
  });

  it('a hostile reason (HTML, a comment end, table pipes, backticks) reaches the markdown escaped', async () => {
    const root = tempRepo({
      'compose.yaml': COMPOSE,
      'modules/db/module.yaml':
        DB_MODULE +
        allow(
          '      - { key: container.config, fields: [environment LOG_LEVEL], reason: "<img src=x onerror=alert(1)> --> | `rm -rf` **b**", until: 2027-01-31 }\n',
        ),
    });
    const { loaded, problems } = await validateModules(root, 'modules/*/module.yaml', root, fileRenderer);
    expect(problems).toEqual([]);
    const md = renderPlanMarkdown(await planModules(loaded.modules, engine(), { now: NOW }));
    expect(md).toContain("&lt;img src=x onerror=alert(1)&gt; --&gt; \\| 'rm -rf' **b**");
    expect(md).not.toMatch(/<img|-->|`rm/);
  });

  it('--json: schema-valid, the item marked allowed', async () => {
    const r = await run(['--json'], '2027-01-31', NOW);
    const p = JSON.parse(r.stdout) as Plan;
    expect(validatePlan(p)).toBe(true);
    expect(p.modules[0]!.drift[0]).toMatchObject({
      allowed: true,
      allowances: [{ until: '2027-01-31', expired: false }],
    });
  });
});

describe('guard command over the simulated engine', () => {
  const guard = (until: string, now: Date) =>
    cliRun(['guard', '--module', 'db', '--json'], engine(), {
      cwd: tempRepo({ 'compose.yaml': COMPOSE, 'modules/db/module.yaml': DB_ALLOW(until) }),
      now: () => now,
    });

  it('a stateful module whose only drift is allowed: no-op without allow-stateful, confirm or a backup (exit 0)', async () => {
    const r = await guard('2026-12-03', NOW);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: 'no-op', drift_keys: [], failure_reason: '' });
  });

  it('the day after until (the command clock, UTC): the drift is judged as before and blocked', async () => {
    const r = await guard('2026-12-03', new Date('2026-12-04T00:00:01Z'));
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: 'blocked', drift_keys: ['container.config'] });
  });
});

describe('guard: allowed drift never needs allow-stateful or confirm', () => {
  const moduleOf = {
    name: 'db',
    class: 'stateful' as const,
    expectedState: 'running' as const,
    backup: { refModules: [], maxAgeHours: 24 },
  };
  const planOf = (drift: DriftItem[]) => ({
    name: 'db',
    class: 'stateful' as const,
    expected_state: 'running' as const,
    compose: { project: 'p', service: 'db', file: 'compose.yaml' },
    declared: { image: 'x', config_hash: 'h' },
    observed: { container_id: 'c', state: 'running', exit_code: null, image: 'x', health: null },
    drift,
    in_sync: countedDrift(drift).length === 0,
    plan_hash: 'a'.repeat(64),
  });
  const allowedItem: DriftItem = {
    ...config(LL),
    allowances: [{ reason: 'r', until: '2027-01-31', fields: ['environment LOG_LEVEL'], expired: false }],
    allowed: true,
  };
  const guard = (drift: DriftItem[]) =>
    decide({
      module: moduleOf,
      plan: planOf(drift),
      allowStateful: false,
      confirm: undefined,
      confirmToken: 'BACKUP_DONE',
      backup: undefined,
    });

  it('only allowed drift: no-op, without a backup, allow-stateful or confirm', () => {
    expect(guard([allowedItem])).toMatchObject({ decision: 'no-op', drift_keys: [], reasons: [] });
  });

  it('allowed drift beside drift that counts: the counted drift is judged as before', () => {
    const r = guard([allowedItem, health]);
    expect(r.decision).toBe('blocked');
    expect(r.drift_keys).toEqual(['container.health']);
  });

  it('an expired or unproven allowance is drift (allowed must be exactly true)', () => {
    expect(guard([{ ...allowedItem, allowed: false }]).decision).toBe('blocked');
    expect(guard([{ ...allowedItem, allowed: 'true' as never }]).decision).toBe('blocked');
  });

  it('a plan claiming in sync with counted drift cannot be trusted', () => {
    const bad = { ...planOf([health]), in_sync: true };
    const r = decide({
      module: moduleOf,
      plan: bad,
      allowStateful: true,
      confirm: 'BACKUP_DONE',
      confirmToken: 'BACKUP_DONE',
      backup: undefined,
    });
    expect(r).toMatchObject({ decision: 'blocked', failure_reason: 'internal' });
  });
});

describe('guard evaluation plans on the request clock', () => {
  it('evaluateGuard passes req.now to the plan (the UTC day that decides which allowances are live)', async () => {
    const seen: Array<Date | undefined> = [];
    const now = new Date('2031-05-06T07:08:09Z');
    await evaluateGuard(
      {
        modules: [],
        module: { name: 'db', class: 'stateless', expectedState: 'running' } as never,
        allowStateful: false,
        confirm: undefined,
        confirmToken: 'BACKUP_DONE',
        backupRef: undefined,
        backupRoots: [],
        cwd: '/',
        now,
        maxUncompressedBytes: 1,
        maxEntries: 1,
      },
      {
        runtime: new FakeRuntime(),
        planModules: async (_m, _r, opts) => {
          seen.push(opts?.now);
          throw new Error('stop here');
        },
        verifyBackup: async () => {
          throw new Error('not reached');
        },
      },
    );
    expect(seen).toEqual([now]);
  });
});
