/**
 * What to do next for a drifted module, in the plan's text and markdown (docs/architecture.md §3,
 * "Next steps"). Each step says what is true for that combination of class, expected state, runtime
 * and drift (src/guard/applies.ts): the ready-to-copy workflow and its inputs, and the CLI line, of
 * the one stateguard path that applies it — or, when none does, that none does and what to do instead.
 * Pure.
 */
import { countedDrift } from '../drift/allow.js';
import type { DriftKey, ModulePlan } from '../drift/types.js';
import { appliedBy, isImageBump } from '../guard/applies.js';
import { withArticle } from './words.js';

/** A piece of a step: plain words, or a code span (a command, a path, a value). */
export type Segment = string | { code: string };

export interface NextStep {
  module: string;
  /** what is true and what to do, in words */
  say: Segment[];
  /** the workflow to dispatch and its inputs: [name, value, note] (value as a code span unless `raw`) */
  workflow?: { file: string; inputs: Array<{ name: string; value: string; raw?: Segment[]; note?: string }> };
  /** the same as one CLI line */
  cli?: string;
}

const c = (code: string): Segment => ({ code });

const CONFIRM = { name: 'stateful_confirm', value: 'BACKUP_DONE', note: 'typed by you' };

function composeUp(m: ModulePlan, extra: string): string {
  if (m.runtime === 'swarm') return `docker stack deploy -c ${m.compose.file} ${m.compose.project}`;
  return `docker compose -p ${m.compose.project} -f ${m.compose.file} up ${extra}${m.compose.service}`;
}

function byHand(m: ModulePlan, why: Segment[]): Segment[] {
  return [
    ...why,
    ': take a snapshot (',
    c('workflows/backup.yml'),
    '), bring the service to its declared state by hand (',
    c(composeUp(m, '-d --no-deps ')),
    '), then plan again.',
  ];
}

function keyList(keys: readonly DriftKey[]): Segment[] {
  const out: Segment[] = [];
  keys.forEach((k, i) => {
    if (i > 0) out.push(', ');
    out.push(c(k));
  });
  return out;
}

