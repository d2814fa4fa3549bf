/**
 * A simulated process death for crash tests on the simulated engine (docs/architecture.md §12): the
 * dying engine call, or crash hook, returns a promise that never settles, so nothing after it runs —
 * no catch, no finally, no lock release — as after a SIGKILL. Nothing is thrown.
 */
import { expect } from '@jest/globals';
import type { CrashHook } from '../../src/ops/steps.js';
import type { Runtime } from '../../src/runtime/types.js';

/** A death: the operation waits on this forever. */
const NEVER = new Promise<never>(() => undefined);

/** How a simulated process dies: at a named boundary, or when it makes its (n+1)th engine call. */
export type Death = { at: string } | { afterCalls: number };

export interface Dying {
  runtime: Runtime;
  crash: CrashHook | undefined;
  /** settles when the process has died (never, when it ran to the end) */
  died: Promise<string>;
  calls: () => number;
}

/**
 * The runtime and crash hook of a process that dies as `death` says. Calls into the fake are
 * counted at the port: the fake's own inner calls (e.g. ping) do not count.
 */
export function dying(rt: Runtime, death: Death | null): Dying {
  let calls = 0;
  let dead = false;
  let die: (where: string) => void = () => undefined;
  const died = new Promise<string>((resolve) => (die = resolve));
  const kill = (where: string): Promise<never> => {
    dead = true;
    die(where);
    return NEVER;
  };
  const runtime = new Proxy(rt, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (dead) return NEVER;
        if (death && 'afterCalls' in death && calls >= death.afterCalls)
          return kill(`before engine call ${calls + 1} (${String(prop)})`);
        calls += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const crash: CrashHook | undefined =
    death && 'at' in death ? (boundary) => (boundary === death.at ? kill(boundary) : undefined) : undefined;
  return { runtime, crash, died, calls: () => calls };
}

/**
 * Run an operation as a process that dies as `death` says, and expect that it died first (a run that
 * ended on its own names its decision and the death in the failure).
 */
export async function expectKilled(
  rt: Runtime,
  death: Death,
  op: (d: Dying) => Promise<{ decision: string }>,
): Promise<void> {
  const d = dying(rt, death);
  const ran = await Promise.race([op(d), d.died.then(() => 'killed' as const)]);
  expect({ death, ran: typeof ran === 'string' ? ran : ran.decision }).toEqual({ death, ran: 'killed' });
}

/** An operation run to its end with nothing killing it: its outcome and its engine calls (the instants to try). */
export async function wholeRun<T>(rt: Runtime, op: (d: Dying) => Promise<T>): Promise<{ outcome: T; calls: number }> {
  const d = dying(rt, null);
  const outcome = await op(d);
  return { outcome, calls: d.calls() };
}
