/**
 * The guard's decision table (docs/architecture.md §4): every class × expected state × drift set × input
 * combination, against an oracle written from the rule's text (docs/architecture.md §4), plus hand-written rows for the
 * cases an operator meets (and each fail-closed path).
 */
import { describe, expect, it } from '@jest/globals';
import type { BackupReport } from '../../src/backup/types.js';
import type { DriftItem, DriftKey, ModulePlan } from '../../src/drift/types.js';
import {
  decide,
  describeConfirmMismatch,
  FAILURE_PRECEDENCE,
  type EvaluationError,
  type GuardInput,
} from '../../src/guard/decide.js';
import type { FailureReason } from '../../src/errors.js';
import type { ExpectedState, ModuleClass } from '../../src/model/module.js';
import { actionRun, cliRun } from '../support/commands.js';
import { FakeRuntime } from '../support/fake-runtime.js';
import { withPlanHash } from '../support/plans.js';
import { REPO } from '../support/runner.js';

const TOKEN = 'BACKUP_DONE';

function drift(key: DriftKey): DriftItem {
  return key === 'container.image'
    ? {
        key,
        declared: 'stateguard/busybox:1.1.0',
        observed: 'stateguard/busybox:1.0.0',
        bump: 'minor',
        reason: 'reference-changed',
      }
    : { key, declared: 'x', observed: 'y' };
}

function plan(name: string, cls: ModuleClass, state: ExpectedState, keys: DriftKey[]): ModulePlan {
  return withPlanHash({
    name,
    class: cls,
    expected_state: state,
    compose: { project: 'p', service: name, file: 'compose.yaml' },
    observed: { container_id: 'c1', state: 'exited', exit_code: 1, image: 'stateguard/busybox:1.0.0', health: null },
    drift: keys.map(drift),
    in_sync: keys.length === 0,
  });
}

const VERIFIED: BackupReport = {
  verified: true,
  path: '/backups/store-20260101T000000Z.tar.gz',
  sha256: 'ab'.repeat(32),
  bytes: 100,
  uncompressed_bytes: 1000,
  entries: 3,
  created_at: '2026-01-01T00:00:00Z',
  matched_module: 'store',
  checksum: 'matched',
  problems: [],
  warnings: [],
};
const UNVERIFIED: BackupReport = {
  ...VERIFIED,
  verified: false,
  problems: [{ code: 'too-old', message: 'the backup is 30 h old; max_age_hours is 24' }],
};
const BACKUP_ERROR: EvaluationError = { error: 'EACCES: permission denied', reason: 'internal' };

type BackupCase = 'verified' | 'unverified' | 'missing' | 'error';
const BACKUPS: Record<BackupCase, GuardInput['backup']> = {
  verified: VERIFIED,
  unverified: UNVERIFIED,
  missing: undefined,
  error: BACKUP_ERROR,
};
type ConfirmCase = 'exact' | 'case' | 'space' | 'empty' | 'other' | 'undefined';
const CONFIRMS: Record<ConfirmCase, string | undefined> = {
  exact: TOKEN,
  case: 'backup_done',
  space: ` ${TOKEN} `,
  empty: '',
  other: 'hunter2-not-the-token',
  undefined: undefined,
};
// Only true/false reach the rule: anything else is refused by the input layer (see the last block).
type AllowCase = boolean;
const allowValue = (a: AllowCase): boolean => a;

const DRIFT_SETS: DriftKey[][] = [
  [],
  ['container.state.exited_success'],
  ['container.image'],
  ['container.config'],
  ['container.missing'],
  ['container.state.running'],
  ['container.health'],
  ['container.state.exited_success', 'container.image'],
];

