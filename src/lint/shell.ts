/**
 * Reading a workflow's `run:` scripts for the rules (docs/rules.md): the simple commands a shell
 * would run — after `A=b` variables holding a command (`DC="docker compose"; $DC down -v`),
 * `sudo`/`env`/`if`… prefixes and `bash -c '…'` — and, per command, whether it calls stateguard's
 * CLI, destroys volumes, or dispatches a workflow with consent filled in. Words come from
 * splitShellScript() (src/probe/shell-words.ts), which never throws. Pure: no I/O.
 */
import { splitShellScript, type ScriptWord } from '../probe/shell-words.js';

export interface Command {
  argv: ScriptWord[];
}

/** Words before the program that do not change which program runs. */
const KEYWORDS = new Set([
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'do',
  'done',
  'while',
  'until',
  '!',
  '{',
  '}',
  'time',
  'exec',
  'nohup',
  'command',
  'builtin',
  'nice',
  'xargs',
  'stdbuf',
  'timeout',
]);
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash']);
const MAX_NESTING = 8;

const basename = (p: string): string => p.slice(p.lastIndexOf('/') + 1).toLowerCase();

/**
 * The simple commands of a script. `env` holds literal values of the step's `env:` (a value with an
 * expression is unknown). Only a variable that is the whole program word is expanded: that is how
 * a command hides in one; other words keep their `$NAME` text.
 */
export function commandsOf(script: string, env: ReadonlyMap<string, string>, base = 0, depth = 0): Command[] {
  const vars = new Map(env);
  const out: Command[] = [];
  for (const c of splitShellScript(script)) {
    if (c.words.length === 0) {
      for (const a of c.assignments) vars.set(a.name, a.value);
      continue;
    }
    let argv = c.words.map((w) => (base ? { ...w, start: w.start + base } : w));
    const first = argv[0]!;
    if (first.bareVar !== undefined && vars.has(first.bareVar)) {
      const value = vars.get(first.bareVar)!;
      const expanded = value
        .split(/\s+/)
        .filter(Boolean)
        .map((text) => ({ text, start: first.start, quoted: false, vars: [] as string[] }));
      argv = [...expanded, ...argv.slice(1)];
    }
    argv = stripPrefixes(argv);
    if (argv.length === 0) continue;
    out.push({ argv });
    // `bash -c 'script'`, `eval "…"`: the string is a script too.
    if (depth < MAX_NESTING) {
      const prog = basename(argv[0]!.text);
      if (SHELLS.has(prog)) {
        const ci = argv.findIndex((w, i) => i > 0 && /^-[a-z]*c[a-z]*$/i.test(w.text));
        const body = ci > 0 ? argv[ci + 1] : undefined;
        if (body) out.push(...commandsOf(body.text, vars, body.start + 1, depth + 1));
      } else if (prog === 'eval' && argv.length > 1) {
        out.push(
          ...commandsOf(
            argv
              .slice(1)
              .map((w) => w.text)
              .join(' '),
            vars,
            argv[1]!.start,
            depth + 1,
          ),
        );
      }
    }
  }
  return out;
}

/** Builtins whose `NAME=value` arguments assign a variable (`export CONFIRM="$B"`). */
const DECLARE = new Set(['export', 'local', 'declare', 'typeset', 'readonly']);

/**
 * Every value a script assigns to each variable (`A=b`, `export A=b`, `local A=b`, also inside
 * `bash -c '…'`), as written (`$(basename "$B")` kept as text), in no particular order. A variable
 * assigned twice has both values: a reader asking what it may hold gets every answer.
 */
export function assignmentsOf(script: string, depth = 0): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (name: string, value: string): void => {
    const list = out.get(name) ?? [];
    list.push(value);
    out.set(name, list);
  };
  for (const c of splitShellScript(script)) {
    for (const a of c.assignments) add(a.name, a.value);
    const argv = stripPrefixes(c.words);
    if (argv.length === 0) continue;
    const prog = basename(argv[0]!.text);
    if (DECLARE.has(prog)) {
      for (const w of argv.slice(1)) {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(w.text);
        if (m) add(m[1]!, m[2]!);
      }
    } else if (SHELLS.has(prog) && depth < MAX_NESTING) {
      const ci = argv.findIndex((w, i) => i > 0 && /^-[a-z]*c[a-z]*$/i.test(w.text));
      const body = ci > 0 ? argv[ci + 1] : undefined;
      if (body) for (const [k, v] of assignmentsOf(body.text, depth + 1)) for (const x of v) add(k, x);
    }
  }
  return out;
}

