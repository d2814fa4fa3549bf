import { afterAll, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IMAGE, docker } from '../support/docker.js';
import { deployStack, describeSwarm, removeStack, stackLeftovers, uniqueStack, waitFor } from '../support/swarm.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-swarm-setup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeSwarm('swarm project setup', () => {
  it('runs on a swarm manager (globalSetup made the engine one, or it already was)', () => {
    const r = docker(['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('active true');
  });

  it('removeStack leaves nothing of a deployed stack (service, task containers, volume, network)', async () => {
    const stack = uniqueStack();
    const file = path.join(dir, `${stack}.yml`);
    writeFileSync(
      file,
      [
        "version: '3.8'",
        'services:',
        '  app:',
        `    image: ${IMAGE}`,
        '    command: ["sleep", "600"]',
        '    volumes:',
        '      - data:/data',
        'volumes:',
        '  data: {}',
        '',
      ].join('\n'),
    );
    try {
      deployStack(file, stack);
      const ns = `label=com.docker.stack.namespace=${stack}`;
      // the task is running and its named volume exists before the removal is checked
      const up = await waitFor(
        () =>
          docker(['ps', '-q', '--filter', ns]).stdout.trim() !== '' &&
          docker(['volume', 'ls', '-q', '--filter', ns]).stdout.trim() !== '',
        60_000,
      );
      expect(up).toBe(true);
      expect(stackLeftovers(stack).networks.length).toBeGreaterThan(0);
    } finally {
      await removeStack(stack);
    }
    expect(stackLeftovers(stack)).toEqual({ services: [], containers: [], volumes: [], networks: [], configs: [] });
    expect(docker(['volume', 'ls', '-q', '--filter', `name=${stack}_`]).stdout.trim()).toBe('');
    expect(docker(['network', 'ls', '-q', '--filter', `name=${stack}_`]).stdout.trim()).toBe('');
  });
});
