/** The RecordStore contract on the simulated engine (the one the unit tests use everywhere). */
import { recordStoreContract } from '../../contract/record-store.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

recordStoreContract('the simulated engine (test/support/fake-runtime.ts)', async () => ({
  store: new FakeRuntime(),
  image: 'stateguard/busybox:1.0.0',
  cleanup: async () => undefined,
}));
