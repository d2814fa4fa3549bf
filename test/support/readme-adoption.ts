/**
 * The README's adoption section (docs/architecture.md §15) as steps a test can follow: the text
 * between `<!-- adoption:begin -->` and `<!-- adoption:end -->`, its fenced blocks in order.
 *
 * - a ```yaml block whose first line is `# <relative path>` is a file to write, exactly as shown;
 * - a ```sh block is commands, one per line (blank lines and `#` comment lines skipped; a line
 *   ending in `\` continues on the next);
 * - a ```text block is what the last command before it prints on stdout.
 * Any other fenced block inside the markers is an error: the test must know what every block is.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './runner.js';

export type AdoptionStep =
  { kind: 'file'; path: string; text: string } | { kind: 'run'; commands: string[] } | { kind: 'output'; text: string };

export const ADOPTION_BEGIN = '<!-- adoption:begin -->';
export const ADOPTION_END = '<!-- adoption:end -->';

export function readme(): string {
  return readFileSync(path.join(REPO, 'README.md'), 'utf8');
}

/** The text between the markers; exactly one pair, in order. */
export function adoptionSection(text: string): string {
  const begins = text.split(ADOPTION_BEGIN).length - 1;
  const ends = text.split(ADOPTION_END).length - 1;
  if (begins !== 1 || ends !== 1)
    throw new Error(`README: expected one ${ADOPTION_BEGIN} and one ${ADOPTION_END}, found ${begins} and ${ends}`);
  const from = text.indexOf(ADOPTION_BEGIN) + ADOPTION_BEGIN.length;
  const to = text.indexOf(ADOPTION_END);
  if (to < from) throw new Error('README: adoption:end comes before adoption:begin');
  return text.slice(from, to);
}

export function adoptionSteps(section: string): AdoptionStep[] {
  const steps: AdoptionStep[] = [];
  // fences at the start of a line (the section's blocks are not indented)
  const fence = /^```([a-z]*)\n([\s\S]*?)^```$/gm;
  for (const m of section.matchAll(fence)) {
    const lang = m[1]!;
    const body = m[2]!;
    if (lang === 'yaml') {
      const first = /^# (\S+)\n/.exec(body);
      if (!first) throw new Error(`README adoption: a yaml block must start with "# <path>": ${body.slice(0, 60)}`);
      steps.push({ kind: 'file', path: first[1]!, text: body });
    } else if (lang === 'sh') {
      const commands: string[] = [];
      let pending = '';
      for (const line of body.split('\n')) {
        if (pending === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
        if (line.endsWith('\\')) {
          pending += line.slice(0, -1);
          continue;
        }
        commands.push(pending + line);
        pending = '';
      }
      if (pending !== '') throw new Error('README adoption: a sh block ends with a continued line');
      steps.push({ kind: 'run', commands });
    } else if (lang === 'text') {
      steps.push({ kind: 'output', text: body.replace(/\n$/, '') });
    } else {
      throw new Error(
        `README adoption: a \`\`\`${lang} block inside the markers; only yaml (a file), sh (commands) and text (output) are known`,
      );
    }
  }
  return steps;
}
