/**
 * `stateguard completion bash|zsh|fish`: a shell completion script generated from the command
 * definitions (src/commands/index.ts), so every command and flag the CLI parses is completed and
 * nothing else (docs/architecture.md §10). A CLI-only command: it is not in COMMANDS, so no action,
 * action.yml or README inputs table is generated for it.
 *
 * Every word put into a script is checked against a closed alphabet first (command and flag names,
 * choices); descriptions are reduced to plain text and quoted for the shell that reads them, so no
 * definition can inject shell code into a user's shell startup.
 */
import { COMMANDS } from './commands/index.js';
import type { CommandSpec, InputDef } from './commands/spec.js';

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

export function isCompletionShell(value: string | undefined): value is CompletionShell {
  return (COMPLETION_SHELLS as readonly string[]).includes(value ?? '');
}

interface Flag {
  name: string;
  description: string;
  /** `--flag` alone, or `--flag true|false` */
  boolean: boolean;
  /** the values it takes, when the definition knows them (choices; true/false for a boolean) */
  values: readonly string[] | null;
  repeatable: boolean;
}

interface Cmd {
  name: string;
  description: string;
  flags: Flag[];
  /** takes positional arguments (files) */
  positional: boolean;
}

const WORD = /^[a-z0-9][a-z0-9-]*$/;
const VALUE = /^[A-Za-z0-9][A-Za-z0-9._:+-]*$/;

function checked(word: string, re: RegExp, what: string): string {
  if (!re.test(word)) throw new Error(`completion: ${what} ${JSON.stringify(word)} is not a plain word`);
  return word;
}

/** The first sentence of a description, as plain text on one line. */
function plain(text: string, max = 100): string {
  const one = text.replace(/\s+/g, ' ').trim();
  const first = (/^(.*?)\.(\s|$)/.exec(one)?.[1] ?? one).replace(/\.$/, '');
  return first.length > max ? `${first.slice(0, max - 3)}...` : first;
}

/** The commands as the CLI parses them: action-only inputs are not flags; --help is always one. */
export function completionModel(
  commands: Readonly<Record<string, CommandSpec<readonly InputDef[]>>> = COMMANDS,
): Cmd[] {
  const out: Cmd[] = Object.values(commands).map((spec) => {
    const inputs = spec.inputs.filter((d) => !d.actionOnly);
    const flags: Flag[] = inputs
      .filter((d) => !d.positional && !d.rest)
      .map((d) => ({
        name: checked(d.name, WORD, 'flag'),
        description: plain(d.description),
        boolean: d.kind === 'boolean',
        values:
          d.kind === 'boolean'
            ? ['true', 'false']
            : d.kind === 'choice' && d.choices
              ? d.choices.map((c) => checked(c, VALUE, 'choice'))
              : null,
        repeatable: d.kind === 'list',
      }));
    flags.push({
      name: 'help',
      description: 'Print this command’s flags',
      boolean: true,
      values: null,
      repeatable: false,
    });
    return {
      name: checked(spec.name, WORD, 'command'),
      description: plain(spec.description),
      flags,
      positional: inputs.some((d) => d.positional),
    };
  });
  out.push({
    name: 'completion',
    description: 'Print a shell completion script (bash, zsh or fish)',
    flags: [],
    positional: false,
  });
  out.push({ name: 'help', description: 'Print the commands', flags: [], positional: false });
  out.push({ name: 'version', description: 'Print the version', flags: [], positional: false });
  return out;
}

const single = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

function bash(cmds: Cmd[]): string {
  const lines = [
    '# stateguard completion for bash (generated from the command definitions).',
    '# Load it now:   source <(stateguard completion bash)',
    '# Or for good:   stateguard completion bash > ~/.local/share/bash-completion/completions/stateguard',
    '_stateguard() {',
    '  local cur prev cmd flags',
    '  cur="${COMP_WORDS[COMP_CWORD]}"',
    '  prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  COMPREPLY=()',
    '  if [ "$COMP_CWORD" -eq 1 ]; then',
    `    COMPREPLY=($(compgen -W ${single(cmds.map((c) => c.name).join(' '))} -- "$cur"))`,
    '    return 0',
    '  fi',
    '  cmd="${COMP_WORDS[1]}"',
    '  case "$cmd" in',
  ];
  for (const c of cmds) {
    if (c.name === 'completion') {
      const shells = single(COMPLETION_SHELLS.join(' '));
      lines.push(
        `    completion) [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W ${shells} -- "$cur")); return 0 ;;`,
      );
      continue;
    }
    lines.push(`    ${c.name}) flags=${single(c.flags.map((f) => `--${f.name}`).join(' '))} ;;`);
  }
  lines.push('    *) return 0 ;;', '  esac', '  case "$cmd $prev" in');
  for (const c of cmds) {
    for (const f of c.flags) {
      if (!f.values) continue;
      const words = single(f.values.join(' '));
      lines.push(`    ${single(`${c.name} --${f.name}`)}) COMPREPLY=($(compgen -W ${words} -- "$cur")); return 0 ;;`);
    }
  }
  lines.push(
    '  esac',
    '  if [[ "$cur" == -* ]]; then',
    '    COMPREPLY=($(compgen -W "$flags" -- "$cur"))',
    '  fi',
    '  return 0',
    '}',
    '# Values the definitions do not know (paths, names) fall back to file names.',
    'complete -o default -F _stateguard stateguard',
    '',
  );
  return lines.join('\n');
}

