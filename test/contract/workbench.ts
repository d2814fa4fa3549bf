/**
 * The Workbench contract (docs/architecture.md §1, §12): what every implementation of restore's
 * workbench must show — the simulated engine in the unit tests, and the compose adapter (v1, v2) on
 * a real engine — so the simulation that restore's and upgrade's crash tests run on
 * (test/unit/*\/crash-simulated.test.ts) cannot drift from the helper scripts that really rename.
 * One set of behaviours, run by test/unit/contract/workbench.test.ts and
 * test/integration/contract-workbench.test.ts.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { DataMount, HelperSpec, Workbench } from '../../src/ports.js';
import { dir, file, tar } from '../support/archives.js';

export interface WorkbenchUnderTest {
  bench: Workbench;
  /** a local image with a shell and the tools the helper steps use */
  helperImage: string;
  /**
   * One new volume per entry, holding those files (relative path -> content), as data mounts whose
   * declared names are `a`, `b`, … in order.
   */
  volumes(token: string, contents: ReadonlyArray<Record<string, string>>): Promise<DataMount[]>;
  /** the regular files of a mount outside its work area: relative path -> content */
  files(mount: DataMount): Promise<Record<string, string>>;
  /** remove everything of the test whose name or labels contain `token` */
  cleanup(token: string): Promise<void>;
}

const OLD_A = { 'db/t1': 'old rows\n', 'only-old': 'x\n' };
const OLD_B = { settings: 'old conf\n' };
const NEW_A = { 'db/t1': 'new rows\n', 'db/t2': 'more\n' };
const NEW_B = { settings: 'new conf\n' };

/** The re-packed tar restore stages: `<mount index>/.stateguard-restore/new/…`, directories first. */
function staged(...mounts: Array<Record<string, string>>): Buffer {
  const entries: Buffer[] = [];
  mounts.forEach((files, i) => {
    const base = `${i}/.stateguard-restore/new/`;
    const dirs = new Set<string>();
    for (const p of Object.keys(files)) {
      const parts = p.split('/').slice(0, -1);
      for (let n = 1; n <= parts.length; n++) dirs.add(parts.slice(0, n).join('/'));
    }
    for (const d of [...dirs].sort()) entries.push(dir(`${base}${d}/`));
    for (const [p, body] of Object.entries(files)) entries.push(file(`${base}${p}`, body));
  });
  return tar(...entries);
}

