/**
 * One truth about what `allowed` means and which path applies a change (docs/architecture.md §4,
 * "What allowed means"). guard's text, JSON and outputs, apply's refusal of a long-running module and
 * the plan's next steps all take their words from here.
 *
 * The guard decides only whether the stateful rule blocks a change. It does not apply anything:
 * - `apply` re-runs one-shots (expected_state: exited-success), nothing else;
 * - a long-running stateless module goes through the repository's normal deploy;
 * - an image bump of a long-running stateful compose module goes through `upgrade`;
 * - any other drift of a long-running stateful or sidecar module is changed by hand, snapshot first.
 */
import type { DriftKey } from '../drift/types.js';
import type { ModuleDecl } from '../model/module.js';
import { inputRef, type Surface } from '../report/words.js';

/** Which path applies a module's change: the `applied_by` field of guard's JSON and its output. */
export type AppliedBy = 'apply' | 'normal-deploy' | 'upgrade' | 'by-hand';

export type AppliesModule = Pick<ModuleDecl, 'name' | 'class' | 'expectedState'> & {
  runtime?: ModuleDecl['runtime'] | undefined;
};

/** The drift an upgrade deploys (src/upgrade/evaluate.ts UPGRADE_DRIFT); an image bump always shows both. */
const IMAGE_BUMP: readonly DriftKey[] = ['container.image', 'container.config'];

/** Whether `keys` is an image bump: container.image, with at most the container.config it brings. */
export function isImageBump(keys: readonly DriftKey[]): boolean {
  return keys.includes('container.image') && keys.every((k) => IMAGE_BUMP.includes(k));
}

/** The path that applies this module's drift (what `allowed` leads to, or what to use instead). */
export function appliedBy(m: AppliesModule, keys: readonly DriftKey[]): AppliedBy {
  if (m.expectedState === 'exited-success') return 'apply';
  if (m.class === 'stateless') return 'normal-deploy';
  if (m.class === 'stateful' && m.runtime !== 'swarm' && isImageBump(keys)) return 'upgrade';
  return 'by-hand';
}

/** What guard's `allowed` means, said wherever a decision is shown. */
export const ALLOWED_MEANS = 'the stateful rule does not block this change';

/**
 * The sentence that says how the change is applied, naming the CLI flags or the action inputs.
 * `keys` undefined: the drift is not known (apply refuses a long-running module before planning).
 */
export function howApplied(m: AppliesModule, keys: readonly DriftKey[] | undefined, surface: Surface = 'cli'): string {
  const deploy = m.runtime === 'swarm' ? '`docker stack deploy`' : '`docker compose up -d`';
  const upgrade = `\`stateguard upgrade --module ${m.name}\` (workflows/upgrade.yml)`;
  const byHand = `take a snapshot, change it by hand (${deploy}), then plan again`;
  const path = appliedBy(m, keys ?? []);
  if (path === 'apply') {
    return (
      `'${m.name}' is a one-shot: \`stateguard apply --module ${m.name}\` re-runs it` +
      (m.class === 'stateless' ? '.' : ` (with ${inputRef('allow-stateful', surface)} and a verified backup).`)
    );
  }
  if (path === 'normal-deploy') {
    return (
      `'${m.name}' is long-running and stateless: stateguard apply only re-runs one-shots, so deploy it through your ` +
      `normal deploy (e.g. ${deploy}).`
    );
  }
  if (path === 'upgrade') {
    return `'${m.name}' is long-running and stateful: an image bump goes through ${upgrade}, not apply.`;
  }
  if (keys === undefined && m.class === 'stateful' && m.runtime !== 'swarm') {
    return (
      `'${m.name}' is long-running and stateful: an image bump goes through ${upgrade}; for any other change ` +
      `${byHand}.`
    );
  }
  return (
    `'${m.name}' is long-running and ${m.class}: no stateguard command applies ` +
    `${keys === undefined ? 'a change of it' : 'this drift'} (apply only re-runs one-shots; upgrade takes only an ` +
    `image bump of a stateful compose module); ${byHand}.`
  );
}
