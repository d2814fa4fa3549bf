/**
 * The health gate of an upgrade and of its rollback (docs/architecture.md §13): every container of
 * the service running, healthy where it has a healthcheck, and then STAYING so — not restarted, not
 * restarting — for a settle window, all within a bound. A version that starts, passes one check and
 * then crash-loops must not count as healthy.
 */
import { listServiceContainers, notReady, waitUntilReady } from '../drift/containers.js';
import type { Runtime } from '../ports.js';
import { humanDuration } from '../report/progress.js';
import { waiter } from '../clock.js';

export interface HealthGate {
  timeoutMs: number;
  settleMs: number;
  sleep?: (ms: number) => Promise<void>;
  /** poll interval (tests pass a small one) */
  intervalMs?: number;
  /** says what the gate waits for, before it waits (docs/architecture.md §7, "Downtime and progress") */
  say?: (message: string) => void;
  /** the service is running and healthy (before the settle window): the downtime's end */
  onReady?: (service: string) => void;
}

/** null when healthy and settled; otherwise why not. */
export async function healthGate(
  runtime: Runtime,
  compose: { project: string; service: string },
  gate: HealthGate,
): Promise<string | null> {
  const wait = waiter(gate.sleep);
  const interval = gate.intervalMs ?? 1000;
  const containers = await listServiceContainers(runtime, compose);
  if (containers.length === 0) return `no container of ${compose.service} exists`;
  const ids = containers.map((c) => c.id);
  gate.say?.(
    `waiting up to ${humanDuration(gate.timeoutMs)} for ${compose.service} to be running (and healthy where it ` +
      `has a healthcheck)`,
  );
  const pending = await waitUntilReady(runtime, ids, gate.timeoutMs, wait, interval);
  if (pending.length) return pending.map((p) => `${p.id.slice(0, 12)} ${p.problem}`).join(', ');
  gate.onReady?.(compose.service);
  gate.say?.(`waiting ${humanDuration(gate.settleMs)} for ${compose.service} to stay healthy (settle window)`);
  const first = new Map((await runtime.inspectContainers(ids)).map((c) => [c.id, c.startedAt]));
  // The bound counts from the first check: waiting to be ready and settling together take at most
  // timeout + settle.
  const settleEnd = Math.min(wait.elapsed() + gate.settleMs, gate.timeoutMs + gate.settleMs);
  for (;;) {
    const now = await runtime.inspectContainers(ids);
    for (const id of ids) {
      const c = now.find((x) => x.id === id);
      const problem = notReady(c);
      if (problem) return `${id.slice(0, 12)} ${problem} during the ${gate.settleMs / 1000}s settle window`;
      if (c!.startedAt !== first.get(id)) return `${id.slice(0, 12)} restarted during the settle window`;
    }
    if (wait.elapsed() >= settleEnd) return null;
    await wait.sleep(Math.min(interval, Math.max(1, settleEnd - wait.elapsed())));
  }
}
