/** The RecordStore contract on the real Swarm adapter (a single-node swarm; the lock is a docker config). */
import { SwarmCli } from '../../src/runtime/swarm-cli.js';
import { recordStoreContract } from '../contract/record-store.js';
import { IMAGE, removeEngineObjectsMentioning } from '../support/docker.js';
import { describeSwarm } from '../support/swarm.js';

describeSwarm('the Swarm adapter', () => {
  recordStoreContract('SwarmCli', async () => ({
    store: new SwarmCli(),
    image: IMAGE,
    cleanup: async (token) => removeEngineObjectsMentioning(token),
  }));
});
