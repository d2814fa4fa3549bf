/** The RecordStore contract on the real compose adapter (run once per compose flavor). */
import { DockerCli } from '../../src/runtime/docker-cli.js';
import { recordStoreContract } from '../contract/record-store.js';
import { describeDocker, IMAGE, removeEngineObjectsMentioning } from '../support/docker.js';

describeDocker('the compose adapter', () => {
  recordStoreContract(`DockerCli (compose ${process.env.STATEGUARD_COMPOSE ?? 'default'})`, async () => ({
    store: new DockerCli(),
    image: IMAGE,
    cleanup: async (token) => removeEngineObjectsMentioning(token),
  }));
});
