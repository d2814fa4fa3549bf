/**
 * Runs a committed action bundle exactly as a GitHub/Forgejo runner does: node on
 * dist/actions/<name>.js, INPUT_* variables from action.yml's defaults plus the test's values
 * (upper-cased, hyphens kept), and GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_EVENT_PATH files.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

export const REPO = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../..');

/**
 * The built CLI (dist/cli.js) in a child process, as the crash tests need it: killed by the
 * STATEGUARD_TEST_KILL_AT seam, or with SIGKILL after `killAfterMs`.
 */
export function childCli(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  killAfterMs?: number,
): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO, 'dist', 'cli.js'), ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.resume();
    const timer = killAfterMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), killAfterMs) : undefined;
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout });
    });
  });
}

export interface ActionRun {
  status: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

/** Parse the GITHUB_OUTPUT file (`name=value` lines and `name<<DELIM` heredocs). */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const here = /^([^=<]+)<<(.+)$/.exec(line);
    if (here) {
      const [, name, delim] = here;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i]!);
      out[name!] = value.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

export function actionDefaults(actionYmlPath: string): Record<string, string> {
  const doc = parse(readFileSync(actionYmlPath, 'utf8')) as { inputs?: Record<string, { default?: string }> };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc.inputs ?? {})) if (v.default !== undefined) out[k] = String(v.default);
  return out;
}

export function runActionBundle(
  /** an action's name, or 'root' for the root action */
  name: string,
  inputs: Record<string, string>,
  opts: { cwd?: string; env?: Record<string, string>; event?: unknown; eventName?: string; timeoutMs?: number } = {},
): ActionRun {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-runner-'));
  try {
    const outputFile = path.join(dir, 'output');
    const summaryFile = path.join(dir, 'summary');
    const eventFile = path.join(dir, 'event.json');
    writeFileSync(outputFile, '');
    writeFileSync(summaryFile, '');
    writeFileSync(eventFile, JSON.stringify(opts.event ?? {}));
    const actionYml = name === 'root' ? path.join(REPO, 'action.yml') : path.join(REPO, 'actions', name, 'action.yml');
    const all = { ...actionDefaults(actionYml), ...inputs };
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      GITHUB_ACTIONS: 'true',
      CI: 'true',
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_EVENT_PATH: eventFile,
      GITHUB_EVENT_NAME: opts.eventName ?? 'workflow_dispatch',
      GITHUB_WORKSPACE: opts.cwd ?? REPO,
      RUNNER_TEMP: dir,
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      ...opts.env,
    };
    for (const [k, v] of Object.entries(all)) {
      // The runner's rule: INPUT_ + name upper-cased, spaces to underscores, hyphens kept.
      env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v.replace('${{ github.token }}', 'gh-test-token');
    }
    const entry = name === 'root' ? 'root' : name;
    const r = spawnSync(process.execPath, [path.join(REPO, 'dist', 'actions', `${entry}.js`)], {
      cwd: opts.cwd ?? REPO,
      env,
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 120_000,
    });
    return {
      status: r.status ?? 1,
      stdout: r.stdout ?? '',
      stderr: r.stderr ?? '',
      outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
      summary: readFileSync(summaryFile, 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
