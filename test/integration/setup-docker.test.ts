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

  it('leaves both compose flavors answering: the v2 plugin (docker compose) beside v1 (docker-compose)', () => {
    // Runs after the setup above. A flavor that does not answer fails here, never skips: the
    // integration suites run against whichever flavor STATEGUARD_COMPOSE selects, so both must exist.
    const v2 = docker(['compose', 'version', '--short']);
    expect({ status: v2.status, stderr: v2.stderr }).toEqual({ status: 0, stderr: '' });
    expect(v2.stdout.trim()).toMatch(/^v?2\.\d+\.\d+/);
    const v1 = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8', timeout: 60_000 });
    expect(v1.status).toBe(0);
    expect(v1.stdout.trim()).toMatch(/^1\.\d+\.\d+/);
  });

  it('prints both compose versions when it is done', () => {
    const r = spawnSync('bash', [path.join(REPO, 'scripts/setup-docker.sh')], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/compose v2: docker compose v?2\.\d+\.\d+/);
    expect(r.stdout).toMatch(/compose v1: docker-compose 1\.\d+\.\d+/);
  });

  it('builds a no-shell image too (for probes that must not need a shell)', () => {
    const noShell = docker(['run', '--rm', NOSHELL_IMAGE, 'sh', '-c', 'true']);
    expect(noShell.status).not.toBe(0);
    expect(docker(['run', '--rm', NOSHELL_IMAGE, '/bin/busybox', 'true']).status).toBe(0);
  });
});
