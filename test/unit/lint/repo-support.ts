/** Linting a workflow inside a temporary repository (local actions, modules/), positions asserted. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { lintWorkflows } from '../../../src/lint/lint.js';
import type { Problem } from '../../../src/lint/rules.js';
import { tempRepo } from '../../support/fixtures.js';

export const WF = '.github/workflows/w.yml';

/** Lint `.github/workflows/w.yml` of a repository made of `files`, as lint-workflows does from its root. */
export async function lintRepo(files: Record<string, string | Buffer>): Promise<{ dir: string; problems: Problem[] }> {
  const dir = tempRepo(files, 'sg-lint-repo-');
  const report = await lintWorkflows(dir, [WF]);
  return { dir, problems: report.problems };
}

/** `RULE@line` of each problem. */
export const at = (problems: Problem[]): string[] => problems.map((p) => `${p.rule}@${p.line}`);

/** 1-based line of the first line of `file` in `dir` containing `needle`. */
export function lineOf(dir: string, file: string, needle: string): number {
  const i = readFileSync(path.join(dir, file), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`${needle} not in ${file}`);
  return i + 1;
}
