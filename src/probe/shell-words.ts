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
      if (i + 1 >= n) throw new ShellWordsError('the command ends with a lone backslash (\\); escape it as \\\\ or remove it.');
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
      if (end === -1) throw new ShellWordsError(`unbalanced single quote (') starting at character ${i + 1}; close it.`);
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