/** Text inside a zsh `[...]` description or a `name:description` pair, within single quotes. */
function zshText(text: string): string {
  return text
    .replace(/[[\]]/g, (c) => (c === '[' ? '(' : ')'))
    .replace(/:/g, '\\:')
    .replace(/'/g, `'\\''`);
}

function zsh(cmds: Cmd[]): string {
  const lines = [
    '#compdef stateguard',
    '# stateguard completion for zsh (generated from the command definitions).',
    '# Load it now:   source <(stateguard completion zsh)',
    '# Or for good:   stateguard completion zsh > "${fpath[1]}/_stateguard"',
    '_stateguard() {',
    '  local -a commands',
    '  commands=(',
    ...cmds.map((c) => `    '${zshText(c.name)}:${zshText(c.description)}'`),
    '  )',
    '  if (( CURRENT == 2 )); then',
    "    _describe 'command' commands",
    '    return',
    '  fi',
    '  case ${words[2]} in',
  ];
  for (const c of cmds) {
    if (c.name === 'completion') {
      lines.push(`    completion) (( CURRENT == 3 )) && compadd ${COMPLETION_SHELLS.join(' ')} ;;`);
      continue;
    }
    if (c.flags.length === 0 && !c.positional) continue;
    const specs = c.flags.map((f) => {
      const head = `${f.repeatable ? '*' : ''}--${f.name}[${zshText(f.description)}]`;
      if (f.name === 'help') return `'${head}'`;
      if (f.boolean) return `'${head}::value:(true false)'`;
      if (f.values) return `'${head}:value:(${f.values.join(' ')})'`;
      return `'${head}:value:_files'`;
    });
    if (c.positional) specs.push(`'*:file:_files'`);
    lines.push(
      `    ${c.name})`,
      `      _arguments -S \\`,
      ...specs.map((s, i) => `        ${s}${i < specs.length - 1 ? ' \\' : ''}`),
      '      ;;',
    );
  }
  lines.push(
    '  esac',
    '}',
    'if [ "$funcstack[1]" = "_stateguard" ]; then',
    '  _stateguard "$@"',
    'else',
    '  compdef _stateguard stateguard',
    'fi',
    '',
  );
  return lines.join('\n');
}

function fishText(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function fish(cmds: Cmd[]): string {
  const names = cmds.map((c) => c.name).join(' ');
  const lines = [
    '# stateguard completion for fish (generated from the command definitions).',
    '# Load it now:   stateguard completion fish | source',
    '# Or for good:   stateguard completion fish > ~/.config/fish/completions/stateguard.fish',
    'complete -c stateguard -f',
  ];
  const noCommandYet = fishText(`not __fish_seen_subcommand_from ${names}`);
  for (const c of cmds) {
    lines.push(`complete -c stateguard -n ${noCommandYet} -a ${c.name} -d ${fishText(c.description)}`);
  }
  const shells = fishText(COMPLETION_SHELLS.join(' '));
  lines.push(`complete -c stateguard -n ${fishText('__fish_seen_subcommand_from completion')} -a ${shells}`);
  for (const c of cmds) {
    const when = fishText(`__fish_seen_subcommand_from ${c.name}`);
    for (const f of c.flags) {
      const takes = f.boolean ? '' : f.values ? ` -x -a ${fishText(f.values.join(' '))}` : ' -r -F';
      lines.push(`complete -c stateguard -n ${when} -l ${f.name}${takes} -d ${fishText(f.description)}`);
    }
    if (c.positional) lines.push(`complete -c stateguard -n ${when} -F`);
  }
  lines.push('');
  return lines.join('\n');
}

/** The completion script for one shell, from the command definitions. */
export function completionScript(shell: CompletionShell, cmds: Cmd[] = completionModel()): string {
  switch (shell) {
    case 'bash':
      return bash(cmds);
    case 'zsh':
      return zsh(cmds);
    case 'fish':
      return fish(cmds);
  }
}
