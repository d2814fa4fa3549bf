/**
 * Elapsed time for the bounded waits (containers becoming ready, an upgrade's settle window). In
 * production nothing injects a sleep: elapsed time is the real time since the wait began. A caller
 * that injects its own sleep (the unit tests over the simulated engine) gets the time it asked to
 * sleep as elapsed time, so a 10 s settle window costs a test nothing and never spins on the real
 * clock (docs/architecture.md §1).
 */
export interface Waiter {
  /** milliseconds since the wait began */
  elapsed(): number;
  sleep(ms: number): Promise<void>;
}

export function waiter(injected?: (ms: number) => Promise<void>): Waiter {
  if (!injected) {
    const start = Date.now();
    return {
      elapsed: () => Date.now() - start,
      sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    };
  }
  let slept = 0;
  return {
    elapsed: () => slept,
    sleep: async (ms) => {
      slept += ms;
      await injected(ms);
    },
  };
}
