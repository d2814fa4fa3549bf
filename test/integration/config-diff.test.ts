/**
 * Field-level config differences on the real engine (docs/architecture.md §3, "Field-level config
 * differences"), on compose v1 and v2: a service with compose's `$$` escape in its command,
 * environment, label and healthcheck, two secrets, a config, a named and an anonymous volume, and an
 * image that declares a `VOLUME`. After `up -d` it is in sync; then exactly one thing is changed in
 * the compose file and the plan's `container.config` item must name exactly that field.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fingerprint } from '../../src/drift/config-diff.js';
import { planModules } from '../../src/plan/plan.js';
import type { DriftItem } from '../../src/drift/types.js';
import { validateModules } from '../../src/model/validate.js';
import { DockerCli } from '../../src/runtime/docker-cli.js';
import { IMAGE, compose, describeDocker, docker, removeProject, uniqueProject } from '../support/docker.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';

interface Variant {
  image: string;
  x: string;
  anon: boolean;
}

function composeFile(v: Variant): string {
  return [
    'services:',
    '  app:',
    `    image: ${v.image}`,
    `    command: ["sh", "-c", "echo $$HOME; trap 'exit 0' TERM INT; while true; do sleep 1; done"]`,
    '    environment:',
    `      X: "${v.x}"`,
    '      Y: "a$$b"',
    '    labels:',
    '      io.example.escaped: "c$$d"',
    '    healthcheck:',
    '      test: ["CMD-SHELL", "test -n $$HOME"]',
    '      interval: 2s',
    '    secrets:',
    '      - pw',
    '      - source: pw',
    '        target: pw-relative',
    '    configs:',
    '      - cfg',
    '    volumes:',
    '      - named:/srv/named',
    ...(v.anon ? ['      - /srv/anon'] : []),
    'volumes:',
    '  named: {}',
    'secrets:',
    '  pw:',
    '    file: ./pw.txt',
    'configs:',
    '  cfg:',
    '    file: ./cfg.txt',
    '',
  ].join('\n');
}

describeDocker('container.config fields on the real engine name exactly what differs', () => {
  const project = uniqueProject('sgdiff');
  const rand = randomBytes(4).toString('hex');
  // One image that declares VOLUME /data, under two tags (the same image ID).
  const tagA = `sgtest-diffvol-${rand}:1.0.0`;
  const tagB = `sgtest-diffvol-${rand}:1.1.0`;
  const base: Variant = { image: tagA, x: 'one', anon: true };
  let root = '';
  let composePath = '';

  async function configItem(v: Variant): Promise<DriftItem | undefined> {
    writeFileSync(composePath, composeFile(v));
    const { loaded, problems } = await validateModules(root, 'modules/*/module.yaml', root, (t) =>
      new DockerCli().renderProject(t, { hashes: false }),
    );
    expect(problems).toEqual([]);
    const plan = await planModules(loaded.modules, new DockerCli());
    return plan.modules[0]!.drift.find((d) => d.key === 'container.config');
  }

  beforeAll(() => {
    const holder = `sgtest-diffvol-${rand}`;
    expect(docker(['create', '--name', holder, IMAGE, 'true']).status).toBe(0);
    try {
      expect(docker(['commit', '--change', 'VOLUME ["/data"]', holder, tagA]).status).toBe(0);
    } finally {
      docker(['rm', '-f', holder]);
    }
    expect(docker(['tag', tagA, tagB]).status).toBe(0);
    root = tempRepo(
      {
        'compose.yaml': composeFile(base),
        'pw.txt': 'not-a-real-password\n',
        'cfg.txt': 'setting=1\n',
        'modules/app/module.yaml': moduleYaml(
          'app',
          `  class: stateless\n  compose: { file: ../../compose.yaml, project: ${project}, service: app }\n`,
        ),
      },
      'sg-config-diff-it-',
    );
    composePath = path.join(root, 'compose.yaml');
    const up = compose([composePath], project, ['up', '-d']);
    expect(up.stderr).not.toMatch(/error/i);
    expect(up.status).toBe(0);
  }, 180_000);

  afterAll(() => {
    // `docker rm -f` (removeProject) keeps unnamed volumes: the image VOLUME's and /srv/anon.
    const ids = docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`])
      .stdout.split('\n')
      .filter(Boolean);
    const unnamed = ids.length
      ? docker(['inspect', '--format', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', ...ids])
          .stdout.split(/\s+/)
          .filter((n) => /^[0-9a-f]{64}$/.test(n))
      : [];
    removeProject(project);
    if (unnamed.length) docker(['volume', 'rm', ...unnamed]);
    docker(['rmi', tagA, tagB]);
    cleanupTempRepos();
  });

  it('right after up -d: no container.config item (the $$ values, secrets, config and image VOLUME agree)', async () => {
    expect(await configItem(base)).toBeUndefined();
  });

  it('one environment value changed: exactly that field, not command, not a secret or image VOLUME mount', async () => {
    const item = await configItem({ ...base, x: 'two' });
    expect(item?.fields).toEqual([`environment X (${fingerprint('one')} → ${fingerprint('two')})`]);
  });

  it('only the image tag changed (same image ID): the fields name the image', async () => {
    const item = await configItem({ ...base, image: tagB });
    expect(item?.fields).toEqual([`image (${tagA} → ${tagB})`]);
  });

  it('a compose-declared anonymous volume removed from the file is a true removed mount', async () => {
    const item = await configItem({ ...base, anon: false });
    expect(item?.fields).toEqual(['volumes (-/srv/anon)']);
  });
});
