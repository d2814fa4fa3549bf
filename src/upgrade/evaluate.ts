/**
 * The upgrade rule (docs/architecture.md §13, "Rule"), evaluated on a fresh plan before the lock and
 * again under it: its own module, consent, only image/config drift, healthy before, the version gate.
 * Fills the outcome's from/to, bump, release notes and reasons as it goes.
 */
import { listServiceContainers } from '../drift/containers.js';
import type { DriftKey, ModulePlan } from '../drift/types.js';
import { inputRef, setTrue, setValue, type Surface } from '../report/words.js';
import {
  capital,
  describeConfirmMismatch,
  guardReason,
  orderReasons,
  type GuardReason,
  type GuardResult,
} from '../guard/decide.js';
import { planOne, type GuardDeps, type GuardEvaluation } from '../guard/evaluate.js';
import { upgradeGate } from './from.js';
import { readReleaseNotesFile, type GateResult } from './gate.js';
import type { UpgradeDeps, UpgradeOutcome, UpgradeRequest } from './types.js';

/** The only drift an upgrade deploys. */
export const UPGRADE_DRIFT: readonly DriftKey[] = ['container.image', 'container.config'];
/** What the plan says the upgrade goes from and to (refs), from its container.image drift. */
function fromTo(plan: ModulePlan): { from: string | null; to: string | null } {
  const image = plan.drift.find((d) => d.key === 'container.image');
  return { from: image?.observed ?? plan.observed.image ?? null, to: image?.declared ?? plan.observed.image ?? null };
}