/** The rule as docs/architecture.md §4 states it, written independently of src/guard. */
function oracle(
  cls: ModuleClass,
  state: ExpectedState,
  keys: DriftKey[],
  allow: AllowCase,
  confirm: ConfirmCase,
  backup: BackupCase,
) {
  const failed = new Set<FailureReason>();
  if (failed.size === 0 && keys.length === 0) return { decision: 'no-op', failed };
  if (failed.size === 0 && cls === 'stateless') return { decision: 'allowed', failed };
  if (cls !== 'stateless' && keys.length > 0) {
    if (allow !== true) failed.add('not-allowed');
    if (confirm !== 'exact') failed.add('confirm-mismatch');
    if (backup !== 'verified') failed.add('backup-rejected');
    if (state !== 'exited-success') failed.add('drift-not-allowed');
    if (keys.some((k) => k !== 'container.state.exited_success')) failed.add('drift-not-allowed');
  }
  return { decision: failed.size ? 'blocked' : 'allowed', failed };
}

describe('guard decision table (every class × state × drift × input)', () => {
  const rows: Array<[ModuleClass, ExpectedState, DriftKey[], AllowCase, ConfirmCase, BackupCase]> = [];
  for (const cls of ['stateless', 'stateful', 'sidecar'] as ModuleClass[])
    for (const state of ['running', 'exited-success'] as ExpectedState[])
      for (const keys of DRIFT_SETS)
        for (const allow of [true, false] as AllowCase[])
          for (const confirm of Object.keys(CONFIRMS) as ConfirmCase[])
            for (const backup of Object.keys(BACKUPS) as BackupCase[])
              rows.push([cls, state, keys, allow, confirm, backup]);

  it(`covers ${rows.length} combinations`, () => {
    expect(rows.length).toBe(3 * 2 * 8 * 2 * 6 * 4);
    let allowed = 0;
    for (const [cls, state, keys, allow, confirm, backup] of rows) {
      const r = decide({
        module: { name: 'm', class: cls, expectedState: state },
        plan: plan('m', cls, state, keys),
        allowStateful: allowValue(allow),
        confirm: CONFIRMS[confirm],
        confirmToken: TOKEN,
        backup: BACKUPS[backup],
      });
      const want = oracle(cls, state, keys, allow, confirm, backup);
      const label = JSON.stringify({ cls, state, keys, allow, confirm, backup });
      expect({ label, decision: r.decision }).toEqual({ label, decision: want.decision });
      expect({ label, codes: new Set(r.reasons.map((x) => x.code)) }).toEqual({ label, codes: want.failed });
      if (r.decision === 'blocked') {
        const first = FAILURE_PRECEDENCE.find((c) => want.failed.has(c));
        expect({ label, fr: r.failure_reason }).toEqual({ label, fr: first });
        for (const reason of r.reasons) {
          expect(reason.message.length).toBeGreaterThan(10);
          expect(reason.fix.length).toBeGreaterThan(10);
        }
      } else {
        expect(r.failure_reason).toBe('');
        expect(r.reasons).toEqual([]);
      }
      if (r.decision === 'allowed') allowed++;
    }
    // Stateful/sidecar allowed only in the one narrow case: sanity-check the count isn't vacuous.
    expect(allowed).toBeGreaterThan(0);
  });

  it('a stateful or sidecar module is allowed in exactly one input combination per class', () => {
    for (const cls of ['stateful', 'sidecar'] as ModuleClass[]) {
      const allowedRows = rows.filter(([c, s, k, a, co, b]) => {
        if (c !== cls || k.length === 0) return false;
        return (
          decide({
            module: { name: 'm', class: c, expectedState: s },
            plan: plan('m', c, s, k),
            allowStateful: allowValue(a),
            confirm: CONFIRMS[co],
            confirmToken: TOKEN,
            backup: BACKUPS[b],
          }).decision === 'allowed'
        );
      });
      expect(allowedRows).toEqual([
        [cls, 'exited-success', ['container.state.exited_success'], true, 'exact', 'verified'],
      ]);
    }
  });
});

