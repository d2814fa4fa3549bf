/**
 * Small wording helpers every layer shares, so a text says the same thing wherever it is made
 * (docs/architecture.md §10, "Words").
 *
 * - `inputRef`: a fix names what the user actually sets — a CLI flag (`--allow-stateful`) when
 *   stateguard runs as the CLI, the input (`allow-stateful`) when it runs as an action.
 * - `aOrAn` / `withArticle`: "an unknown bump", "a major bump", never "a unknown".
 */

/** Where stateguard runs: the CLI (flags) or a GitHub/Forgejo action (inputs). */
export type Surface = 'cli' | 'action';

/** The surface of a command context (`inAction` is set by the action entry). */
export function surfaceOf(ctx: { inAction?: boolean }): Surface {
  return ctx.inAction === true ? 'action' : 'cli';
}

/** How the user names input `name` where they run stateguard: `--name` in the CLI, `name` in an action. */
export function inputRef(name: string, surface: Surface = 'cli'): string {
  return surface === 'action' ? name : `--${name}`;
}

/** "pass --allow-stateful" (CLI, a bare boolean flag means true) / "set allow-stateful: 'true'" (action). */
export function setTrue(name: string, surface: Surface = 'cli'): string {
  return surface === 'action' ? `set ${name}: 'true'` : `pass --${name}`;
}

/** "pass PATH as --backup-ref" (CLI) / "set backup-ref to PATH" (action). */
export function setValue(name: string, value: string, surface: Surface = 'cli'): string {
  return surface === 'action' ? `set ${name} to ${value}` : `pass ${value} as --${name}`;
}

// Words whose first letter is a vowel but whose sound is not (a one-shot, a unique name, a user).
const A_BEFORE_VOWEL = /^(one|once|uni|use|usu|uti|eu|ewe|ure)/i;
// Words whose first letter is a consonant but whose sound is a vowel (an hour, an honest …).
const AN_BEFORE_CONSONANT = /^(hour|honest|honou?r|heir)/i;

/** The indefinite article for `word`: `an` before a vowel sound, else `a`. */
export function aOrAn(word: string): 'a' | 'an' {
  const w = word.replace(/^[^A-Za-z0-9]+/, '');
  if (AN_BEFORE_CONSONANT.test(w)) return 'an';
  if (A_BEFORE_VOWEL.test(w)) return 'a';
  if (/^8/.test(w)) return 'an';
  return /^[aeiou]/i.test(w) ? 'an' : 'a';
}

/** `word` with its article: "an unknown", "a major". */
export function withArticle(word: string): string {
  return `${aOrAn(word)} ${word}`;
}
