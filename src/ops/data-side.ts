/**
 * The data side of an interrupted operation (docs/architecture.md §12): a work area
 * (`.stateguard-restore`) at the top of a data volume means an operation is open, journal or not.
 * recover reverts from it when the journal is gone (a prune, a hand): the swap protocol lets a
 * revert be done exactly without the journal, because the marker `in` says which side is live in
 * each volume. When the volumes cannot prove it, it refuses and names what it found.
 */
import { listServiceContainers, waitUntilReady } from '../drift/containers.js';
import type { ModuleDecl } from '../model/module.js';
import type { HelperSpec, Runtime, WorkAreaState } from '../ports.js';
import { operationKey } from './journal.js';
import { resolveMounts } from './preflight.js';
import { describeRevert, pickHelperImage } from './steps.js';

export interface DataSide {
  helper: HelperSpec;
  states: WorkAreaState[];
}

/** Look at the module's volumes: their work areas, or why they could not be looked at. */
export async function readDataSide(runtime: Runtime, m: ModuleDecl): Promise<DataSide | { problem: string }> {
  if (m.class !== 'stateful' || m.volumes.length === 0 || m.runtime === 'swarm') {
    return { problem: 'not a stateful compose module with data volumes' };
  }
  const containers = await listServiceContainers(runtime, m.compose);
  const resolved = resolveMounts(m, containers);
  if ('problem' in resolved) return { problem: resolved.problem };
  const picked = await pickHelperImage(runtime, [resolved.source.imageId]);
  if ('tried' in picked) return { problem: `no local image can look inside the volumes (${picked.tried.join('; ')})` };
  const helper: HelperSpec = {
    image: picked.image,
    mounts: resolved.mounts,
    key: operationKey(m.compose.project, m.compose.service),
  };
  return { helper, states: await runtime.workAreas(helper) };
}

/** What the work areas show, one clause per volume. */
export function describeWorkAreas(states: readonly WorkAreaState[]): string {
  return states
    .map(
      (s) =>
        `${s.volume}: ${
          !s.present
            ? 'no work area'
            : s.swapped
              ? 'a work area, the new data live (old kept)'
              : 'a work area, the old data live'
        }`,
    )
    .join('; ');
}

/**
 * Revert from the data side, or say why that cannot be proved. Provable: every volume has a work
 * area (each reverts exactly), or no volume's new data is live (`in` absent everywhere: a volume
 * without a work area was never touched). A volume without a work area beside one whose new data is
 * live may be one whose old data was already dropped: refused, nothing changed.
 */
export async function revertFromDataSide(
  runtime: Runtime,
  m: ModuleDecl,
  side: DataSide,
  readyTimeoutMs: number,
  say: (s: string) => void,
  sleep?: (ms: number) => Promise<void>,
): Promise<{ ok: true; data: string; problem: string | null } | { ok: false; found: string }> {
  const found = describeWorkAreas(side.states);
  const absent = side.states.some((s) => !s.present);
  if (absent && side.states.some((s) => s.swapped)) return { ok: false, found };
  const target = { project: m.compose.project, service: m.compose.service };
  const running = (await listServiceContainers(runtime, target)).filter(
    (c) => c.state === 'running' || c.state === 'restarting',
  );
  await runtime.stop(running.map((c) => c.id));
  await runtime.removeHelpers(side.helper.key);
  const swapped = await runtime.swap(
    side.helper,
    'revert',
    side.helper.mounts.map(() => null),
  );
  const data = describeRevert(swapped);
  say(`${data}, reverted from the data side`);
  await runtime.dropWorkArea(side.helper);
  const all = await listServiceContainers(runtime, target);
  if (all.length === 0) return { ok: true, data, problem: `no container of ${m.compose.service} exists` };
  await runtime.start(all.map((c) => c.id));
  const pending = await waitUntilReady(
    runtime,
    all.map((c) => c.id),
    readyTimeoutMs,
    sleep,
  );
  const problem = pending.length ? pending.map((p) => `${p.id.slice(0, 12)} ${p.problem}`).join(', ') : null;
  return { ok: true, data, problem };
}