export function workbenchContract(name: string, make: () => Promise<WorkbenchUnderTest>): void {
  describe(`Workbench contract: ${name}`, () => {
    const tokens: string[] = [];
    let made: WorkbenchUnderTest | undefined;
    /** two mounts holding the old data, and the helper that works in them */
    const subject = async (): Promise<WorkbenchUnderTest & { helper: HelperSpec }> => {
      made ??= await make();
      const token = `sgw${randomBytes(4).toString('hex')}`;
      tokens.push(token);
      const mounts = await made.volumes(token, [OLD_A, OLD_B]);
      return { ...made, helper: { image: made.helperImage, mounts, key: `${token}${'0'.repeat(16)}` } };
    };
    afterAll(async () => {
      for (const t of tokens) await made?.cleanup(t);
    });
    const both = async (s: WorkbenchUnderTest & { helper: HelperSpec }): Promise<Record<string, string>[]> =>
      Promise.all(s.helper.mounts.map((m) => s.files(m)));

    it('prepare, stage and count: the staged data waits beside the live data, which is untouched', async () => {
      const s = await subject();
      expect(await s.bench.workAreas(s.helper)).toEqual([
        { volume: 'a', present: false, swapped: false },
        { volume: 'b', present: false, swapped: false },
      ]);
      await s.bench.prepareWorkArea(s.helper);
      await s.bench.stage(s.helper, async (write) => write(staged(NEW_A, NEW_B)));
      expect(await s.bench.countStaged(s.helper)).toEqual([
        { volume: 'a', entries: 3, files: 2, bytes: 14 },
        { volume: 'b', entries: 1, files: 1, bytes: 9 },
      ]);
      expect(await s.bench.workAreas(s.helper)).toEqual([
        { volume: 'a', present: true, swapped: false },
        { volume: 'b', present: true, swapped: false },
      ]);
      expect(await both(s)).toEqual([OLD_A, OLD_B]);
      // a second prepare over an open work area is refused, and changes nothing
      await expect(s.bench.prepareWorkArea(s.helper)).rejects.toThrow();
      expect(await s.bench.countStaged(s.helper)).toEqual([
        { volume: 'a', entries: 3, files: 2, bytes: 14 },
        { volume: 'b', entries: 1, files: 1, bytes: 9 },
      ]);
    });

    it('swap forward and revert are idempotent: run again, each says so and changes nothing', async () => {
      const s = await subject();
      await s.bench.prepareWorkArea(s.helper);
      await s.bench.stage(s.helper, async (write) => write(staged(NEW_A, NEW_B)));
      const roots = s.helper.mounts.map(() => null);
      expect((await s.bench.swap(s.helper, 'forward', roots)).map((r) => r.outcome)).toEqual([
        'forwarded',
        'forwarded',
      ]);
      expect(await both(s)).toEqual([NEW_A, NEW_B]);
      expect(await s.bench.workAreas(s.helper)).toEqual([
        { volume: 'a', present: true, swapped: true },
        { volume: 'b', present: true, swapped: true },
      ]);
      expect((await s.bench.swap(s.helper, 'forward', roots)).map((r) => r.outcome)).toEqual([
        'already-new',
        'already-new',
      ]);
      expect(await both(s)).toEqual([NEW_A, NEW_B]);
      expect((await s.bench.swap(s.helper, 'revert', roots)).map((r) => r.outcome)).toEqual(['reverted', 'reverted']);
      expect(await both(s)).toEqual([OLD_A, OLD_B]);
      expect((await s.bench.swap(s.helper, 'revert', roots)).map((r) => r.outcome)).toEqual([
        'already-old',
        'already-old',
      ]);
      expect(await both(s)).toEqual([OLD_A, OLD_B]);
      // and forward again after a revert: the staged data goes live once more
      expect((await s.bench.swap(s.helper, 'forward', roots)).map((r) => r.outcome)).toEqual([
        'forwarded',
        'forwarded',
      ]);
      expect(await both(s)).toEqual([NEW_A, NEW_B]);
    });

    it('after the drop only the live data is left; a swap then finds no work area and changes nothing', async () => {
      const s = await subject();
      await s.bench.prepareWorkArea(s.helper);
      await s.bench.stage(s.helper, async (write) => write(staged(NEW_A, NEW_B)));
      const roots = s.helper.mounts.map(() => null);
      await s.bench.swap(s.helper, 'forward', roots);
      await s.bench.dropWorkArea(s.helper);
      expect(await s.bench.workAreas(s.helper)).toEqual([
        { volume: 'a', present: false, swapped: false },
        { volume: 'b', present: false, swapped: false },
      ]);
      expect(await both(s)).toEqual([NEW_A, NEW_B]);
      for (const direction of ['revert', 'forward'] as const) {
        expect((await s.bench.swap(s.helper, direction, roots)).map((r) => r.outcome)).toEqual([
          'no-work-area',
          'no-work-area',
        ]);
        expect(await both(s)).toEqual([NEW_A, NEW_B]);
      }
      await s.bench.dropWorkArea(s.helper); // nothing to drop: not an error
    });

    it('a revert before the swap drops only the staged data: the old data was never moved', async () => {
      const s = await subject();
      await s.bench.prepareWorkArea(s.helper);
      await s.bench.stage(s.helper, async (write) => write(staged(NEW_A, NEW_B)));
      const roots = s.helper.mounts.map(() => null);
      expect((await s.bench.swap(s.helper, 'revert', roots)).map((r) => r.outcome)).toEqual([
        'already-old',
        'already-old',
      ]);
      await s.bench.dropWorkArea(s.helper);
      expect(await both(s)).toEqual([OLD_A, OLD_B]);
      expect((await s.bench.workAreas(s.helper)).every((w) => !w.present)).toBe(true);
    });
  });
}
