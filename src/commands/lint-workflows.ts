/**
 * `stateguard lint-workflows [PATHS...]`: lint the workflows that drive stateful changes
 * (docs/architecture.md §9).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ExitCode, UserError, errorMessage } from '../errors.js';
import { DEFAULT_PATHS, formatProblemLine, lintWorkflows, UnreadablePathError } from '../lint/lint.js';
import { RULES, type Problem, type SuppressedProblem } from '../lint/rules.js';
import { toSarif } from '../report/sarif.js';
import { VERSION } from '../version.js';
import { cell } from './common.js';
import type { Annotation } from './spec.js';
import { defineCommand, FAILURE_REASON_OUTPUT, JSON_INPUT } from './spec.js';

/** GitHub shows at most 10 annotations per step and type; more per file only hide each other. */
export const MAX_ANNOTATIONS_PER_FILE = 10;
const MAX_SUMMARY_ROWS = 200;

export const lintWorkflowsCommand = defineCommand({
  name: 'lint-workflows',
  title: 'stateguard lint-workflows',
  description:
    'Lint the workflows that drive stateful changes: GitHub workflow schema plus stateguard rules (docs/rules.md).',
  inputs: [
    {
      name: 'paths',
      kind: 'list',
      positional: true,
      description:
        `Workflow files or directories (default: ` +
        `${DEFAULT_PATHS.join(', ')}; missing default directories are skipped).`,
    },
    {
      name: 'format',
      kind: 'choice',
      choices: ['text', 'json', 'sarif'],
      default: 'text',
      description: 'Output format: text (file:line:col: RULE message), json or sarif.',
    },
    {
      name: 'sarif-file',
      kind: 'string',
      description: 'Also write the SARIF 2.1.0 report to this file (e.g. for github/codeql-action/upload-sarif).',
    },
    JSON_INPUT,
  ] as const,
  outputs: [
    { name: 'errors', description: 'Number of errors.' },
    { name: 'warnings', description: 'Number of warnings.' },
    { name: 'sarif-file', description: "Path of the SARIF report written for input 'sarif-file' (empty when none)." },
    FAILURE_REASON_OUTPUT,
  ],
  async run(opts, ctx) {
    // --json is --format json, as on every command: the problems document on stdout, the human
    // lines on stderr. SARIF is another document for the same stdout: asking for both is ambiguous.
    if (opts.json && opts.format === 'sarif') {
      throw new UserError(
        `--json and --format sarif both ask for a document on stdout; give one: --json (or --format json) for the ` +
          `problems, ` +
          `or --format sarif for SARIF (add --sarif-file PATH to also write SARIF beside --json).`,
        { input: 'json' },
      );
    }
    let report;
    try {
      report = await lintWorkflows(ctx.cwd, opts.paths);
    } catch (err) {
      if (err instanceof UnreadablePathError) {
        throw new UserError(
          `${err.message}; name workflow files (*.yml, *.yaml) or directories that exist and are readable.`,
          {
            input: 'paths',
            exitCode: ExitCode.couldNotRun,
          },
        );
      }
      throw err;
    }
    const { problems, suppressed, errors, warnings, files } = report;
    const sarif = toSarif(
      { name: 'stateguard', version: VERSION },
      RULES.map((r) => ({
        ...r,
        tags: r.id === 'SG000' || r.id === 'SG001' || r.id === 'SG002' ? ['correctness'] : ['security'],
      })),
      [
        ...problems.map((p) => sarifResult(p)),
        // Suppressed problems stay visible to code scanning, marked with the reason written in the workflow.
        ...suppressed.map((p) => ({ ...sarifResult(p), suppression: { justification: p.reason } })),
      ],
    );
    let sarifFile = '';
    if (opts.sarifFile) {
      const target = path.resolve(ctx.cwd, opts.sarifFile);
      try {
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, JSON.stringify(sarif, null, 2) + '\n');
      } catch (err) {
        throw new UserError(
          `cannot write the SARIF report to sarif-file ${JSON.stringify(opts.sarifFile)}: ${errorMessage(err)}`,
          { input: 'sarif-file' },
        );
      }
      sarifFile = opts.sarifFile;
    }
    const verdict =
      `${files.length} workflow file${files.length === 1 ? '' : 's'} checked: ` +
      `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}` +
      (suppressed.length > 0 ? `, ${suppressed.length} suppressed` : '') +
      (files.length === 0
        ? ` (no *.yml/*.yaml found in ${opts.paths.length ? opts.paths.join(', ') : DEFAULT_PATHS.join(', ')})`
        : '');
    let text: string;
    if (opts.format === 'json' && !opts.json) text = JSON.stringify({ problems, suppressed }, null, 2);
    else if (opts.format === 'sarif') text = JSON.stringify(sarif, null, 2);
    else {
      const listed =
        suppressed.length > 0
          ? [
              `suppressed (${suppressed.length}, not counted):`,
              ...suppressed.map((p) => `${formatProblemLine(p)} -- ${p.reason}`),
            ]
          : [];
      text = [...problems.map(formatProblemLine), ...listed, verdict].join('\n');
    }
    const failed = errors > 0;
    const { annotations, hidden } = annotate(problems);
    return {
      exitCode: failed ? ExitCode.no : ExitCode.ok,
      json: { problems, suppressed },
      text,
      outputs: {
        errors: String(errors),
        warnings: String(warnings),
        'sarif-file': sarifFile,
        'failure-reason': failed ? 'lint-errors' : '',
      },
      summary: summary(verdict, problems, hidden, suppressed),
      annotations,
      failureReason: failed ? 'lint-errors' : undefined,
    };
  },
});

