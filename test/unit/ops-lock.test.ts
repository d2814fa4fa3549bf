/**
 * The module lock's holder is read reliably (docs/architecture.md §6): the engine reserves a lock
 * container's name before it can be inspected, so a held lock can answer "name in use" to a create
 * and "no such container" to an inspect for a moment. The lock is read again (bounded) and the
 * refusal names the operation that holds it, never "unknown (the lock vanished while being read)".
 */
import { describe, expect, it } from '@jest/globals';
import {
  acquireLock,
  LOCK_LABEL,
  LOCK_READ_ATTEMPTS,
  lockName,
  withModuleLock,
  type LockRequest,
} from '../../src/ops/lock.js';
import type { EngineLock } from '../../src/runtime/types.js';
import { FakeRuntime } from '../support/fake-runtime.js';

const T0 = new Date('2026-03-01T12:00:00Z');
const NAME = lockName('platform', 'store');

/** A fake engine whose lock object is invisible to the first `hidden` reads (it is being created). */
class FlickeringLock extends FakeRuntime {
  reads = 0;
  constructor(public hidden: number) {
    super();
  }
  override async readLock(name: string): Promise<EngineLock | null> {
    this.reads++;
    if (this.reads <= this.hidden) return null;
    return super.readLock(name);
  }
}

function req(over: Partial<LockRequest> = {}): LockRequest {
  return {
    module: 'store',
    project: 'platform',
    service: 'store',
    moduleImages: [],
    holder: 'host b, pid 2',
    now: T0,
    staleAfterMs: 3600_000,
    breakStale: false,
    operation: 'restore',
    sleep: async () => undefined,
    ...over,
  };
}

async function heldBy(rt: FakeRuntime, labels: Record<string, string>): Promise<void> {
  await rt.createLock(
    NAME,
    { [LOCK_LABEL.lock]: '1', [LOCK_LABEL.since]: T0.toISOString(), ...labels },
    { images: [], project: 'platform' },
  );
}

describe('a held lock that flickers is read again, and the refusal names its holder and operation', () => {
  it.each([1, 2, 3, LOCK_READ_ATTEMPTS - 1])(
    'invisible to the first %i reads → locked by a running restore, holder named',
    async (hidden) => {
      const rt = new FlickeringLock(hidden);
      await heldBy(rt, { [LOCK_LABEL.holder]: 'repo o/r, run 7, host a, pid 1', [LOCK_LABEL.operation]: 'restore' });
      const out = await acquireLock(rt, req(), 0);
      expect(out.acquired).toBe(false);
      if (out.acquired) return;
      expect(out.refusal.message).toMatch(
        /^module 'store' is locked by a running restore \(holder repo o\/r, run 7, host a, pid 1, since 2026-03-01T12:00:00.000Z/,
      );
      expect(out.refusal.message).not.toMatch(/vanished|unknown|unreadable/);
      expect(out.refusal.holder).toBe('repo o/r, run 7, host a, pid 1');
    },
  );

  it.each(['apply', 'upgrade', 'snapshot', 'recover'])('held by a %s → the refusal says so', async (op) => {
    const rt = new FlickeringLock(0);
    await heldBy(rt, { [LOCK_LABEL.holder]: 'host a, pid 1', [LOCK_LABEL.operation]: op });
    const out = await acquireLock(rt, req(), 0);
    expect(!out.acquired && out.refusal.message).toMatch(
      new RegExp(`locked by a running ${op} \\(holder host a, pid 1`),
    );
  });

  it('a lock written before the operation label → "a running operation"', async () => {
    const rt = new FlickeringLock(0);
    await heldBy(rt, { [LOCK_LABEL.holder]: 'host a, pid 1' });
    const out = await acquireLock(rt, req(), 0);
    expect(!out.acquired && out.refusal.message).toMatch(/locked by a running operation \(holder host a, pid 1/);
  });

  it('never readable: refused after a bounded number of reads, saying it could not be read (never "vanished")', async () => {
    const rt = new FlickeringLock(Number.MAX_SAFE_INTEGER);
    await heldBy(rt, { [LOCK_LABEL.holder]: 'host a, pid 1', [LOCK_LABEL.operation]: 'restore' });
    const out = await acquireLock(rt, req(), 0);
    expect(out.acquired).toBe(false);
    expect(!out.acquired && out.refusal.message).toMatch(/unreadable .*in 8 reads/);
    expect(!out.acquired && out.refusal.message).not.toMatch(/vanished/);
    expect(rt.reads).toBeLessThanOrEqual(2 * LOCK_READ_ATTEMPTS + 1);
  });

  it('released between the create and the read: taken on a later try', async () => {
    const rt = new FlickeringLock(1);
    await heldBy(rt, { [LOCK_LABEL.holder]: 'host a, pid 1', [LOCK_LABEL.operation]: 'restore' });
    // the holder releases right after our first create was refused
    const create = rt.createLock.bind(rt);
    let first = true;
    rt.createLock = async (name, labels, hint) => {
      const r = await create(name, labels, hint);
      if (first) {
        first = false;
        const held = rt.containers.find((c) => c.name === NAME)!;
        await rt.removeLock(held.id);
      }
      return r;
    };
    const out = await acquireLock(rt, req(), 0);
    expect(out.acquired).toBe(true);
    const [mine] = rt.containers.filter((c) => c.name === NAME);
    expect(mine?.labels[LOCK_LABEL.operation]).toBe('restore');
    expect(mine?.labels[LOCK_LABEL.holder]).toBe('host b, pid 2');
  });
});

describe('withModuleLock: the one way an operation holds the module lock', () => {
  const released: string[] = [];
  const on = { refused: () => 'refused', released: (p: string) => released.push(p) };

  it('runs the work holding the lock, and releases it after', async () => {
    const rt = new FakeRuntime();
    let heldDuring: boolean | null = null;
    const out = await withModuleLock(
      rt,
      req(),
      0,
      async () => {
        heldDuring = (await rt.readLock(NAME)) !== null;
        return 'done';
      },
      on,
    );
    expect(out).toBe('done');
    expect(heldDuring).toBe(true);
    expect(await rt.readLock(NAME)).toBeNull();
  });

  it('a held lock: refused, and the work never runs', async () => {
    const rt = new FakeRuntime();
    await heldBy(rt, { [LOCK_LABEL.holder]: 'host a, pid 1', [LOCK_LABEL.operation]: 'upgrade' });
    let ran = false;
    const out = await withModuleLock(
      rt,
      req(),
      0,
      async () => {
        ran = true;
        return 'done';
      },
      on,
    );
    expect(out).toBe('refused');
    expect(ran).toBe(false);
    expect(await rt.readLock(NAME)).not.toBeNull();
  });

  it('work that throws still releases the lock, and the error reaches the caller', async () => {
    const rt = new FakeRuntime();
    await expect(
      withModuleLock(
        rt,
        req(),
        0,
        async () => {
          throw new Error('boom');
        },
        on,
      ),
    ).rejects.toThrow('boom');
    expect(await rt.readLock(NAME)).toBeNull();
  });

  it('a lock that cannot be released is handed to `released`, never thrown over the result', async () => {
    const rt = new FakeRuntime();
    rt.removeLock = async () => {
      throw new Error('engine gone');
    };
    released.length = 0;
    const out = await withModuleLock(rt, req(), 0, async () => 'done', on);
    expect(out).toBe('done');
    expect(released).toEqual([expect.stringMatching(/^could not release the module lock .*engine gone/)]);
  });
});
