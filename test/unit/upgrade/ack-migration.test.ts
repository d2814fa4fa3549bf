/**
 * `--ack-migration <version>` (docs/architecture.md §13, "Acknowledging a manual migration"): it lifts a
 * manual-migration hold for exactly the tag being deployed and nothing else. Another version, a prefix, an
 * empty value, whitespace, case games and patterns do not lift it, and the message names the version that
 * would have to be acknowledged; a major hold and the consent checks stay; the acknowledgement is recorded.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyBackup } from '../../../src/backup/verify.js';
import { upgradeCommand, upgradeSummary } from '../../../src/commands/upgrade.js';
import type { ModuleDecl } from '../../../src/model/module.js';
import { loadModules } from '../../../src/model/module.js';
import { DEFAULT_HOLD_MARKERS, preDeployGate, type GateInput } from '../../../src/upgrade/gate.js';
import type { UpgradeRequest } from '../../../src/upgrade/types.js';
import { upgradeModule } from '../../../src/upgrade/upgrade.js';
import { dir, file, tar } from '../../support/archives.js';
import { examplePlatform } from '../../support/fake-runtime.js';
import { REPO } from '../../support/runner.js';
import { upgradeRequest } from '../../support/upgrade-request.js';
import { planner as upgradePlanner } from '../../support/upgrade-setup.js';

const NOTES = '/repo/modules/db/notes/{version}.md';
const upgrade = {
  releaseNotes: NOTES,
  holdMarkers: [...DEFAULT_HOLD_MARKERS],
  healthTimeoutSeconds: 120,
  settleSeconds: 10,
};
const migration = (f: string): string | null =>
  f.endsWith('.md') ? 'Manual migration required: run pg_upgrade.' : null;
const base: GateInput = {
  module: { name: 'db', upgrade },
  fromRef: 'pg:16.3',
  toRef: 'pg:16.4',
  allowMajor: false,
  readFile: migration,
  root: '/repo',
};

describe('preDeployGate with ackMigration', () => {
  it('without an acknowledgement the hold names the version to acknowledge', () => {
    const r = preDeployGate(base);
    expect(r).toMatchObject({
      held: true,
      failure_reason: 'held-manual-migration',
      acknowledged_migration: null,
      target_version: '16.4',
    });
    expect(r.message).toContain('acknowledge exactly "16.4"');
  });

  it('exactly the target tag lifts it, and it is recorded', () => {
    const r = preDeployGate({ ...base, ackMigration: '16.4' });
    expect(r).toMatchObject({ held: false, failure_reason: '', acknowledged_migration: '16.4', bump: 'minor' });
    expect(r.message).toMatch(/^upgrade may proceed: .*the manual migration for 16\.4 was acknowledged\.$/);
    expect(r.release_notes?.flagged).toEqual(['manual migration', 'migration required']);
  });

  it.each<[string, string]>([
    ['another version', '16.3'],
    ['a later version', '16.5'],
    ['a prefix of it', '16'],
    ['a longer version', '16.4.0'],
    ['a v prefix', 'v16.4'],
    ['the whole reference', 'pg:16.4'],
    ['a pattern', '16.*'],
    ['a regex', '16\\.4|.*'],
    ['empty', ''],
    ['a space', ' '],
    ['leading whitespace', ' 16.4'],
    ['trailing whitespace', '16.4 '],
    ['a trailing newline', '16.4\n'],
    ['a zero-width space', '16.4\u200b'],
    ['a fullwidth digit', '１6.4'],
    ['true', 'true'],
  ])('%s (%j) does not lift it; the message says which version would', (_n, ack) => {
    const r = preDeployGate({ ...base, ackMigration: ack });
    expect(r).toMatchObject({ held: true, failure_reason: 'held-manual-migration', acknowledged_migration: null });
    expect(r.message).toContain(`The acknowledgement ${JSON.stringify(ack)} does not lift it: only exactly "16.4"`);
  });

  it.each<[string, string, string]>([
    ['case differs', 'pg:16.4-alpine', '16.4-Alpine'],
    ['suffix left out', 'pg:16.4-alpine', '16.4'],
  ])('%s does not lift it', (_n, to, ack) => {
    const r = preDeployGate({ ...base, fromRef: 'pg:16.3-alpine', toRef: to, ackMigration: ack });
    expect(r).toMatchObject({ held: true, failure_reason: 'held-manual-migration', acknowledged_migration: null });
  });

  it('it lifts nothing else: a major bump behind the migration is still held (allow-major is its own flag)', () => {
    const r = preDeployGate({ ...base, toRef: 'pg:17.0', ackMigration: '17.0' });
    expect(r).toMatchObject({ held: true, failure_reason: 'held-major', acknowledged_migration: '17.0' });
    expect(r.message).toMatch(/the manual migration for 17\.0 was acknowledged; a major bump is held/);
    expect(preDeployGate({ ...base, toRef: 'pg:17.0', ackMigration: '17.0', allowMajor: true })).toMatchObject({
      held: false,
    });
  });

  it('allow-major does not lift a manual-migration hold', () => {
    expect(preDeployGate({ ...base, allowMajor: true })).toMatchObject({
      held: true,
      failure_reason: 'held-manual-migration',
    });
  });

  it.each<[string, Partial<GateInput>, string]>([
    [
      'a digest target has no version to acknowledge',
      { toRef: `pg@sha256:${'b'.repeat(64)}`, allowMajor: true },
      `pg@sha256:${'b'.repeat(64)}`,
    ],
    [
      'notes outside the repo are a declaration error',
      { module: { name: 'db', upgrade: { ...upgrade, releaseNotes: '/elsewhere/{version}.md' } } },
      '16.4',
    ],
  ])('%s: no acknowledgement lifts it', (_n, over, ack) => {
    const r = preDeployGate({ ...base, ...over, ackMigration: ack });
    expect(r).toMatchObject({
      held: true,
      failure_reason: 'held-manual-migration',
      acknowledged_migration: null,
      target_version: null,
    });
    expect(r.message).toMatch(/names no version that can be acknowledged/);
  });

  it('notes that flag nothing: the acknowledgement lifts nothing and is not recorded', () => {
    const r = preDeployGate({ ...base, readFile: () => 'Bug fixes only.', ackMigration: '16.4' });
    expect(r).toMatchObject({ held: false, acknowledged_migration: null });
  });
});

describe('upgrade with ack-migration (simulated engine)', () => {
  const T0 = new Date('2026-03-01T12:00:00Z');
  const TO = 'stateguard/busybox:1.1.0';
  const quiet = {
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    notice: () => undefined,
    raw: () => undefined,
  };
  function setup() {
    const rt = examplePlatform();
    const store = rt.containers.find((c) => c.id === 'store-1')!;
    store.mounts = [{ type: 'volume', name: 'platform_store-data', source: '/x', destination: '/data' }];
    store.imageId = 'sha256:old';
    rt.images[TO] = 'sha256:new';
    rt.served['/data'] = tar(dir('data/'), file('data/db', 'rows'));
    const root = path.join(REPO, 'examples/platform');
    const mods: ModuleDecl[] = loadModules(root, 'modules/*/module.yaml', root).modules.map((m) =>
      m.name === 'store' ? { ...m, upgrade: { ...upgrade, releaseNotes: path.join(root, 'notes/{version}.md') } } : m,
    );
    const work = mkdtempSync(path.join(tmpdir(), 'sg-ack-unit-'));
    return { rt, mods, root, work, module: mods.find((m) => m.name === 'store')! };
  }
  // store declared at TO, running 1.0.0 (the upgrade tests' planner)
  const planner = upgradePlanner('stateguard/busybox:1.0.0', TO);
  function request(s: ReturnType<typeof setup>, over: Partial<UpgradeRequest>): UpgradeRequest {
    return upgradeRequest(
      { mods: s.mods, module: s.module, work: s.work, now: T0 },
      { root: s.root, dryRun: true, ...over },
    );
  }
  const deps = (s: ReturnType<typeof setup>) => ({
    runtime: s.rt,
    planModules: planner,
    verifyBackup,
    log: quiet,
    now: () => T0,
    sleep: async () => undefined,
    pollMs: 1,
    readFile: migration,
  });

  it('held without an acknowledgement: the fix names the flag in the CLI and the input in an action', async () => {
    const s = setup();
    try {
      const cli = await upgradeModule(request(s, { surface: 'cli' }), deps(s));
      expect(cli).toMatchObject({
        decision: 'held',
        failure_reason: 'held-manual-migration',
        acknowledged_migration: null,
      });
      expect(cli.reasons[0]).toMatchObject({ input: 'ack-migration' });
      expect(cli.reasons[0]!.fix).toContain('pass 1.1.0 as --ack-migration');
      const action = await upgradeModule(request(s, { surface: 'action' }), deps(s));
      expect(action.reasons[0]!.fix).toContain('set ack-migration to 1.1.0');
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('the right acknowledgement: recorded in the JSON and the summary; the consent checks still apply', async () => {
    const s = setup();
    try {
      const o = await upgradeModule(request(s, { ackMigration: '1.1.0' }), deps(s));
      expect(o).toMatchObject({ decision: 'would-upgrade', acknowledged_migration: '1.1.0' });
      expect(upgradeSummary(o)).toContain('manual migration acknowledged | `1.1.0`');
      const noConsent = await upgradeModule(
        request(s, { ackMigration: '1.1.0', allowStateful: false, confirm: 'x' }),
        deps(s),
      );
      expect(noConsent).toMatchObject({ decision: 'blocked', failure_reason: 'not-allowed' });
      expect(noConsent.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['not-allowed', 'confirm-mismatch']));
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('an acknowledgement with nothing to lift is said, not silently dropped', async () => {
    const s = setup();
    try {
      const o = await upgradeModule(request(s, { ackMigration: '1.1.0' }), {
        ...deps(s),
        readFile: () => 'Bug fixes.',
      });
      expect(o).toMatchObject({ decision: 'would-upgrade', acknowledged_migration: null });
      expect(o.warnings.join('\n')).toMatch(/no manual-migration hold was there to lift; it changed nothing/);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('the input is defined once: --ack-migration in the CLI, ack-migration in the action', () => {
    const def = upgradeCommand.inputs.find((i) => i.name === 'ack-migration');
    expect(def).toMatchObject({ kind: 'string' });
    expect(upgradeCommand.inputs.find((i) => i.name === 'dry-run')).toMatchObject({
      kind: 'boolean',
      default: 'false',
    });
  });
});
