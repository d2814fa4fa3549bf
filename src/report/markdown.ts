/** Escapes for values placed in markdown (job summaries, PR comments): pure. */

/**
 * Markdown-safe table cell or inline text: '|' and line breaks escaped, and '&', '<', '>' as
 * entities, so no message reads as HTML (a '<parent>' in a fix would vanish as an unknown tag, and
 * a value could otherwise open a tag in the job summary or PR comment).
 */
export function cell(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ');
}

/** An inline code span: literal inside (no entities needed), and no backtick in the text can close it. */
export function code(text: string): string {
  return `\`${text.replace(/`/g, "'").replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')}\``;
}
