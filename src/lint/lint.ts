/**
 * lint-workflows: find the workflow files, read each safely, run GitHub's parser and stateguard's
 * rules, and return every problem sorted. A file that cannot be parsed is a problem (SG001), never
 * a crash; a path that cannot be read at all is an error the command turns into exit 3.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../errors.js';
import { MAX_YAML_BYTES } from '../model/yaml-source.js';
import { checkWorkflow } from './checks.js';
import { finishMessage } from './messages.js';
import { checkRepository, readRepoModules, type RepoContext } from './rules/index.js';
import { compareProblems, ruleById, RULES, type Problem, type SuppressedProblem } from './rules.js';
import { loadWorkflow } from './workflow.js';

export const DEFAULT_PATHS = ['.github/workflows', '.forgejo/workflows', '.gitea/workflows', 'workflows'] as const;

const WORKFLOW_FILE = /\.ya?ml$/i;

/** A path the operator named (or a file in it) that could not be read: "could not run". */
export class UnreadablePathError extends Error {
  constructor(
    readonly target: string,
    readonly why: string,
  ) {
    super(`cannot read ${JSON.stringify(target)}: ${why}`);
    this.name = 'UnreadablePathError';
  }
}

export interface WorkflowTarget {
  /** absolute path */
  absolute: string;
  /** as shown in problems: relative to cwd, forward slashes */
  display: string;
}

function display(cwd: string, absolute: string): string {
  const rel = path.relative(cwd, absolute) || path.basename(absolute);
  return rel.split(path.sep).join('/');
}

/**
 * The workflow files to lint. Directories are read one level deep (runners read only the top level
 * of a workflows directory) for `*.yml`/`*.yaml`. Missing default directories are skipped; a
 * missing or unreadable explicit path, or an explicit file that is not YAML, throws.
 */
export function findWorkflowFiles(cwd: string, paths: readonly string[]): WorkflowTarget[] {
  const explicit = paths.length > 0;
  const found = new Map<string, WorkflowTarget>();
  for (const p of explicit ? paths : DEFAULT_PATHS) {
    const absolute = path.resolve(cwd, p);
    let st;
    try {
      st = statSync(absolute);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!explicit && code === 'ENOENT') continue;
      throw new UnreadablePathError(p, code === 'ENOENT' ? 'no such file or directory' : (code ?? errorMessage(err)));
    }
    if (st.isDirectory()) {
      let entries: string[];
      try {
        entries = readdirSync(absolute);
      } catch (err) {
        throw new UnreadablePathError(p, (err as NodeJS.ErrnoException).code ?? errorMessage(err));
      }
      for (const name of entries.sort()) {
        if (!WORKFLOW_FILE.test(name)) continue;
        const file = path.join(absolute, name);
        let isFile: boolean;
        try {
          isFile = statSync(file).isFile();
        } catch (err) {
          throw new UnreadablePathError(display(cwd, file), (err as NodeJS.ErrnoException).code ?? errorMessage(err));
        }
        if (isFile) found.set(file, { absolute: file, display: display(cwd, file) });
      }
    } else if (st.isFile()) {
      if (!WORKFLOW_FILE.test(absolute))
        throw new UnreadablePathError(p, 'not a workflow file (expected *.yml or *.yaml)');
      found.set(absolute, { absolute, display: display(cwd, absolute) });
    } else {
      throw new UnreadablePathError(p, 'not a regular file or directory');
    }
  }
  return [...found.values()].sort((a, b) => (a.display < b.display ? -1 : a.display > b.display ? 1 : 0));
}

/** Every unsuppressed problem of one workflow text (bytes as read from disk). Never throws. */
export async function lintWorkflowBytes(bytes: Buffer, file: string, repo: RepoContext = {}): Promise<Problem[]> {
  return (await lintWorkflowText(bytes, file, repo)).problems;
}

/**
 * Every problem of one workflow text, and the ones inline comments suppressed. Never throws. `repo`
 * is the repository it is linted in (local actions and modules/ are read from its root; without
 * one they are not). Each message is one line naming the rule's section of docs/rules.md.
 */
export async function lintWorkflowText(
  bytes: Buffer,
  file: string,
  repo: RepoContext = {},
): Promise<{ problems: Problem[]; suppressed: SuppressedProblem[] }> {
  const r = await lintOneWorkflow(bytes, file, repo);
  return { problems: r.problems.map(finishMessage), suppressed: r.suppressed.map(finishMessage) };
}

async function lintOneWorkflow(
  bytes: Buffer,
  file: string,
  repo: RepoContext,
): Promise<{ problems: Problem[]; suppressed: SuppressedProblem[] }> {
  const yamlProblem = (line: number, column: number, message: string): Problem => ({
    file,
    line,
    column,
    rule: 'SG001',
    severity: ruleById('SG001').severity,
    message,
  });
  try {
    if (bytes.length > MAX_YAML_BYTES)
      return {
        problems: [yamlProblem(1, 1, `file is ${bytes.length} bytes; the limit is ${MAX_YAML_BYTES} (1 MiB)`)],
        suppressed: [],
      };
    const loaded = loadWorkflow(bytes, file);
    if (!loaded.ok)
      return {
        problems: loaded.problems.map((p) => yamlProblem(p.line, p.column, p.message)).sort(compareProblems),
        suppressed: [],
      };
    const wf = loaded.workflow;
    // GitHub's parser (and its large schema) loads only when a workflow is linted, so every other
    // command starts without it.
    const { githubParserErrors } = await import('./github-parser.js');
    const problems: Problem[] = (await githubParserErrors(wf.doc, wf.lines)).map((e) => ({
      file,
      line: e.line,
      column: e.column,
      rule: 'SG000',
      severity: ruleById('SG000').severity,
      message: e.message,
    }));
    problems.push(...checkWorkflow(wf));
    problems.push(...checkRepository(wf, repo));
    return applySuppressions(wf.text, file, problems);
  } catch (err) {
    // e.g. nesting deep enough to exhaust the stack: still a "no" with a reason, never a crash.
    return {
      problems: [yamlProblem(1, 1, `could not parse the workflow: ${errorMessage(err).split('\n')[0]}`)],
      suppressed: [],
    };
  }
}

