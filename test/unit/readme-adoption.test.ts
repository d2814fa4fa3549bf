/**
 * The README's guide stays true to the code (docs/architecture.md §15), without an engine:
 * the commands table lists every command; the adoption section parses into steps the integration
 * test can follow, installs the asset the release workflows attach, and names placeholders the
 * shipped workflows really carry; the recipes hold what the recipes section promises; and the
 * "Compared with" section names the tools the issue asks for.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { COMMANDS } from '../../src/commands/index.js';
import { lintWorkflowBytes } from '../../src/lint/lint.js';
import { adoptionSection, adoptionSteps, readme } from '../support/readme-adoption.js';
import { REPO } from '../support/runner.js';

const README = readme();
const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };

/** The text of one `## heading` section, up to the next `## `. */
function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}\n`);
  expect(start).toBeGreaterThan(-1);
  const next = README.indexOf('\n## ', start + 1);
  return README.slice(start, next === -1 ? undefined : next);
}

describe('README commands table', () => {
  it('lists every command of the CLI (COMMANDS and completion) and nothing else', () => {
    const rows = [...section('Commands').matchAll(/^\| `stateguard ([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
    expect([...rows].sort()).toEqual([...Object.keys(COMMANDS), 'completion'].sort());
  });
});

describe('README adoption section', () => {
  const text = adoptionSection(README);
  const steps = adoptionSteps(text);

  it('is near the top: before "The flow" and the commands', () => {
    expect(README.indexOf('## Adopt stateguard in your repository')).toBeGreaterThan(-1);
    expect(README.indexOf('## Adopt stateguard in your repository')).toBeLessThan(README.indexOf('## The flow'));
    expect(README.indexOf('<!-- adoption:begin -->')).toBeGreaterThan(
      README.indexOf('## Adopt stateguard in your repository'),
    );
  });

  it('parses into files, commands and outputs, in the order of the first hour', () => {
    expect(steps.map((s) => s.kind)).toEqual(['run', 'file', 'file', 'run', 'output', 'run', 'output', 'run']);
    const commands = steps.flatMap((s) => (s.kind === 'run' ? s.commands : []));
    const order = [
      /^npm install -g https:/,
      /^stateguard validate$/,
      /^docker compose -p notes up -d/,
      /^stateguard plan$/,
      /^stateguard snapshot /,
      /^git clone /,
      /^stateguard lint-workflows$/,
    ];
    const at = order.map((re) => commands.findIndex((c) => re.test(c)));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('installs the release asset the release workflows attach, before any install by name', () => {
    const asset = `${pkg.name}-${pkg.version}.tgz`;
    expect(text).toContain(`/releases/download/v${pkg.version}/${asset}`);
    for (const wf of ['.github/workflows/release.yml', '.forgejo/workflows/release.yml']) {
      expect(readFileSync(path.join(REPO, wf), 'utf8')).toMatch(/npm pack --ignore-scripts/);
    }
    // the first install in the whole README is the tarball; installs by name are said to need publishing
    const installs = [...README.matchAll(/npm install -g (\S+)/g)].map((m) => m[1]!);
    expect(installs[0]).toMatch(/^https:\/\/.*\.tgz$/);
    for (const m of README.matchAll(/npm install -g stateguard@[^\s`]+/g)) {
      const around = README.slice(Math.max(0, m.index - 300), m.index + 300);
      expect(around).toMatch(/published/);
    }
  });

  it('the module skeleton is the compose file and a module with a data volume mounted there', () => {
    const files = Object.fromEntries(
      steps.flatMap((s) => (s.kind === 'file' ? [[s.path, parse(s.text) as Record<string, any>]] : [])),
    );
    expect(Object.keys(files)).toEqual(['compose.yaml', 'modules/notes/module.yaml']);
    const mod = files['modules/notes/module.yaml']!;
    const svc = files['compose.yaml']!.services[mod.spec.compose.service];
    expect(svc.healthcheck).toBeDefined();
    for (const v of mod.spec.data.volumes as { volume: string; path: string }[])
      expect(svc.volumes).toContain(`${v.volume}:${v.path}`);
    expect(text).toContain(`-p ${mod.spec.compose.project} up -d`);
  });

  it('every placeholder it says to edit is in the shipped workflows, and every workflow is copied', () => {
    const dir = path.join(REPO, 'workflows');
    const all = readdirSync(dir)
      .map((f) => readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');
    for (const placeholder of [
      'your-org/stateguard',
      '@0000000000000000000000000000000000000000',
      'BACKUP_ROOT: /var/backups/stateguard',
      'SNAPSHOT_DIR',
      'runs-on: [self-hosted, stateguard]',
      '[self-hosted, staging]',
      'STAGING_E2E',
      'STAGING_BASE_URL',
      'STAGING_API_TOKEN',
    ]) {
      expect({ placeholder, inReadme: text.includes(placeholder), inWorkflows: all.includes(placeholder) }).toEqual({
        placeholder,
        inReadme: true,
        inWorkflows: true,
      });
    }
    expect(text).toContain('cp ../stateguard/workflows/*.yml .github/workflows/');
  });
});

describe('database recipes', () => {
  const recipes = readdirSync(path.join(REPO, 'examples/recipes')).sort();
  const recipesText = section('Recipes: PostgreSQL, MySQL and MariaDB');

  it.each(recipes)(
    '%s: data directory and dumps as data volumes, a readiness check, secrets from files, a full version tag, a dump step',
    (name) => {
      const root = path.join(REPO, 'examples/recipes', name);
      const mod = parse(readFileSync(path.join(root, 'modules', name, 'module.yaml'), 'utf8')) as Record<string, any>;
      const compose = parse(readFileSync(path.join(root, 'compose.yaml'), 'utf8')) as Record<string, any>;
      expect(mod.spec.class).toBe('stateful');
      const svc = compose.services[mod.spec.compose.service];
      const volumes = mod.spec.data.volumes as { volume: string; path: string }[];
      expect(volumes.map((v) => v.path)).toContain('/dumps');
      expect(volumes.some((v) => v.path.startsWith('/var/lib/'))).toBe(true);
      for (const v of volumes) {
        expect(svc.volumes).toContain(`${v.volume}:${v.path}`);
        expect(Object.keys(compose.volumes)).toContain(v.volume);
      }
      expect(svc.healthcheck.test.join(' ')).toMatch(/127\.0\.0\.1|--connect/);
      expect(svc.image).toMatch(/:\d+\.\d+(\.\d+)?$/);
      // time for a clean shutdown: snapshot stops it with the container's own stop timeout
      expect(svc.stop_grace_period).toMatch(/^\d+s$/);
      expect(parseInt(svc.stop_grace_period, 10)).toBeGreaterThanOrEqual(30);
      for (const [key, value] of Object.entries(svc.environment as Record<string, string>)) {
        if (/PASSWORD/.test(key))
          expect({ key, value }).toEqual({
            key: expect.stringMatching(/_FILE$/),
            value: expect.stringMatching(/^\/run\/secrets\//),
          });
      }
      // the README's dump step for this recipe: in the service's own container, into /dumps, renamed into place
      const dump = recipesText
        .split('\n')
        .find((l) => l.includes(`docker compose -p ${mod.spec.compose.project} exec -T ${mod.spec.compose.service} `));
      expect(dump).toBeDefined();
      expect(dump).toMatch(/\/dumps\/\S+\.tmp && mv \/dumps\//);
    },
  );
});

describe("the recipes' dump steps in the shipped backup workflow", () => {
  const recipesText = section('Recipes: PostgreSQL, MySQL and MariaDB');
  const dumps = recipesText
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('docker compose -p '));

  const withStep = (module: string, line: string): Buffer => {
    const backup = readFileSync(path.join(REPO, 'workflows/backup.yml'), 'utf8');
    const anchor = '      - name: stateguard snapshot\n';
    expect(backup).toContain(anchor);
    const step = `      - name: logical dump\n        if: \${{ matrix.module == '${module}' }}\n        run: ${line}\n`;
    return Buffer.from(backup.replace(anchor, step + anchor));
  };

  it('there is one per recipe', () => {
    expect(dumps).toHaveLength(readdirSync(path.join(REPO, 'examples/recipes')).length);
  });

  it.each(dumps)('lints clean as a run: step before the snapshot: %s', async (line) => {
    const module = /^docker compose -p (\S+) /.exec(line)![1]!;
    expect(await lintWorkflowBytes(withStep(module, line), 'backup.yml')).toEqual([]);
  });

  it('the same insertion of a volume-removing step is a lint error (the check can fail)', async () => {
    const problems = await lintWorkflowBytes(withStep('postgres', 'docker compose -p postgres down -v'), 'backup.yml');
    expect(problems.map((p) => p.rule)).toContain('SG106');
  });
});

describe('README "Compared with"', () => {
  it('names the backup, upgrade and plan-comment tools and says what stateguard adds', () => {
    const text = section('Compared with');
    for (const tool of ['restic', 'borg', 'Watchtower', 'Renovate', 'dflook/terraform-github-actions', 'Atlantis'])
      expect(text).toContain(tool);
    expect(text).toMatch(/stateguard/);
  });
});
