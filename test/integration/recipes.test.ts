/**
 * The database recipes of the README (examples/recipes/<name>/, docs/architecture.md §15) pass
 * `stateguard validate` (the built dist/cli.js) as compose v1 and v2 render them. validate needs
 * compose, never an engine: it runs here with DOCKER_HOST pointing at nothing, so it cannot have
 * pulled an image; and where the test's engine answers, no recipe image appears on it.
 * A recipe whose dump volume is no longer mounted is refused, so the check can fail.
 */
import { afterAll, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { describeDocker, docker, testFlavor } from '../support/docker.js';
import { REPO } from '../support/runner.js';

const RECIPES = path.join(REPO, 'examples/recipes');
const NAMES = readdirSync(RECIPES).sort();
const NO_ENGINE = 'unix:///nonexistent/stateguard-recipes-test/docker.sock';
const made: string[] = [];

afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function validate(root: string): {
  status: number | null;
  doc: { valid: boolean; modules: string[]; errors: { message: string }[] };
} {
  const r = spawnSync(process.execPath, [path.join(REPO, 'dist/cli.js'), 'validate', '--root', root, '--json'], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, DOCKER_HOST: NO_ENGINE, DOCKER_CONTEXT: '' },
  });
  return {
    status: r.status,
    doc: JSON.parse(r.stdout) as { valid: boolean; modules: string[]; errors: { message: string }[] },
  };
}

function images(name: string): string[] {
  const compose = parse(readFileSync(path.join(RECIPES, name, 'compose.yaml'), 'utf8')) as {
    services: Record<string, { image: string }>;
  };
  return Object.values(compose.services).map((s) => s.image);
}

describeDocker(`database recipes validate on compose ${testFlavor()}`, () => {
  it('there are the PostgreSQL, MySQL and MariaDB recipes', () => {
    expect(NAMES).toEqual(['mariadb', 'mysql', 'postgres']);
  });

  it.each(NAMES)('%s: valid, without an engine, nothing pulled', (name) => {
    const before = images(name).filter((i) => docker(['image', 'inspect', i]).status === 0);
    const { status, doc } = validate(path.join(RECIPES, name));
    expect(doc.errors).toEqual([]);
    expect(doc).toMatchObject({ valid: true, modules: [name] });
    expect(status).toBe(0);
    expect(images(name).filter((i) => docker(['image', 'inspect', i]).status === 0)).toEqual(before);
  });

  it.each(NAMES)('%s: without its dump volume mounted, validate refuses it', (name) => {
    const root = mkdtempSync(path.join(tmpdir(), 'sg-recipe-'));
    made.push(root);
    cpSync(path.join(RECIPES, name), root, { recursive: true });
    const file = path.join(root, 'compose.yaml');
    const text = readFileSync(file, 'utf8');
    const mount = /^ {6}- ([a-z]+-dumps):\/dumps\n/m.exec(text);
    expect(mount).not.toBeNull();
    writeFileSync(file, text.replace(mount![0], ''));
    const { status, doc } = validate(root);
    expect(doc.valid).toBe(false);
    expect(doc.errors.map((e) => e.message).join('\n')).toContain('/dumps');
    expect(status).toBe(1);
  });
});