/** `# stateguard-lint: …` as a comment (a YAML comment, or a shell comment inside a run: script). */
const DIRECTIVE = /(?:^|\s)#\s*stateguard-lint:(.*)$/;
const KNOWN = new Set<string>(RULES.map((r) => r.id));
/** Suppressing these would hide that the file could not be read, or a broken suppression. */
const UNSUPPRESSIBLE = new Set(['SG001', 'SG002']);

/**
 * Inline suppressions (docs/rules.md, "Suppressing a problem"): `# stateguard-lint: ignore SGnnn[, SGmmm] -- reason`
 * on the line of a problem or the line above suppresses those rules there. A directive without a
 * reason, with an unknown or unsuppressible rule, or that is not `ignore`, is itself an SG002
 * error and suppresses nothing (fail closed).
 */
function applySuppressions(
  text: string,
  file: string,
  all: Problem[],
): { problems: Problem[]; suppressed: SuppressedProblem[] } {
  const sorted = all.sort(compareProblems);
  if (!text.includes('stateguard-lint')) return { problems: sorted, suppressed: [] };
  const byLine = new Map<number, { rules: Set<string>; reason: string }>();
  const problems: Problem[] = [];
  text.split('\n').forEach((lineText, i) => {
    const m = DIRECTIVE.exec(lineText);
    if (!m) return;
    const line = i + 1;
    const column = lineText.indexOf('#', m.index) + 1;
    const bad = (message: string): void => {
      problems.push({
        file,
        line,
        column,
        rule: 'SG002',
        severity: ruleById('SG002').severity,
        message: `${message}; write '# stateguard-lint: ignore SGnnn -- <reason>'`,
      });
    };
    const body = m[1]!.trim();
    const d = /^ignore\s+(.*?)(?:\s+--(?:\s+(.*))?)?$/s.exec(body);
    if (!d) return bad(`'stateguard-lint:${m[1]}' is not an ignore directive`);
    const ids = d[1]!.split(/[\s,]+/).filter(Boolean);
    const reason = (d[2] ?? '').trim();
    if (ids.length === 0) return bad('the suppression names no rule');
    const unknown = ids.filter((id) => !KNOWN.has(id));
    if (unknown.length > 0)
      return bad(
        `the suppression names ` +
          `${unknown.map((u) => `'${u}'`).join(', ')}, which ${
            unknown.length === 1 ? 'is not a rule' : 'are not ' + 'rules'
          } (docs/rules.md)`,
      );
    const fixed = ids.filter((id) => UNSUPPRESSIBLE.has(id));
    if (fixed.length > 0) return bad(`${fixed.join(', ')} cannot be suppressed`);
    if (reason === '') return bad(`the suppression of ${ids.join(', ')} gives no reason after ' -- '`);
    byLine.set(line, { rules: new Set(ids), reason });
  });
  const suppressed: SuppressedProblem[] = [];
  for (const p of sorted) {
    const s = UNSUPPRESSIBLE.has(p.rule)
      ? undefined
      : [byLine.get(p.line), byLine.get(p.line - 1)].find((d) => d?.rules.has(p.rule));
    if (s) suppressed.push({ ...p, reason: s.reason });
    else problems.push(p);
  }
  return { problems: problems.sort(compareProblems), suppressed };
}

export interface LintReport {
  files: string[];
  problems: Problem[];
  /** problems an inline comment suppressed (not counted in errors/warnings) */
  suppressed: SuppressedProblem[];
  errors: number;
  warnings: number;
}

export async function lintWorkflows(cwd: string, paths: readonly string[]): Promise<LintReport> {
  const targets = findWorkflowFiles(cwd, paths);
  const repo: RepoContext = { root: path.resolve(cwd), modules: readRepoModules(path.resolve(cwd)) };
  const problems: Problem[] = [];
  const suppressed: SuppressedProblem[] = [];
  for (const t of targets) {
    let bytes: Buffer | undefined;
    let size: number;
    try {
      size = statSync(t.absolute).size;
      // A huge file is refused without loading it.
      if (size <= MAX_YAML_BYTES) bytes = readFileSync(t.absolute);
    } catch (err) {
      throw new UnreadablePathError(t.display, (err as NodeJS.ErrnoException).code ?? errorMessage(err));
    }
    if (!bytes) {
      problems.push(
        finishMessage({
          file: t.display,
          line: 1,
          column: 1,
          rule: 'SG001',
          severity: ruleById('SG001').severity,
          message: `file is ${size} bytes; the limit is ${MAX_YAML_BYTES} (1 MiB)`,
        }),
      );
      continue;
    }
    const r = await lintWorkflowText(bytes, t.display, repo);
    problems.push(...r.problems);
    suppressed.push(...r.suppressed);
  }
  problems.sort(compareProblems);
  suppressed.sort(compareProblems);
  return {
    files: targets.map((t) => t.display),
    problems,
    suppressed,
    errors: problems.filter((p) => p.severity === 'error').length,
    warnings: problems.filter((p) => p.severity === 'warning').length,
  };
}

/** `file:line:col: RULE message` */
export function formatProblemLine(p: Problem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.rule} ${p.message}`;
}
