import { describe, expect, it } from '@jest/globals';
import { ShellWordsError, splitShellWords } from '../../src/probe/shell-words.js';

describe('splitShellWords: sh word splitting without a shell', () => {
  it.each([
    ['npm test', ['npm', 'test']],
    ['  npm   run  e2e  ', ['npm', 'run', 'e2e']],
    ['a\tb\nc', ['a', 'b', 'c']],
    ['bash -c \'curl -fsS "$BASE_URL" && echo ok\'', ['bash', '-c', 'curl -fsS "$BASE_URL" && echo ok']],
    ['echo "two words"', ['echo', 'two words']],
    ['echo "a \\"quoted\\" word"', ['echo', 'a "quoted" word']],
    ['echo "keep \\n as is"', ['echo', 'keep \\n as is']],
    ['echo "lit \\$HOME and \\`x\\`"', ['echo', 'lit $HOME and `x`']],
    ["echo ''", ['echo', '']],
    ['echo ""', ['echo', '']],
    ['echo a\'b\'"c"d', ['echo', 'abcd']],
    ['echo a\\ b', ['echo', 'a b']],
    ['echo \\$HOME \\|', ['echo', '$HOME', '|']],
    ['npm \\\n  test', ['npm', 'test']],
    ["echo 'it''s'", ['echo', 'its']],
    ['--grep=smoke x=1', ['--grep=smoke', 'x=1']],
    ['a#b c~d', ['a#b', 'c~d']],
    ["printf '%s\\n' 'multi\nline'", ['printf', '%s\\n', 'multi\nline']],
    ['', []],
    ['   \n  ', []],
  ])('%j splits to %j', (input, want) => {
    expect(splitShellWords(input)).toEqual(want);
  });

  it.each([
    ["echo 'unclosed", /unbalanced single quote \('\) starting at character 6/],
    ['echo "unclosed', /unbalanced double quote/],
    ['echo "a" "b', /unbalanced double quote \("\) starting at character 10/],
    ['echo trailing\\', /lone backslash/],
    ['a && b', /"&" unquoted/],
    ['a | b', /"\|" unquoted/],
    ['a; b', /";" unquoted/],
    ['a > out.txt', /">" unquoted/],
    ['a < in', /"<" unquoted/],
    ['echo $SECRET', /"\$" unquoted/],
    ['echo "$SECRET"', /"\$" inside double quotes/],
    ['echo `id`', /"`" unquoted/],
    ['echo "`id`"', /inside double quotes/],
    ['echo $(id)', /"\$" unquoted/],
    ['ls *.spec.ts', /"\*" unquoted/],
    ['ls file?', /"\?" unquoted/],
    ['ls file[12]', /"\[" unquoted/],
    ['echo {a,b}', /"\{" unquoted/],
    ['(cd x)', /"\(" unquoted/],
    ['npm test # comment', /"#" at the start of a word/],
    ['ls ~/x', /"~" at the start of a word/],
  ])('refuses %j as a user error with a fix', (input, msg) => {
    expect(() => splitShellWords(input)).toThrow(ShellWordsError);
    expect(() => splitShellWords(input)).toThrow(msg);
  });

  it('every refusal of a shell character tells how to get a shell', () => {
    expect(() => splitShellWords('a && b')).toThrow(/bash -c/);
  });

  it('quoted shell characters are passed literally, never interpreted', () => {
    expect(splitShellWords("echo '$(rm -rf /)' '*' ';' '|'")).toEqual(['echo', '$(rm -rf /)', '*', ';', '|']);
  });
});
