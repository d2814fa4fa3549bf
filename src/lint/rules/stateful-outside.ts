/**
 * SG109 stateful-change-outside-stateguard (docs/rules.md SG109, docs/architecture.md §9): with
 * modules/ present, a `run:` that pulls or (re)creates a stateful module's service with compose
 * (`docker compose pull|up`, `docker-compose pull|up`) or redeploys its stack (`docker stack deploy`)
 * changes stateful data outside stateguard's guarded path (no guard, no verified backup, no consent).
 * Which module a command touches is read from its words: services named (none: all of them), the
 * project (`-p`, `COMPOSE_PROJECT_NAME`) or else the compose files (`-f`, else the working directory's
 * default file). A word given by a variable may be anything: it counts as touching (fail closed).
 */
import path from 'node:path';
import { commandsOf } from '../shell.js';
import type { Report, RunSite } from './context.js';
import type { LintModule, RepoModules } from './modules.js';

/** Compose global options that take a value (v2 and v1). */
const COMPOSE_VALUE = new Set([
  '-f',
  '--file',
  '-p',
  '--project-name',
  '--project-directory',
  '--env-file',
  '--profile',
  '--ansi',
  '--parallel',
  '--progress',
  '-c',
  '--context',
  '-H',
  '--host',
  '--log-level',
]);
/** Options of `up`/`pull` that take a value. */
const SUB_VALUE = new Set([
  '--scale',
  '-t',
  '--timeout',
  '--exit-code-from',
  '--attach',
  '--no-attach',
  '--pull',
  '--wait-timeout',
  '--policy',
]);
const DOCKER_VALUE = new Set(['-c', '--context', '-H', '--host', '--config', '-l', '--log-level']);
const CHANGING = new Set(['up', 'pull']);

const unknown = (w: string): boolean => w.includes('$');

interface ComposeCall {
  kind: 'compose';
  sub: string;
  files: string[];
  project?: string;
  projectDirectory?: string;
  services: string[];
}
interface StackCall {
  kind: 'stack';
  stack: string | undefined;
}

function optionValue(words: readonly string[], i: number, names: readonly string[]): [string, number] | undefined {
  const w = words[i]!;
  for (const n of names) {
    if (w === n) return [words[i + 1] ?? '', 2];
    if (n.startsWith('--') && w.startsWith(n + '=')) return [w.slice(n.length + 1), 1];
    if (!n.startsWith('--') && w.startsWith(n) && w.length > n.length) return [w.slice(n.length), 1];
  }
  return undefined;
}

/** A compose `up`/`pull` or a `docker stack deploy`, read from a command's words. */
export function statefulCall(argv: readonly { text: string }[]): ComposeCall | StackCall | undefined {
  const words = argv.map((w) => w.text);
  const prog = words[0]!.slice(words[0]!.lastIndexOf('/') + 1).toLowerCase();
  let i: number;
  if (prog === 'docker-compose') i = 1;
  else if (prog === 'docker') {
    i = 1;
    while (i < words.length && words[i]!.startsWith('-')) i += DOCKER_VALUE.has(words[i]!) ? 2 : 1;
    if (words[i] === 'stack' && words[i + 1] === 'deploy') {
      const positional: string[] = [];
      for (let j = i + 2; j < words.length; j++) {
        const w = words[j]!;
        if (w.startsWith('-')) {
          if (['-c', '--compose-file', '--resolve-image', '--prune-only'].includes(w)) j++;
          continue;
        }
        positional.push(w);
      }
      return { kind: 'stack', stack: positional[positional.length - 1] };
    }
    if (words[i] !== 'compose') return undefined;
    i++;
  } else return undefined;
  const call: ComposeCall = { kind: 'compose', sub: '', files: [], services: [] };
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (!call.sub) {
      if (!w.startsWith('-')) {
        call.sub = w;
        continue;
      }
      const f = optionValue(words, i, ['-f', '--file']);
      const p = optionValue(words, i, ['-p', '--project-name']);
      const d = optionValue(words, i, ['--project-directory']);
      if (f) call.files.push(f[0]);
      else if (p) call.project = p[0];
      else if (d) call.projectDirectory = d[0];
      if (f || p || d) i += (f ?? p ?? d)![1] - 1;
      else if (COMPOSE_VALUE.has(w)) i++;
      continue;
    }
    if (w.startsWith('-')) {
      if (SUB_VALUE.has(w)) i++;
      continue;
    }
    call.services.push(w);
  }
  return CHANGING.has(call.sub) ? call : undefined;
}

/** The stateful modules a call touches. */
function touched(
  call: ComposeCall | StackCall,
  site: RunSite,
  root: string,
  modules: readonly LintModule[],
): LintModule[] {
  const stateful = modules.filter((m) => m.stateful);
  if (call.kind === 'stack')
    return stateful.filter(
      (m) => m.runtime === 'swarm' && (call.stack === undefined || unknown(call.stack) || call.stack === m.project),
    );
  const project = call.project ?? site.env.get('COMPOSE_PROJECT_NAME');
  const dir =
    site.workingDirectory === undefined
      ? undefined
      : path.resolve(root, site.workingDirectory, call.projectDirectory ?? '');
  return stateful.filter((m) => {
    if (m.runtime !== 'compose') return false;
    const services = call.services.length === 0 || call.services.some(unknown) || call.services.includes(m.service);
    if (!services) return false;
    if (project !== undefined) return unknown(project) || project === m.project;
    if (dir === undefined || (call.projectDirectory !== undefined && unknown(call.projectDirectory))) return true;
    if (call.files.length === 0) return path.dirname(m.composePath) === dir;
    return call.files.some((f) => unknown(f) || path.resolve(dir, f) === m.composePath);
  });
}

export function checkStatefulOutside(
  root: string,
  modules: RepoModules,
  triggers: readonly string[],
  sites: readonly RunSite[],
  report: Report,
): void {
  if (!modules.modules.some((m) => m.stateful)) return;
  for (const site of sites) {
    if (!/docker/.test(site.run) && ![...site.env.values()].some((v) => /docker/.test(v))) continue;
    for (const c of commandsOf(site.run, site.env)) {
      const call = statefulCall(c.argv);
      if (!call) continue;
      const hit = touched(call, site, root, modules.modules);
      if (hit.length === 0) continue;
      const first = c.argv[0]!;
      report(
        'SG109',
        site.at(first.start, first.text),
        `'${c.argv.map((w) => w.text).join(' ')}' in ${site.where} ${
          call.kind === 'stack' ? 'redeploys' : call.sub === 'pull' ? 'pulls a new image for' : 'recreates'
        } the service of stateful module${hit.length > 1 ? 's' : ''} ${hit
          .map((m) => `'${m.name}' (${m.service})`)
          .join(', ')} outside stateguard (this workflow runs on ${
          triggers.length > 0 ? triggers.join(', ') : 'no trigger'
        }): no guard, no verified backup, no consent; change it with stateguard upgrade or apply from a ` +
          `workflow_dispatch workflow, or leave the stateful service${hit.length > 1 ? 's' : ''} out of this command`,
      );
    }
  }
}
