/** Bounded waits count injected sleeps as elapsed time, so no unit test waits or spins in real time. */
import { expect, it } from '@jest/globals';
import { waiter } from '../../src/clock.js';
import { waitUntilReady } from '../../src/drift/containers.js';
import type { ContainerInfo } from '../../src/ports.js';

it('an injected sleep is the elapsed time, whatever the real clock says', async () => {
  const asked: number[] = [];
  const w = waiter(async (ms) => {
    asked.push(ms);
  });
  expect(w.elapsed()).toBe(0);
  await w.sleep(1000);
  await w.sleep(250);
  expect(w.elapsed()).toBe(1250);
  expect(asked).toEqual([1000, 250]);
});

it('without one, elapsed time is real time', async () => {
  const w = waiter();
  await w.sleep(30);
  expect(w.elapsed()).toBeGreaterThanOrEqual(25);
});

it('a container never ready is given up on after timeout / interval checks, not after a real timeout', async () => {
  let inspections = 0;
  const starting = { id: 'c1', state: 'running', health: 'starting' } as unknown as ContainerInfo;
  const runtime = {
    inspectContainers: async () => {
      inspections++;
      return [starting];
    },
  };
  const pending = await waitUntilReady(runtime, ['c1'], 60_000, async () => undefined, 1000);
  expect(pending).toEqual([{ id: 'c1', problem: 'is starting' }]);
  expect(inspections).toBe(61);
});