function annotate(problems: readonly Problem[]): { annotations: Annotation[]; hidden: Map<string, number> } {
  const perFile = new Map<string, number>();
  const hidden = new Map<string, number>();
  const annotations: Annotation[] = [];
  for (const p of problems) {
    const n = perFile.get(p.file) ?? 0;
    perFile.set(p.file, n + 1);
    if (n >= MAX_ANNOTATIONS_PER_FILE) {
      hidden.set(p.file, (hidden.get(p.file) ?? 0) + 1);
      continue;
    }
    annotations.push({
      level: p.severity,
      message: `${p.rule} ${p.message}`,
      file: p.file,
      line: p.line,
      column: p.column,
      title: `stateguard ${p.rule}`,
    });
  }
  return { annotations, hidden };
}

function summary(
  verdict: string,
  problems: readonly Problem[],
  hidden: Map<string, number>,
  suppressed: readonly SuppressedProblem[],
): string {
  const lines = [`### stateguard lint-workflows: ${verdict}`, ''];
  if (problems.length > 0) {
    lines.push('| file | line | rule | severity | message |', '|---|---|---|---|---|');
    for (const p of problems.slice(0, MAX_SUMMARY_ROWS)) {
      lines.push(`| ${cell(p.file)} | ${p.line}:${p.column} | ${p.rule} | ${p.severity} | ${cell(p.message)} |`);
    }
    if (problems.length > MAX_SUMMARY_ROWS)
      lines.push(
        '',
        `${problems.length - MAX_SUMMARY_ROWS} more problems not listed here; run \`stateguard lint-workflows\` ` +
          `locally for all of them.`,
      );
  }
  if (hidden.size > 0) {
    lines.push(
      '',
      `Annotations are limited to ${MAX_ANNOTATIONS_PER_FILE} per file; not annotated: ` +
        [...hidden.entries()].map(([f, n]) => `${cell(f)} (${n} more)`).join(', ') +
        '.',
    );
  }
  if (suppressed.length > 0) {
    lines.push(
      '',
      `Suppressed by an inline comment (${suppressed.length}):`,
      '',
      '| file | line | rule | reason |',
      '|---|---|---|---|',
    );
    for (const p of suppressed.slice(0, MAX_SUMMARY_ROWS))
      lines.push(`| ${cell(p.file)} | ${p.line}:${p.column} | ${p.rule} | ${cell(p.reason)} |`);
  }
  lines.push('', 'Rules: what, why and how to fix each one are in docs/rules.md.');
  return lines.join('\n');
}

/** One problem as a SARIF result (the fields the SARIF writer takes). */
function sarifResult(p: {
  rule: string;
  severity: 'error' | 'warning';
  message: string;
  file: string;
  line: number;
  column: number;
}) {
  return { ruleId: p.rule, level: p.severity, message: p.message, file: p.file, line: p.line, column: p.column };
}