/** The upgrade rule on a fresh plan: its own module, consent, only image/config drift, healthy before, the gate. */
export async function evaluateUpgrade(
  req: UpgradeRequest,
  deps: GuardDeps & Pick<UpgradeDeps, 'readFile'>,
  out: UpgradeOutcome,
): Promise<GuardEvaluation & { gate: GateResult | null }> {
  const m = req.module;
  const surface = req.surface ?? 'cli';
  const reasons: GuardReason[] = [];
  if (m.class !== 'stateful' || m.expectedState !== 'running' || m.volumes.length === 0) {
    reasons.push(
      guardReason(
        'not-restorable',
        `module '${m.name}' is not a long-running stateful module with data volumes; upgrade snapshots its data ` +
          `and rolls it back with it, so it needs one`,
        'Use apply for one-shots; stateless modules need no upgrade guard.',
        'module',
      ),
    );
  }
  if (req.allowStateful !== true) {
    reasons.push(
      guardReason(
        'not-allowed',
        'allow-stateful is not true',
        `${capital(setTrue('allow-stateful', surface))} to upgrade a stateful module.`,
        'allow-stateful',
      ),
    );
  }
  const mismatch = describeConfirmMismatch(req.confirm, req.confirmToken);
  if (mismatch !== null) {
    reasons.push(
      guardReason(
        'confirm-mismatch',
        mismatch,
        `Set ${inputRef('confirm', surface)} to exactly ${JSON.stringify(req.confirmToken)} (case-sensitive).`,
        'confirm',
      ),
    );
  }
  const planned = await planOne(req.modules, m, deps);
  let gate: GateResult | null = null;
  let plan: ModulePlan | null = null;
  if ('error' in planned) {
    reasons.push(
      guardReason(planned.reason, `the module could not be planned: ${planned.error}`, 'Fix the cause above.'),
    );
  } else {
    plan = planned.plan;
    const keys = plan.drift.map((d) => d.key);
    const other = plan.drift.filter((d) => !UPGRADE_DRIFT.includes(d.key));
    if (other.length) {
      reasons.push(
        guardReason(
          'drift-not-allowed',
          `the module has drift an upgrade does not deploy (${other.map((d) => d.key).join(', ')}); it must be ` +
            `running and healthy before an upgrade, so that the rollback target is known good`,
          'Bring the module back to running and healthy on its current version first (or restore it).',
        ),
      );
    }
    const { from, to } = fromTo(plan);
    const config = plan.drift.find((d) => d.key === 'container.config');
    if (config && req.expectedPlanHash === undefined && !('error' in planned)) {
      // The reference the running container was rendered with: after a rollback the last-known-good's
      // (same image ID), else the container's own.
      const [current] = await listServiceContainers(deps.runtime, m.compose);
      const lkg = await deps.runtime.readLastKnownGood(m.compose.project, m.compose.service);
      const running =
        lkg && current && current.imageId !== '' && current.imageId === lkg.image_id
          ? lkg.image_ref
          : current?.imageRef;
      // An upgrade changes only the image unless the reviewed plan binds the rest (§13). compose's config
      // hash covers the image, so "only the image" is proven by compose itself: the declared service
      // with the running image renders the running container's hash.
      const imageOnly =
        !!current?.configHash &&
        !!running &&
        (await deps.runtime.configHashWithImage(
          { project: m.compose.project, files: [m.compose.path] },
          m.compose.service,
          running,
        )) === current.configHash;
      if (!imageOnly) {
        const fields = config.fields?.length ? config.fields.join(', ') : 'fields stateguard does not compare';
        reasons.push(
          guardReason(
            'drift-not-allowed',
            `the upgrade would also change the container's configuration besides the image (${fields}); an ` +
              `upgrade deploys other drift only when the reviewed plan binds it`,
            `Review the plan and ${setValue('expected-plan-hash', planned.hash, surface)}`,
            'expected-plan-hash',
          ),
        );
      }
    }
    out.from.image = from;
    out.to.image = to;
    if (keys.includes('container.image')) {
      // The same function and engine facts as plan's pending upgrade (docs/architecture.md §13).
      const target = plan.declared.image;
      const decided = upgradeGate(
        m,
        {
          containers: await listServiceContainers(deps.runtime, m.compose),
          target: { ref: target, id: (await deps.runtime.imageIds([target]))[target] ?? null },
          lastKnownGood: await deps.runtime.readLastKnownGood(m.compose.project, m.compose.service),
        },
        {
          allowMajor: req.allowMajor,
          readFile: deps.readFile ?? readReleaseNotesFile,
          root: req.root,
          ...(req.ackMigration !== undefined ? { ackMigration: req.ackMigration } : {}),
        },
      );
      out.to.image = target;
      if (decided) {
        gate = decided.gate;
        out.from.image = decided.from.ref;
        // evaluated twice (before the lock and under it): say it once
        if (decided.from.note && !out.warnings.includes(decided.from.note)) out.warnings.push(decided.from.note);
        out.bump = gate.bump;
        out.release_notes = gate.release_notes;
        out.acknowledged_migration = gate.acknowledged_migration;
        noteUnusedAck(req, gate, out);
        if (gate.held)
          reasons.push(
            guardReason(
              gate.failure_reason || 'held-major',
              gate.message,
              holdFix(gate, surface),
              gate.failure_reason === 'held-manual-migration' ? 'ack-migration' : 'allow-major',
            ),
          );
      } else {
        reasons.push(
          guardReason(
            'drift-not-allowed',
            `no container of service '${m.compose.service}' runs an image stateguard can name: nothing to upgrade from`,
            'Bring the module back to running and healthy on its current version first (or restore it).',
          ),
        );
      }
    }
  }
  const ordered = orderReasons(reasons);
  const result: GuardResult = {
    module: m.name,
    decision: ordered.length ? 'blocked' : plan && plan.drift.length === 0 ? 'no-op' : 'allowed',
    reasons: ordered,
    drift_keys: plan ? plan.drift.map((d) => d.key) : [],
    backup: null,
    failure_reason: ordered[0]?.code ?? '',
  };
  out.reasons = ordered;
  return { result, plan, planHash: 'error' in planned ? null : planned.hash, gate };
}

function holdFix(gate: GateResult, surface: Surface): string {
  if (gate.failure_reason !== 'held-manual-migration')
    return `Review the change; to take a major (or unclassifiable) upgrade anyway, ${setTrue('allow-major', surface)}.`;
  return gate.target_version === null
    ? 'Do the migration the release notes describe by hand (snapshot first), then deploy; or pin another version.'
    : `Do the migration the release notes describe by hand (snapshot first), then ` +
        `${setValue('ack-migration', gate.target_version, surface)} to acknowledge it for exactly this version; ` +
        `or pin another version.`;
}

/** An acknowledgement that lifted nothing is said (once), never silently dropped. */
function noteUnusedAck(req: UpgradeRequest, gate: GateResult, out: UpgradeOutcome): void {
  if (req.ackMigration === undefined || gate.acknowledged_migration !== null) return;
  if (gate.failure_reason === 'held-manual-migration') return; // the hold's message says why it was not lifted
  const w =
    `ack-migration ${JSON.stringify(req.ackMigration)} was given, but no manual-migration hold was there to ` +
    `lift; it changed nothing`;
  if (!out.warnings.includes(w)) out.warnings.push(w);
}
