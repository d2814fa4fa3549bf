/** Temporary platform repos built from strings, removed after each test file. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const made: string[] = [];

/** Write `files` (relative path -> content) under a fresh temp dir and return its path. */
export function tempRepo(files: Record<string, string | Buffer>, prefix = 'sg-repo-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(dir);
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  return dir;
}

export function cleanupTempRepos(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export const BASIC_COMPOSE = `services:
  db:
    image: stateguard/busybox:1.0.0
    volumes:
      - db-data:/var/lib/db
  db-init:
    image: stateguard/busybox:1.0.0
    restart: "no"
  web:
    image: stateguard/busybox:1.0.0
    restart: always
volumes:
  db-data: {}
`;

export function moduleYaml(name: string, spec: string): string {
  return `apiVersion: stateguard/v1\nkind: Module\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
}

export const DB_MODULE = moduleYaml(
  'db',
  `  class: stateful
  compose: { file: ../../compose.yaml, project: p, service: db }
  backup: { ref_modules: [db], max_age_hours: 24 }
  data:
    volumes:
      - { volume: db-data, path: /var/lib/db }
`,
);