function stripPrefixes(argv: ScriptWord[]): ScriptWord[] {
  let i = 0;
  for (let guard = 0; guard < 64 && i < argv.length; guard++) {
    const w = argv[i]!.text;
    const prog = basename(w);
    if (KEYWORDS.has(w)) {
      i++;
      // `timeout 10 cmd`, `nice -n 5 cmd`: options and a duration before the command.
      while (i < argv.length && (argv[i]!.text.startsWith('-') || /^\d+[smhd]?$/.test(argv[i]!.text))) i++;
    } else if (prog === 'sudo' || prog === 'doas') {
      i++;
      while (i < argv.length && argv[i]!.text.startsWith('-')) i += /^-[ugpCDhrt]$/.test(argv[i]!.text) ? 2 : 1;
    } else if (prog === 'env') {
      i++;
      while (i < argv.length && (argv[i]!.text.startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[i]!.text)))
        i += /^-[uCS]$/.test(argv[i]!.text) ? 2 : 1;
    } else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w) && !argv[i]!.quoted) {
      i++;
    } else {
      break;
    }
  }
  return argv.slice(i);
}

// ---------------------------------------------------------------------------------------------
// stateguard's CLI

/** The stateguard command a shell command runs (lower case; '*' when given by a variable), or undefined. */
export function stateguardCli(
  argv: readonly ScriptWord[],
): { command: string; word: ScriptWord; args: ScriptWord[] } | undefined {
  const prog = basename(argv[0]!.text);
  let i = 1;
  const skipOptions = (withValue: RegExp): void => {
    while (i < argv.length && argv[i]!.text.startsWith('-')) {
      if (argv[i]!.text === '--') {
        i++;
        return;
      }
      i += withValue.test(argv[i]!.text) ? 2 : 1;
    }
  };
  const isStateguardBin = (t: string): boolean =>
    /^(?:@[^/\s]+\/)?stateguard(?:@\S*)?$/i.test(t) || basename(t) === 'stateguard';
  if (
    prog === 'npx' ||
    prog === 'bunx' ||
    (prog === 'npm' && /^(?:exec|x)$/.test(argv[1]?.text ?? '')) ||
    (prog === 'pnpm' && /^(?:dlx|exec)$/.test(argv[1]?.text ?? '')) ||
    prog === 'yarn'
  ) {
    if (prog !== 'npx' && prog !== 'bunx' && prog !== 'yarn') i = 2;
    if (prog === 'yarn' && /^(?:dlx|exec)$/.test(argv[1]?.text ?? '')) i = 2;
    skipOptions(/^(?:-p|--package|-c|--call|-w|--workspace)$/);
    if (i >= argv.length || !isStateguardBin(argv[i]!.text)) return undefined;
    i++;
  } else if (prog === 'node' || prog === 'nodejs') {
    skipOptions(/^(?:-r|--require|--import|--loader|--experimental-loader|--env-file|--conditions|-C|--title)$/);
    const script = argv[i]?.text;
    if (!script) return undefined;
    const normal = script
      .replace(/\\/g, '/')
      .replace(/\/+/g, '/')
      .replace(/(^|\/)\.\//g, '$1');
    if (!/(?:^|\/)dist\/cli\.js$/.test(normal) && !/(?:^|\/)stateguard\//i.test(normal)) return undefined;
    i++;
  } else if (prog === 'stateguard') {
    // the bin itself (`stateguard`, `./node_modules/.bin/stateguard`)
  } else {
    return undefined;
  }
  while (i < argv.length && argv[i]!.text === '--') i++;
  const word = argv[i];
  if (!word) return undefined;
  const command = word.vars.length > 0 || word.text.includes('${{') ? '*' : word.text.toLowerCase();
  return { command, word, args: argv.slice(i + 1) };
}

// ---------------------------------------------------------------------------------------------
// volume destruction

/** Docker CLI global options that take a value (so the value is not read as the subcommand). */
const DOCKER_VALUE = new Set([
  '-c',
  '--context',
  '-H',
  '--host',
  '--config',
  '-l',
  '--log-level',
  '--tlscacert',
  '--tlscert',
  '--tlskey',
]);
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
  '--tlscacert',
  '--tlscert',
  '--tlskey',
]);
/** Subcommands whose words after the service are the container's command, not compose flags. */
const PASS_THROUGH = new Set(['run', 'exec']);
const FALSE = /^(?:0|f|false)$/i;

/** `--name`, `--name=<not false>`, or a short cluster containing `letter`. */
function flagOn(f: string, long: string, letter?: string): boolean {
  if (f === long) return true;
  if (f.startsWith(long + '=')) return !FALSE.test(f.slice(long.length + 1));
  return letter !== undefined && /^-[A-Za-z]+$/.test(f) && f.slice(1).includes(letter);
}

