/**
 * The RecordStore contract (docs/architecture.md §1): what every implementation of the role must
 * show — the simulated engine in the unit tests, and the compose (v1, v2) and Swarm adapters on a
 * real engine — so the simulation cannot drift from the engines. One set of behaviours, run by
 * test/unit/contract/record-store.test.ts, test/integration/contract-record-store.test.ts and
 * test/integration/swarm-contract-record-store.test.ts.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { JournalMark, LastKnownGood, RecordStore, RunRecord } from '../../src/ports.js';

export interface RecordStoreUnderTest {
  store: RecordStore;
  /** a local image a lock or a journal keeper may be made of */
  image: string;
  /** remove everything of the test whose project, service or key contains `token` */
  cleanup(token: string): Promise<void>;
}

function run(project: string, service: string, at: string, image = 'sha256:' + 'a'.repeat(64)): RunRecord {
  return {
    project,
    service,
    container_id: 'c'.repeat(64),
    image_id: image,
    image_ref: 'stateguard/busybox:1.0.0',
    config_hash: 'h'.repeat(64),
    label_hash: 'l'.repeat(64),
    recorded_at: at,
  };
}

function lkg(project: string, service: string, at: string, snapshot: string): LastKnownGood {
  return {
    project,
    service,
    image_id: 'sha256:' + 'b'.repeat(64),
    image_ref: 'stateguard/busybox:1.0.0',
    config_hash: 'h'.repeat(64),
    snapshot,
    recorded_at: at,
  };
}

function mark(seq: number, phase: string): JournalMark {
  return { seq, phase, at: `2026-03-01T12:00:0${seq}.000Z`, data: { record: JSON.stringify({ seq, phase }) } };
}

export function recordStoreContract(name: string, make: () => Promise<RecordStoreUnderTest>): void {
  describe(`RecordStore contract: ${name}`, () => {
    const tokens: string[] = [];
    let made: RecordStoreUnderTest | undefined;
    const subject = async (): Promise<RecordStoreUnderTest & { token: string }> => {
      made ??= await make();
      const token = `sgc${randomBytes(4).toString('hex')}`;
      tokens.push(token);
      return { ...made, token };
    };
    afterAll(async () => {
      for (const t of tokens) await made?.cleanup(t);
    });

    it('a lock is taken once: a second take of the name is refused until the first is removed', async () => {
      const { store, image, token } = await subject();
      const name = `${token}-lock`;
      const labels = { 'io.stateguard.lock': '1', 'io.stateguard.lock.holder': `contract ${token}` };
      expect(await store.readLock(name)).toBeNull();
      expect(await store.createLock(name, labels, { images: [image], project: token })).toBe(true);
      expect(await store.createLock(name, labels, { images: [image], project: token })).toBe(false);
      const held = await store.readLock(name);
      expect(held).not.toBeNull();
      expect(held!.labels).toMatchObject(labels);
      expect(held!.id).not.toBe('');
      await store.removeLock(held!.id);
      expect(await store.readLock(name)).toBeNull();
      await store.removeLock(held!.id); // already gone: not an error
      expect(await store.createLock(name, labels, { images: [image], project: token })).toBe(true);
      await store.removeLock((await store.readLock(name))!.id);
    });

    it('run records: the newest per service of the project, and nothing of another project', async () => {
      const { store, token } = await subject();
      const other = `${token}x`;
      tokens.push(other);
      expect(await store.readRunRecords(token)).toEqual([]);
      await store.writeRunRecord(run(token, 'job', '2026-03-01T12:00:00.000Z'));
      await store.writeRunRecord(run(token, 'job', '2026-03-01T13:00:00.000Z', 'sha256:' + 'd'.repeat(64)));
      await store.writeRunRecord(run(token, 'other', '2026-03-01T12:30:00.000Z'));
      await store.writeRunRecord(run(other, 'job', '2026-03-01T14:00:00.000Z'));
      const records = (await store.readRunRecords(token)).sort((a, b) => a.service.localeCompare(b.service));
      expect(records).toEqual([
        run(token, 'job', '2026-03-01T13:00:00.000Z', 'sha256:' + 'd'.repeat(64)),
        run(token, 'other', '2026-03-01T12:30:00.000Z'),
      ]);
    });

    it('last-known-good: none, then the newest written for that service only', async () => {
      const { store, token } = await subject();
      expect(await store.readLastKnownGood(token, 'db')).toBeNull();
      await store.writeLastKnownGood(lkg(token, 'db', '2026-03-01T12:00:00.000Z', 'db-20260301T120000Z.tar.gz'));
      await store.writeLastKnownGood(lkg(token, 'db', '2026-03-02T12:00:00.000Z', 'db-20260302T120000Z.tar.gz'));
      expect(await store.readLastKnownGood(token, 'db')).toEqual(
        lkg(token, 'db', '2026-03-02T12:00:00.000Z', 'db-20260302T120000Z.tar.gz'),
      );
      expect(await store.readLastKnownGood(token, 'web')).toBeNull();
    });

    it('journal marks: appended, read back in seq order, removed one by one, gone when none is left', async () => {
      const { store, image, token } = await subject();
      const key = `${token}journal`;
      expect(await store.readJournal(key)).toEqual([]);
      await store.writeJournalMark(key, mark(1, 'begun'), { image });
      await store.writeJournalMark(key, mark(2, 'snapshotted'), { image });
      await store.writeJournalMark(key, mark(3, 'staged'));
      expect(await store.readJournal(key)).toEqual([mark(1, 'begun'), mark(2, 'snapshotted'), mark(3, 'staged')]);
      await store.removeJournalMark(key, 2);
      expect((await store.readJournal(key)).map((m) => m.seq)).toEqual([1, 3]);
      await store.removeJournalMark(key, 2); // already gone: not an error
      await store.removeJournalMark(key, 1);
      await store.removeJournalMark(key, 3);
      expect(await store.readJournal(key)).toEqual([]);
    });
  });
}