describe('guard: the cases operators meet', () => {
  const oneShot = { name: 'store-init', class: 'sidecar' as const, expectedState: 'exited-success' as const };
  const base = (over: Partial<GuardInput> = {}): GuardInput => ({
    module: oneShot,
    plan: plan('store-init', 'sidecar', 'exited-success', ['container.state.exited_success']),
    allowStateful: true,
    confirm: TOKEN,
    confirmToken: TOKEN,
    backup: VERIFIED,
    ...over,
  });

  it('the happy path: a pending re-run of a sidecar one-shot with every condition met is allowed', () => {
    const r = decide(base());
    expect(r).toMatchObject({
      decision: 'allowed',
      failure_reason: '',
      drift_keys: ['container.state.exited_success'],
    });
    expect(r.backup?.verified).toBe(true);
  });

  it('blocked without allow/confirm/backup: all three listed, each naming its input and fix', () => {
    const r = decide(base({ allowStateful: false, confirm: undefined, backup: undefined }));
    expect(r.decision).toBe('blocked');
    expect(r.failure_reason).toBe('not-allowed');
    expect(r.reasons.map((x) => [x.code, x.input])).toEqual([
      ['not-allowed', 'allow-stateful'],
      ['backup-rejected', 'backup-ref'],
      ['confirm-mismatch', 'confirm'],
    ]);
    expect(r.reasons[2]!.fix).toContain('"BACKUP_DONE"');
  });

  it.each([
    ['backup_done', 'only by letter case'],
    [' BACKUP_DONE', 'only by surrounding whitespace'],
    ['BACKUP_DONE\n', 'only by surrounding whitespace'],
    [' backup_done ', 'letter case and surrounding whitespace'],
    ['BACKUP DONE', 'does not equal'],
    ['BACKUP_DONE_F3', 'does not equal'],
    ['', 'is empty'],
    ['   ', 'only whitespace'],
  ])('confirm %j is refused with a hint (%s) and is never echoed', (given, hint) => {
    const r = decide(base({ confirm: given }));
    expect(r.decision).toBe('blocked');
    expect(r.failure_reason).toBe('confirm-mismatch');
    expect(r.reasons).toHaveLength(1);
    expect(r.reasons[0]!.message).toContain(hint);
    if (given.trim() !== '' && given.trim() !== TOKEN) {
      expect(JSON.stringify(r)).not.toContain(JSON.stringify(given).slice(1, -1));
    }
  });

  it('a confirm that is a pasted secret is never echoed anywhere in the result', () => {
    const r = decide(base({ confirm: 'sup3r-s3cret-password' }));
    expect(JSON.stringify(r)).not.toContain('sup3r-s3cret-password');
  });

  it('a repo-specific token is honoured exactly and the default no longer matches', () => {
    expect(decide(base({ confirmToken: 'BACKUP_DONE_F3', confirm: 'BACKUP_DONE_F3' })).decision).toBe('allowed');
    expect(decide(base({ confirmToken: 'BACKUP_DONE_F3', confirm: 'BACKUP_DONE' })).failure_reason).toBe(
      'confirm-mismatch',
    );
  });

  it('an empty confirm token never matches (not even an empty confirm)', () => {
    const r = decide(base({ confirmToken: '', confirm: '' }));
    expect(r.decision).toBe('blocked');
    expect(r.failure_reason).toBe('confirm-mismatch');
  });

  it('an unverified backup is rejected with every problem code in the message', () => {
    const r = decide(
      base({
        backup: {
          ...UNVERIFIED,
          problems: [...UNVERIFIED.problems, { code: 'checksum-mismatch', message: 'sha256 differs' }],
        },
      }),
    );
    expect(r.failure_reason).toBe('backup-rejected');
    expect(r.reasons[0]!.message).toContain('too-old');
    expect(r.reasons[0]!.message).toContain('checksum-mismatch');
    expect(r.backup).toMatchObject({ verified: false });
  });

  it('a report that says verified but carries problems is still rejected (contradiction fails closed)', () => {
    const r = decide(base({ backup: { ...VERIFIED, problems: [{ code: 'parser-warning', message: 'odd header' }] } }));
    expect(r.failure_reason).toBe('backup-rejected');
  });

  it('image drift on a sidecar one-shot is never applied, even with every input right', () => {
    const r = decide(
      base({
        plan: plan('store-init', 'sidecar', 'exited-success', ['container.state.exited_success', 'container.image']),
      }),
    );
    expect(r).toMatchObject({ decision: 'blocked', failure_reason: 'drift-not-allowed' });
    expect(r.reasons[0]!.message).toContain('container.image');
  });

  it('drift on a stateful long-running module is never applied: both the class and the key are named', () => {
    const store = { name: 'store', class: 'stateful' as const, expectedState: 'running' as const };
    const r = decide({ ...base(), module: store, plan: plan('store', 'stateful', 'running', ['container.config']) });
    expect(r.decision).toBe('blocked');
    expect(r.reasons.filter((x) => x.code === 'drift-not-allowed')).toHaveLength(2);
    expect(r.failure_reason).toBe('drift-not-allowed');
  });

  it('a stateful module in sync is a no-op even without allow/confirm/backup', () => {
    const r = decide(
      base({
        allowStateful: false,
        confirm: undefined,
        backup: undefined,
        plan: plan('store-init', 'sidecar', 'exited-success', []),
      }),
    );
    expect(r).toMatchObject({ decision: 'no-op', reasons: [], failure_reason: '' });
  });

  it('stateless drift is allowed without any stateful input', () => {
    const r = decide({
      module: { name: 'web', class: 'stateless', expectedState: 'running' },
      plan: plan('web', 'stateless', 'running', ['container.image', 'container.config']),
      allowStateful: false,
      confirm: undefined,
      confirmToken: TOKEN,
      backup: undefined,
    });
    expect(r.decision).toBe('allowed');
  });
});