/** What a command does to volumes, when it deletes or recreates them (or auto-confirms data loss). */
export function volumeRemoval(argv: readonly ScriptWord[]): string | undefined {
  const words = argv.map((w) => w.text);
  const prog = basename(words[0]!);
  if (prog === 'docker-compose') return composeEffect(words, 1);
  if (prog !== 'docker') return undefined;
  let i = 1;
  while (i < words.length && words[i]!.startsWith('-')) i += DOCKER_VALUE.has(words[i]!) ? 2 : 1;
  const sub = words[i];
  const rest = words.slice(i + 1);
  const firstPositional = rest.find((w) => !w.startsWith('-'));
  if (sub === 'compose') return composeEffect(words, i + 1);
  if (sub === 'volume' && (firstPositional === 'rm' || firstPositional === 'remove'))
    return 'removes volumes (docker volume rm)';
  if (sub === 'volume' && firstPositional === 'prune') return 'removes volumes (docker volume prune)';
  if (sub === 'system' && firstPositional === 'prune' && rest.some((f) => flagOn(f, '--volumes')))
    return 'removes volumes (docker system prune --volumes)';
  const rm =
    sub === 'rm'
      ? rest
      : sub === 'container' && firstPositional === 'rm'
        ? rest.slice(rest.indexOf('rm') + 1)
        : undefined;
  if (rm && rm.some((f) => flagOn(f, '--volumes', 'v'))) return "removes the containers' volumes (docker rm -v)";
  return undefined;
}

function composeEffect(words: readonly string[], from: number): string | undefined {
  let sub: string | undefined;
  const flags: string[] = [];
  for (let i = from; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('-')) {
      flags.push(w);
      if (!sub && COMPOSE_VALUE.has(w)) i++;
      continue;
    }
    if (!sub) sub = w;
    else if (PASS_THROUGH.has(sub)) break;
  }
  const effects: string[] = [];
  if ((sub === 'down' || sub === 'rm') && flags.some((f) => flagOn(f, '--volumes', 'v')))
    effects.push(`removes volumes (${sub} -v/--volumes)`);
  if (flags.some((f) => flagOn(f, '--renew-anon-volumes', 'V')))
    effects.push('recreates anonymous volumes (-V/--renew-anon-volumes)');
  if (flags.some((f) => flagOn(f, '--yes', 'y'))) effects.push('answers yes to data-loss prompts (-y/--yes)');
  return effects.length > 0 ? effects.join(' and ') : undefined;
}

// ---------------------------------------------------------------------------------------------
// workflow dispatch with consent

const ALLOW_KEY = /^allow[_-]stateful$/i;
const CONFIRM_KEY = /^(?:(?:stateful|restore)[_-])?confirm$/i;

/** Whether setting dispatch input `key` to `value` fills in consent: allow_stateful not false, or any confirm. */
export function consentField(key: string, value: string): boolean {
  const k = (/\[([^\]]*)\]$/.exec(key)?.[1] ?? key).replace(/^["']|["']$/g, '');
  if (ALLOW_KEY.test(k)) return !FALSE.test(value.trim().replace(/^["']|["']$/g, ''));
  return CONFIRM_KEY.test(k) && value.trim() !== '';
}

/** In a JSON body or a script: `allow_stateful: <not false>`, `stateful_confirm`/`restore_confirm: <anything>`. */
export const CONSENT_IN_TEXT =
  /["']?\b(allow[_-]stateful|(?:stateful|restore)[_-]confirm)\b["']?\s*[:=]\s*(["'`]?)([^"'`,}\s]*)\2/gi;

export function consentInText(text: string): { index: number; key: string }[] {
  const out: { index: number; key: string }[] = [];
  for (const m of text.matchAll(CONSENT_IN_TEXT)) {
    if (/^allow/i.test(m[1]!) && FALSE.test(m[3]!)) continue;
    out.push({ index: m.index, key: m[1]! });
  }
  return out;
}

/** The word of a command that dispatches a workflow with consent filled in, or undefined. */
export function dispatchWithConsent(argv: readonly ScriptWord[]): { word: ScriptWord; what: string } | undefined {
  const words = argv.map((w) => w.text);
  const prog = basename(words[0]!);
  const fields = (from: number): { word: ScriptWord; what: string } | undefined => {
    for (let i = from; i < argv.length; i++) {
      const w = words[i]!;
      let field: string | undefined;
      let at = argv[i]!;
      if (/^(?:-f|-F|--field|--raw-field)$/.test(w) && i + 1 < argv.length) {
        field = words[i + 1];
        at = argv[i + 1]!;
        i++;
      } else {
        const m = /^(?:--field|--raw-field)=(.*)$/s.exec(w) ?? /^-[fF](.+)$/s.exec(w);
        if (m) field = m[1];
      }
      if (field === undefined) continue;
      const eq = field.indexOf('=');
      if (eq > 0 && consentField(field.slice(0, eq), field.slice(eq + 1))) return { word: at, what: field };
    }
    return undefined;
  };
  if (prog === 'gh' && words[1] === 'workflow' && words[2] === 'run') return fields(3);
  if (prog === 'gh' && words[1] === 'api' && words.some((w) => /\/dispatches\b/.test(w))) return fields(2);
  if (
    (prog === 'curl' || prog === 'wget' || prog === 'http' || prog === 'https') &&
    words.some((w) => /\/dispatches\b/.test(w))
  ) {
    for (const w of argv) {
      const hit = consentInText(w.text)[0];
      if (hit) return { word: w, what: `${hit.key} in the request body` };
    }
  }
  return undefined;
}
