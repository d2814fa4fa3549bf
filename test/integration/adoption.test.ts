/**
 * README "Adopt stateguard in your repository", followed as written (docs/architecture.md §15): the
 * blocks between the adoption markers are run in order in an empty temporary repository, with the
 * package installed from `npm pack` of this checkout (its committed or freshly built dist/).
 *
 * Substitutions, each unavoidable and each found in the README exactly (else the test fails):
 * - the release URL of the tarball → the tarball `npm pack` just wrote (no network);
 * - `git clone … ../stateguard` → a copy of this checkout's workflows/ into ../stateguard (no network);
 * - the project name `notes` (`project: notes`, `-p notes`) → a unique name per run, so parallel
 *   runs on the shared engine never meet (the output is compared with it put back);
 * - the backup root `/var/backups/stateguard` → a directory in the temporary tree (put back in the
 *   output too).
 * Not text substitutions: `npm install -g` installs into a temporary prefix (npm_config_prefix) from
 * an empty cache, offline; and an image the skeleton names that is not on the engine is made by
 * `docker tag` of the local stateguard/busybox:1.0.0 (a busybox rootfs, so the skeleton's shell
 * command runs the same) and untagged after; nothing is ever pulled.
 *
 * Compose v2 only: the README's commands call `docker compose` (v2), and stateguard must plan with the
 * compose that started the containers (a v1 plan of v2 containers is `reason: compose-version`).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { describeDocker, docker, IMAGE, removeProject, uniqueProject } from '../support/docker.js';
import { adoptionSection, adoptionSteps, readme, type AdoptionStep } from '../support/readme-adoption.js';
import { REPO } from '../support/runner.js';

const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };
const RELEASE_URL = `https://github.com/<owner>/stateguard/releases/download/v${pkg.version}/${pkg.name}-${pkg.version}.tgz`;
const CLONE = `git clone --depth 1 --branch v${pkg.version} https://github.com/<owner>/stateguard.git ../stateguard`;
const README_PROJECT = 'notes';
const README_BACKUP_ROOT = '/var/backups/stateguard';

let tmp = '';
let repoDir = '';
let project = '';
let tgz = '';
const taggedImages: string[] = [];

/** Replace `from` with `to` in `text`, failing when the README no longer says `from`. */
function substitute(text: string, from: string, to: string, seen: Set<string>): string {
  if (text.includes(from)) seen.add(from);
  return text.split(from).join(to);
}

function normalise(text: string): string {
  return text
    .replace(/\b\d{8}T\d{6}Z\b/g, '<stamp>')
    .replace(/\b(sha256:)?[0-9a-f]{64}\b/g, '<hash>')
    .replace(/compose v2 \d+\.\d+\.\d+[^;\s]*/g, 'compose v2 <version>')
    .replace(/[ \t]+$/gm, '');
}

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'sg-adopt-'));
  repoDir = path.join(tmp, 'repo');
  mkdirSync(repoDir);
  project = uniqueProject('sgadopt');
  // --ignore-scripts: pack what is built, as the release does; no network.
  const p = spawnSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', tmp], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 90_000,
  });
  expect(p.status).toBe(0);
  tgz = path.join(tmp, p.stdout.trim().split('\n').pop()!);
  expect(existsSync(tgz)).toBe(true);
});

