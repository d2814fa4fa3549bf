import { expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { IMAGE, NOSHELL_IMAGE, describeDocker, docker } from '../support/docker.js';
import { REPO } from '../support/runner.js';

describeDocker('scripts/setup-docker.sh', () => {
  it('is idempotent and leaves a working engine and images', () => {
    const r = spawnSync('bash', [path.join(REPO, 'scripts/setup-docker.sh')], { encoding: 'utf8', timeout: 300_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // A second run with everything in place only checks.
    expect(r.stdout).toContain('engine answers');
    expect(r.stdout).toMatch(/images .* present|built images/);
    expect(docker(['run', '--rm', IMAGE, 'true']).status).toBe(0);
    expect(docker(['run', '--rm', IMAGE, 'sh', '-c', 'echo $((6*7))']).stdout.trim()).toBe('42');
  });

  it('builds a no-shell image too (for probes that must not need a shell)', () => {
    const noShell = docker(['run', '--rm', NOSHELL_IMAGE, 'sh', '-c', 'true']);
    expect(noShell.status).not.toBe(0);
    expect(docker(['run', '--rm', NOSHELL_IMAGE, '/bin/busybox', 'true']).status).toBe(0);
  });
});