describe('guard: fail-closed paths', () => {
  const sidecar = { name: 'store-init', class: 'sidecar' as const, expectedState: 'exited-success' as const };
  const good = { allowStateful: true, confirm: TOKEN, confirmToken: TOKEN, backup: VERIFIED } as const;

  it.each([
    [
      'docker unreachable',
      { error: 'Cannot reach the Docker engine via DOCKER_HOST=unix:///nope.sock', reason: 'docker-unavailable' },
      'docker-unavailable',
    ],
    ['compose cannot render', { error: 'compose could not render project', reason: 'compose-error' }, 'compose-error'],
    ['unexpected error', { error: 'boom', reason: 'internal' }, 'internal'],
    ['an error with a non-evaluation reason', { error: 'weird', reason: 'locked' }, 'internal'],
  ] as const)('plan error (%s) blocks even with every other input right', (_, err, want) => {
    for (const cls of ['stateless', 'stateful', 'sidecar'] as const) {
      const r = decide({ ...good, module: { ...sidecar, class: cls }, plan: err });
      expect(r.decision).toBe('blocked');
      expect(r.failure_reason).toBe(want);
      expect(r.reasons[0]!.message).toContain(err.error);
    }
  });

  it('a plan error on a stateful module still lists every other failed condition', () => {
    const r = decide({
      module: sidecar,
      plan: { error: 'engine down', reason: 'docker-unavailable' },
      allowStateful: false,
      confirm: 'x',
      confirmToken: TOKEN,
      backup: undefined,
    });
    expect(r.reasons.map((x) => x.code)).toEqual([
      'docker-unavailable',
      'not-allowed',
      'backup-rejected',
      'confirm-mismatch',
    ]);
  });

  it('backup verification that errored is a rejection, not a pass', () => {
    const r = decide({
      ...good,
      module: sidecar,
      plan: plan('store-init', 'sidecar', 'exited-success', ['container.state.exited_success']),
      backup: BACKUP_ERROR,
    });
    expect(r).toMatchObject({ decision: 'blocked', failure_reason: 'backup-rejected' });
    expect(r.reasons[0]!.message).toContain('EACCES');
  });

  const badPlans: Array<[string, (p: ModulePlan) => ModulePlan]> = [
    ['of another module', (p) => ({ ...p, name: 'web' })],
    ['with another class', (p) => ({ ...p, class: 'stateless' })],
    ['with another expected state', (p) => ({ ...p, expected_state: 'running' })],
    [
      'with an unknown drift key',
      (p) => ({ ...p, drift: [{ key: 'container.volumes' as DriftKey, declared: '', observed: '' }] }),
    ],
    ['in_sync with drift', (p) => ({ ...p, in_sync: true })],
    ['drifted without drift items', (p) => ({ ...p, drift: [], in_sync: false })],
    ['without a drift list', (p) => ({ ...p, drift: undefined as unknown as DriftItem[] })],
  ];
  it.each(badPlans)('a plan %s cannot be trusted: blocked (internal)', (_, mutate) => {
    // A bad plan that claims "stateless" or "in sync" must not open the stateless or no-op doors.
    const p = mutate(plan('store-init', 'sidecar', 'exited-success', ['container.state.exited_success']));
    const r = decide({ ...good, module: sidecar, plan: p });
    expect(r.decision).toBe('blocked');
    expect(r.failure_reason).toBe('internal');
  });
});