afterAll(() => {
  if (project) removeProject(project);
  for (const image of taggedImages) docker(['rmi', image]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// jest.config.js runs this file in the compose-v2 project only: the README's `docker compose` is v2 (see the header)
describeDocker('README adoption section, followed in a temporary repository', () => {
  it('installs from the packed tarball, and validate, up, plan (in sync, as shown), snapshot and lint-workflows all succeed', () => {
    const seen = new Set<string>();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${path.join(tmp, 'npm-global', 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
      npm_config_prefix: path.join(tmp, 'npm-global'),
      npm_config_cache: path.join(tmp, 'npm-cache'),
      npm_config_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
    };
    const steps: AdoptionStep[] = adoptionSteps(adoptionSection(readme()));
    expect(steps.filter((s) => s.kind === 'file').map((s) => (s as { path: string }).path)).toEqual([
      'compose.yaml',
      'modules/notes/module.yaml',
    ]);

    let lastCommand = '';
    let lastStdout = '';
    const ran: string[] = [];
    for (const step of steps) {
      if (step.kind === 'file') {
        const text = substitute(step.text, `project: ${README_PROJECT}`, `project: ${project}`, seen);
        const file = path.join(repoDir, step.path);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, text);
        // the images the skeleton names: made locally when absent, never pulled
        const doc = parse(text) as { services?: Record<string, { image?: string }> };
        for (const svc of Object.values(doc.services ?? {})) {
          if (svc.image && docker(['image', 'inspect', svc.image]).status !== 0) {
            expect(docker(['tag', IMAGE, svc.image]).status).toBe(0);
            taggedImages.push(svc.image);
          }
        }
      } else if (step.kind === 'run') {
        for (const written of step.commands) {
          let cmd = substitute(written, RELEASE_URL, tgz, seen);
          // the clone: this checkout's workflows in a one-commit repository (the README pins to its HEAD)
          cmd = substitute(
            cmd,
            CLONE,
            `mkdir -p ../stateguard && cp -R ${JSON.stringify(path.join(REPO, 'workflows'))} ../stateguard/workflows && ` +
              'git -C ../stateguard init -q && git -C ../stateguard add . && ' +
              'git -C ../stateguard -c user.name=t -c user.email=t@example.invalid commit -qm release',
            seen,
          );
          cmd = substitute(cmd, `-p ${README_PROJECT} `, `-p ${project} `, seen);
          cmd = substitute(cmd, README_BACKUP_ROOT, path.join(tmp, 'backups'), seen);
          const r = spawnSync('bash', ['-o', 'pipefail', '-c', cmd], {
            cwd: repoDir,
            env,
            encoding: 'utf8',
            timeout: 180_000,
          });
          if (r.status !== 0)
            throw new Error(`README command failed (exit ${r.status}): ${written}\n${r.stdout}\n${r.stderr}`);
          lastCommand = written;
          lastStdout = r.stdout;
          ran.push(written);
        }
      } else {
        const actual = lastStdout
          .split(path.join(tmp, 'backups'))
          .join(README_BACKUP_ROOT)
          .split(project)
          .join(README_PROJECT);
        expect({ command: lastCommand, output: normalise(actual).trimEnd() }).toEqual({
          command: lastCommand,
          output: normalise(step.text),
        });
      }
    }

    // every substitution the header declares was needed: the README still says each of them
    expect([...seen].sort()).toEqual(
      [RELEASE_URL, CLONE, `project: ${README_PROJECT}`, `-p ${README_PROJECT} `, README_BACKUP_ROOT].sort(),
    );
    // the section covers the first hour: install, validate, up, plan, snapshot, workflows
    for (const want of [
      /^npm install -g /,
      /^stateguard validate/,
      /^docker compose -p \S+ up -d/,
      /^stateguard plan/,
      /^stateguard snapshot /,
      /^cp .*workflows/,
      /^stateguard lint-workflows/,
    ]) {
      expect(ran.some((c) => want.test(c))).toBe(true);
    }
    // what the README's commands produced, checked beyond their exit codes
    const bin = path.join(tmp, 'npm-global', 'bin', 'stateguard');
    const plan = spawnSync(bin, ['plan', '--json'], { cwd: repoDir, env, encoding: 'utf8', timeout: 120_000 });
    expect(plan.status).toBe(0);
    const doc = JSON.parse(plan.stdout) as {
      modules: { name: string; in_sync: boolean; compose: { project: string } }[];
    };
    expect(doc.modules.map((m) => [m.name, m.in_sync, m.compose.project])).toEqual([['notes', true, project]]);
    const backups = readdirSync(path.join(tmp, 'backups'));
    expect(backups).toHaveLength(2);
    const archive = backups.find((f) => f.endsWith('.tar.gz'))!;
    const verify = spawnSync(
      bin,
      [
        'verify-backup',
        '--module',
        'notes',
        '--backup-root',
        path.join(tmp, 'backups'),
        '--backup-ref',
        path.join(tmp, 'backups', archive),
      ],
      {
        cwd: repoDir,
        env,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(verify.status).toBe(0);
    expect(readdirSync(path.join(repoDir, '.github', 'workflows')).sort()).toEqual(
      readdirSync(path.join(REPO, 'workflows')).sort(),
    );
  });
});
