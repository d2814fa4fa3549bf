/**
 * Splits the action's `run` string into an argument vector, the way a POSIX shell splits words —
 * but without a shell. Quotes and backslashes group and escape exactly as in `sh`; nothing is
 * expanded or interpreted.
 *
 * Because no shell runs, anything a shell would have *interpreted* (pipes, `&&`, redirections,
 * `$VAR`, backticks, globs, `~`, comments) would silently mean something else here: `echo $TOKEN`
 * would print the five characters `$TOKEN`, `a && b` would pass `&&` to `a`. Rather than guess, such
 * characters are refused unless quoted, with a message pointing at the two honest alternatives:
 * quote them, or write the shell yourself (`bash -c '…'`). Pure: no I/O.
 */

export class ShellWordsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShellWordsError';
  }
}

/** Characters a shell interprets outside quotes (operators, expansions, globs, comments). */
const UNQUOTED_SPECIAL = new Set(['|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '[', ']', '{', '}']);
const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

function hint(ch: string, where: string): string {
  return (
    `the command contains ${JSON.stringify(ch)} ${where}, which a shell would interpret but stateguard runs the ` +
    `command without a shell. Quote it ('…') to pass it literally, or write the shell yourself, e.g. ` +
    `run: bash -c 'your && command'.`
  );
}

export function splitShellWords(input: string): string[] {
  const words: string[] = [];
  let word = '';
  /** a word exists even when empty (`''` is one empty argument) */
  let inWord = false;
  let i = 0;
  const n = input.length;
  while (i < n) {
    const ch = input[i]!;
    if (WHITESPACE.has(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    if (ch === '\\') {
      if (i + 1 >= n)
        throw new ShellWordsError('the command ends with a lone backslash (\\); escape it as \\\\ or remove it.');
      const next = input[i + 1]!;
      if (next === '\n') {
        // Line continuation, as in sh: backslash-newline disappears.
        i += 2;
        continue;
      }
      word += next;
      inWord = true;
      i += 2;
      continue;
    }
    if (ch === "'") {
      const end = input.indexOf("'", i + 1);
      if (end === -1)
        throw new ShellWordsError(`unbalanced single quote (') starting at character ${i + 1}; close it.`);
      word += input.slice(i + 1, end);
      inWord = true;
      i = end + 1;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      let closed = false;
      while (j < n) {
        const c = input[j]!;
        if (c === '"') {
          closed = true;
          break;
        }
        if (c === '\\' && j + 1 < n) {
          const next = input[j + 1]!;
          // Inside double quotes sh gives backslash meaning only before these characters.
          if (next === '"' || next === '\\' || next === '$' || next === '`') {
            word += next;
            j += 2;
            continue;
          }
          if (next === '\n') {
            j += 2;
            continue;
          }
        }
        if (c === '$' || c === '`') throw new ShellWordsError(hint(c, 'inside double quotes (an expansion)'));
        word += c;
        j++;
      }
      if (!closed) throw new ShellWordsError(`unbalanced double quote (") starting at character ${i + 1}; close it.`);
      inWord = true;
      i = j + 1;
      continue;
    }
    if (UNQUOTED_SPECIAL.has(ch)) throw new ShellWordsError(hint(ch, 'unquoted'));
    if (!inWord && (ch === '#' || ch === '~')) {
      throw new ShellWordsError(hint(ch, 'at the start of a word (a comment or home-directory expansion in a shell)'));
    }
    word += ch;
    inWord = true;
    i++;
  }
  if (inWord) words.push(word);
  return words;
}

/** A word of a shell script as written: quotes removed, expansions kept as text (never expanded). */
export interface ScriptWord {
  /** the word with quotes and backslashes removed; `$NAME`, `${NAME}`, `$(…)` kept literally */
  text: string;
  /** offset in the script where the word starts */
  start: number;
  /** any part of the word was quoted */
  quoted: boolean;
  /** variables it expands (`$NAME`, `${NAME}`), outside single quotes */
  vars: string[];
  /** the whole word is one unquoted `$NAME`/`${NAME}`: the shell splits its value into words */
  bareVar?: string;
}

export interface ScriptAssignment {
  name: string;
  value: string;
  start: number;
}

/** One simple command: its leading `NAME=value` assignments, then its words. */
export interface ScriptCommand {
  assignments: ScriptAssignment[];
  words: ScriptWord[];
}

/** `$(…)` nested deeper than this is read flat: its parentheses separate commands, nothing is lost. */
const MAX_SCRIPT_DEPTH = 32;
const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/**
 * The simple commands of a shell script (a workflow's `run:`), for reading, not running: a tolerant
 * sibling of splitShellWords() that never throws. Quotes and backslashes group words exactly as
 * there; newlines, `;`, `&&`, `||`, `|`, `&`, `(`, `)` separate commands; `# …` comments and
 * redirections (`> f`, `2>&1`) are dropped; commands inside `$(…)` and backticks are listed too.
 * An unterminated quote runs to the end of the script (a shell would refuse it; the reader keeps
 * the words, so nothing hides behind a syntax error). Heredoc bodies are read as commands.
 * Commands come out in the order they end, which is the order a shell would finish reading them.
 */
export function splitShellScript(script: string): ScriptCommand[] {
  const out: ScriptCommand[] = [];
  readScript(script, 0, 0, false, out);
  return out;
}

function readScript(s: string, from: number, depth: number, closeParen: boolean, out: ScriptCommand[]): number {
  const n = s.length;
  let cmd: ScriptCommand = { assignments: [], words: [] };
  let word: ScriptWord | undefined;
  /** length of `word.text` before its first quoted character (for NAME=value detection) */
  let plainPrefix = 0;
  let dropNext = false;
  const startWord = (at: number): ScriptWord => {
    if (!word) {
      word = { text: '', start: at, quoted: false, vars: [] };
      plainPrefix = -1;
    }
    return word;
  };
  const markQuoted = (w: ScriptWord): void => {
    if (plainPrefix === -1) plainPrefix = w.text.length;
    w.quoted = true;
  };
  const endWord = (): void => {
    if (!word) return;
    const w = word;
    word = undefined;
    if (dropNext) {
      dropNext = false;
      return;
    }
    const prefix = plainPrefix === -1 ? w.text.length : plainPrefix;
    const eq = w.text.indexOf('=');
    if (cmd.words.length === 0 && eq > 0 && eq < prefix && /^[A-Za-z_][A-Za-z0-9_]*$/.test(w.text.slice(0, eq))) {
      cmd.assignments.push({ name: w.text.slice(0, eq), value: w.text.slice(eq + 1), start: w.start });
      return;
    }
    const bare = /^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$/.exec(w.text);
    if (bare && !w.quoted) w.bareVar = bare[1] ?? bare[2];
    cmd.words.push(w);
  };
  const endCommand = (): void => {
    endWord();
    dropNext = false;
    if (cmd.words.length > 0 || cmd.assignments.length > 0) out.push(cmd);
    cmd = { assignments: [], words: [] };
  };
  /** `$…` at i (outside single quotes): appends to the current word, returns the next index. */
  const dollar = (i: number, w: ScriptWord): number => {
    const next = s[i + 1];
    if (next === '(') {
      if (depth < MAX_SCRIPT_DEPTH) {
        const end = readScript(s, i + 2, depth + 1, true, out);
        w.text += s.slice(i, Math.min(end, n));
        return end;
      }
      // Too deep: read on flat; the parentheses separate commands at this level.
      if (w.text === '' && word === w) word = undefined;
      endCommand();
      return i + 2;
    }
    if (next === '{') {
      const close = s.indexOf('}', i + 2);
      const end = close === -1 ? n : close + 1;
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i + 2, end));
      if (m) w.vars.push(m[0]);
      w.text += s.slice(i, end);
      return end;
    }
    if (next !== undefined && NAME_START.test(next)) {
      let j = i + 1;
      while (j < n && NAME_CHAR.test(s[j]!)) j++;
      w.vars.push(s.slice(i + 1, j));
      w.text += s.slice(i, j);
      return j;
    }
    w.text += '$';
    return i + 1;
  };
  let i = from;
  while (i < n) {
    const ch = s[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      endWord();
      i++;
    } else if (ch === '\n' || ch === ';' || ch === '|' || ch === '&' || ch === '(') {
      endCommand();
      i++;
    } else if (ch === ')') {
      if (closeParen) {
        endCommand();
        return i + 1;
      }
      endCommand();
      i++;
    } else if (ch === '#' && !word) {
      while (i < n && s[i] !== '\n') i++;
    } else if (ch === '<' || ch === '>') {
      // A redirection: an fd number before it and its target after it are not arguments.
      if (word && /^\d+$/.test(word.text) && !word.quoted) word = undefined;
      else endWord();
      while (i < n && (s[i] === '<' || s[i] === '>' || s[i] === '&' || s[i] === '-' || s[i] === '|')) i++;
      if (s[i - 1] === '&' && i < n && /\d/.test(s[i]!)) {
        // `2>&1`: the target is the fd number, already read.
        while (i < n && /\d/.test(s[i]!)) i++;
      } else if (s[i - 1] !== '-') {
        dropNext = true;
      }
    } else if (ch === '\\') {
      if (s[i + 1] === '\n') i += 2;
      else {
        const w = startWord(i);
        markQuoted(w);
        if (i + 1 < n) w.text += s[i + 1];
        i += 2;
      }
    } else if (ch === "'") {
      const w = startWord(i);
      markQuoted(w);
      const close = s.indexOf("'", i + 1);
      const end = close === -1 ? n : close;
      w.text += s.slice(i + 1, end);
      i = end + 1;
    } else if (ch === '"') {
      const w = startWord(i);
      markQuoted(w);
      let j = i + 1;
      while (j < n && s[j] !== '"') {
        const c = s[j]!;
        if (c === '\\' && j + 1 < n) {
          const next = s[j + 1]!;
          if (next === '"' || next === '\\' || next === '$' || next === '`') {
            w.text += next;
            j += 2;
            continue;
          }
          if (next === '\n') {
            j += 2;
            continue;
          }
        }
        if (c === '$') {
          j = dollar(j, w);
          continue;
        }
        if (c === '`') {
          j = backtick(j, w);
          continue;
        }
        w.text += c;
        j++;
      }
      i = j + 1;
    } else if (ch === '$') {
      i = dollar(i, startWord(i));
    } else if (ch === '`') {
      i = backtick(i, startWord(i));
    } else {
      startWord(i).text += ch;
      i++;
    }
  }
  endCommand();
  return n;

  function backtick(at: number, w: ScriptWord): number {
    let close = s.indexOf('`', at + 1);
    while (close !== -1 && s[close - 1] === '\\') close = s.indexOf('`', close + 1);
    const end = close === -1 ? n : close;
    if (depth < MAX_SCRIPT_DEPTH) readScript(s.slice(0, end), at + 1, depth + 1, false, out);
    w.text += s.slice(at, Math.min(end + 1, n));
    return end + 1;
  }
}
