import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
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

// --swarm-leave against a stub `docker` on PATH (it logs its arguments; the swarm state comes from
// the stub's state file): the real engine's swarm is never touched by these tests.
describe('scripts/setup-docker.sh --swarm-leave (stub docker)', () => {
  const run = (state: string, marker: string | null, cluster = 'ours', gwbridgeBusy = 0) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-swarm-stub-'));
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(path.join(dir, 'state'), state);
    writeFileSync(path.join(dir, 'busy'), String(gwbridgeBusy));
    writeFileSync(
      path.join(bin, 'docker'),
      [
        '#!/usr/bin/env bash',
        `d=${dir}`,
        'echo "$*" >>"$d/log"',
        'case "$*" in',
        '  "info") exit 0 ;;',
        '  *LocalNodeState*) cat "$d/state" ;;',
        `  *Cluster.ID*) [ "$(cat "$d/state")" = inactive ] || echo ${cluster} ;;`,
        '  "swarm leave --force") echo inactive >"$d/state" ;;',
        '  "network inspect docker_gwbridge") [ -f "$d/gw-removed" ] && exit 1; exit 0 ;;',
        '  "network rm docker_gwbridge") n=$(cat "$d/busy"); if [ "$n" -gt 0 ]; then echo $((n-1)) >"$d/busy"; exit 1; fi; touch "$d/gw-removed" ;;',
        '  *) echo "unexpected: $*" >&2; exit 9 ;;',
        'esac',
      ].join('\n'),
      { mode: 0o755 },
    );
    const stateDir = path.join(dir, 'state-dir');
    mkdirSync(stateDir);
    if (marker !== null) writeFileSync(path.join(stateDir, 'swarm-initialised'), marker);
    const r = spawnSync('bash', [path.join(REPO, 'scripts/setup-docker.sh'), '--swarm-leave'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, STATEGUARD_STATE_DIR: stateDir },
    });
    const log = existsSync(path.join(dir, 'log')) ? readFileSync(path.join(dir, 'log'), 'utf8') : '';
    const markerLeft = existsSync(path.join(stateDir, 'swarm-initialised'));
    rmSync(dir, { recursive: true, force: true });
    return { ...r, log, markerLeft };
  };

  it('without the marker does nothing and says so', () => {
    const r = run('active', null);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('no marker');
    expect(r.log).toBe('');
  });

  it('with the marker of this swarm leaves it, removes docker_gwbridge (retrying while busy) and the marker', () => {
    const r = run('active', 'ours\n', 'ours', 2);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.log).toContain('swarm leave --force');
    expect(r.log.match(/network rm docker_gwbridge/g)).toHaveLength(3);
    expect(r.markerLeft).toBe(false);
  });

  it('never leaves another swarm than the one the marker names', () => {
    const r = run('active', 'ours\n', 'theirs');
    expect(r.status).toBe(0);
    expect(r.log).not.toContain('swarm leave');
    expect(r.stdout).toContain('not leaving it');
    expect(r.markerLeft).toBe(false);
  });

  it('keeps the marker and fails when docker_gwbridge stays busy (bounded)', () => {
    const r = run('active', 'ours\n', 'ours', 100);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('docker_gwbridge');
    expect(r.markerLeft).toBe(true);
  });

  it('rejects unknown arguments', () => {
    const r = spawnSync('bash', [path.join(REPO, 'scripts/setup-docker.sh'), '--nope'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("unknown argument '--nope'");
  });
});