describe('describeConfirmMismatch', () => {
  it.each([
    [TOKEN, TOKEN, null],
    [undefined, TOKEN, 'confirm is empty'],
    ['backup_done', TOKEN, 'confirm differs from the token only by letter case'],
    ['\tBACKUP_DONE', TOKEN, 'confirm differs from the token only by surrounding whitespace'],
    ['BACKUP _DONE', TOKEN, 'confirm differs from the token by whitespace inside it'],
    ['nope', TOKEN, 'confirm does not equal the token'],
  ])('%j vs %j', (confirm, token, want) => {
    expect(describeConfirmMismatch(confirm, token)).toBe(want);
  });
});

// The rule takes allow-stateful as a boolean: a value that is not exactly `true`/`false` is refused
// by the CLI and action layers before any command runs (docs/architecture.md §10: booleans are
// exactly true/false in every layer), so it blocks even a stateless module or one in sync, and the
// engine is never asked. (decide() used to carry an InvalidBoolean branch that no caller could reach.)
describe('a malformed allow-stateful never reaches the guard', () => {
  const ROOT = `${REPO}/examples/platform`;
  const rows = ['guard', 'apply'].flatMap((command) =>
    ['yes', 'TRUE', 'True', '1', 'on', ' true', 'true '].flatMap((raw) =>
      ['store-init', 'web'].map((module) => [command, raw, module] as const),
    ),
  );
  it.each(rows)(
    '%s --allow-stateful %j on %s: exit 3, invalid-input, no engine call (CLI and action)',
    async (command, raw, module) => {
      const viaCli = new FakeRuntime();
      const cli = await cliRun(
        [command, '--root', ROOT, '--module', module, `--allow-stateful=${raw}`, '--json'],
        viaCli,
      );
      expect(cli.code).toBe(3);
      expect(JSON.parse(cli.stdout)).toMatchObject({ failure_reason: 'invalid-input' });
      expect(cli.stderr).toContain(`--allow-stateful must be exactly 'true' or 'false', got ${JSON.stringify(raw)}`);
      expect(viaCli.calls).toEqual([]);

      const viaAction = new FakeRuntime();
      const action = await actionRun(command, { root: ROOT, module, 'allow-stateful': raw }, viaAction);
      expect(action.code).toBe(3);
      expect(action.outputs['failure-reason']).toBe('invalid-input');
      expect(action.failed.join('\n')).toContain(
        `input 'allow-stateful' must be exactly 'true' or 'false', got ${JSON.stringify(raw)}`,
      );
      expect(viaAction.calls).toEqual([]);
    },
  );
});