/** The next step for one module; null when it is in sync. */
export function nextStepOf(m: ModulePlan, backupModules?: readonly string[]): NextStep | null {
  if (m.in_sync) return null;
  const name = m.name;
  // Allowed drift (docs/architecture.md §3, "Drift allowlist") needs no step.
  const keys = [...new Set(countedDrift(m.drift).map((d) => d.key))];
  const step = (say: Segment[], more: Omit<NextStep, 'module' | 'say'> = {}): NextStep => ({
    module: name,
    say,
    ...more,
  });

  if (m.interrupted_operation?.status === 'open') {
    return step(['an operation on its data was interrupted: recover it first (', c('workflows/recover.yml'), ')'], {
      cli: `stateguard recover --module ${name}`,
    });
  }
  const path = appliedBy({ name, class: m.class, expectedState: m.expected_state, runtime: m.runtime }, keys);

  if (m.class === 'stateless') {
    if (path === 'apply') {
      return step(
        ['a stateless one-shot: the guard allows it without a backup; ', c('stateguard apply'), ' re-runs it'],
        {
          cli: `stateguard apply --module ${name} --expected-plan-hash ${m.plan_hash}`,
        },
      );
    }
    return step([
      'stateless and long-running: the guard does not block it, and stateguard does not deploy it (',
      c('apply'),
      ' only re-runs one-shots); deploy it through your normal deploy (',
      c(composeUp(m, '-d --no-deps ')),
      '), then plan again.',
    ]);
  }

  // stateful or sidecar
  if (m.expected_state === 'exited-success') {
    if (keys.every((k) => k === 'container.state.exited_success')) {
      const covers = backupModules && backupModules.length > 0 ? backupModules : [name];
      const ref: Segment[] = ['a snapshot of '];
      covers.forEach((x, i) => ref.push(...(i > 0 ? [' or '] : []), c(x)));
      ref.push(' under your backup root (', c(`${covers[0]}-YYYYMMDDTHHMMSSZ.tar.gz`), ')');
      return step([`${withArticle(m.class)} one-shot to re-run: dispatch`], {
        workflow: {
          file: 'workflows/stateful-apply.yml',
          inputs: [
            { name: 'module', value: name },
            { name: 'allow_stateful', value: 'true' },
            { name: 'backup_ref', value: '', raw: ref },
            CONFIRM,
            { name: 'expected_plan_hash', value: m.plan_hash },
          ],
        },
        cli:
          `stateguard apply --module ${name} --allow-stateful --backup-root DIR --backup-ref ` +
          `DIR/${covers[0]}-YYYYMMDDTHHMMSSZ.tar.gz --confirm BACKUP_DONE --expected-plan-hash ${m.plan_hash}`,
      });
    }
    const unverifiable = m.drift.some((d) => d.key === 'container.image' && d.reason === 'unverifiable');
    if (unverifiable) {
      return step([
        'the one-shot\u2019s container is gone and no run record names the image that last ran, so the guard blocks ' +
          'any re-run; check the declared image, create (not start) the container so the plan can compare it (',
        c(composeUp(m, '--no-start --no-deps ')),
        '), then plan again.',
      ]);
    }
    return step(
      byHand(m, [
        'no stateguard path applies ',
        ...keyList(keys.filter((k) => k !== 'container.state.exited_success')),
        ` to ${withArticle(m.class)} one-shot (the guard re-runs a one-shot only for `,
        c('container.state.exited_success'),
        ')',
      ]),
    );
  }

  // long-running stateful or sidecar
  if (path === 'upgrade' && m.upgrade) {
    const u = m.upgrade;
    if (u.would_hold === 'held-manual-migration') {
      return step([
        `an image bump ${u.from} → ${u.to} that `,
        c('stateguard upgrade'),
        ' would hold: its release notes flag a manual migration. Read them, take a snapshot (',
        c('workflows/backup.yml'),
        '), do the migration by hand, then run the upgrade acknowledging exactly that version (',
        c('ack_migration'),
        ' of ',
        c('workflows/upgrade.yml'),
        ', or ',
        c('--ack-migration TAG'),
        ' with the target tag).',
      ]);
    }
    const major = u.would_hold === 'held-major' || u.bump === 'major' || u.bump === 'unknown';
    return step([`an image bump (${u.from} → ${u.to}, ${u.bump}) of a long-running stateful module: dispatch`], {
      workflow: {
        file: 'workflows/upgrade.yml',
        inputs: [
          { name: 'module', value: name },
          { name: 'allow_stateful', value: 'true' },
          ...(major
            ? [
                {
                  name: 'allow_major',
                  value: 'true',
                  note: `${withArticle(u.bump)} bump: read the release notes first`,
                },
              ]
            : []),
          CONFIRM,
          { name: 'expected_plan_hash', value: m.plan_hash },
        ],
      },
      cli:
        `stateguard upgrade --module ${name} --allow-stateful${major ? ' --allow-major' : ''} --confirm BACKUP_DONE ` +
        `--out-dir DIR --expected-plan-hash ${m.plan_hash}`,
    });
  }
  if (isImageBump(keys)) {
    const why =
      m.runtime === 'swarm'
        ? 'upgrade is not built for Swarm'
        : m.class !== 'stateful'
          ? `upgrade takes only stateful modules, this one is ${withArticle(m.class)}`
          : 'the plan could not work out the pending upgrade';
    return step(byHand(m, [`an image bump no stateguard command applies here (${why})`]));
  }
  if (keys.every((k) => k === 'container.config')) {
    return step(
      byHand(m, [
        'a configuration change without an image bump: ',
        c('upgrade'),
        ' is for image bumps and the guard never applies it to a long-running module',
      ]),
    );
  }
  return step([
    'not running as declared (',
    ...keyList(keys),
    '): the guard blocks every stateguard change of it and ',
    c('upgrade'),
    ' needs it running and healthy first. Bring it back by hand (',
    c(composeUp(m, '-d --no-deps ')),
    '), or restore its data if it is damaged (',
    c('workflows/restore.yml'),
    '), then plan again.',
  ]);
}
