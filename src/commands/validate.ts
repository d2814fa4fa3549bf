/** `stateguard validate`: schema and cross-file checks of every module (docs/architecture.md §2). */
import path from 'node:path';
import { ExitCode } from '../errors.js';
import { formatProblem } from '../model/module.js';
import { validateModules } from '../model/validate.js';
import { cell, code, composeRenderer } from './common.js';
import { defineCommand, FAILURE_REASON_OUTPUT, JSON_INPUT, MODULES_INPUT, ROOT_INPUT } from './spec.js';

export const validateCommand = defineCommand({
  name: 'validate',
  title: 'stateguard validate',
  description:
    'Validate every module.yaml against the schema and across files (names, references, and each compose file as ' +
    'the compose CLI in use renders it: merge keys, extends, include, interpolation, env_file, profiles).',
  inputs: [ROOT_INPUT, MODULES_INPUT, JSON_INPUT] as const,
  outputs: [
    { name: 'valid', description: "'true' when every module is valid, else 'false'." },
    { name: 'modules', description: 'JSON array of the module names found.' },
    { name: 'error-count', description: 'Number of problems found.' },
    FAILURE_REASON_OUTPUT,
  ],
  async run(opts, ctx) {
    const root = path.resolve(ctx.cwd, opts.root);
    const { loaded, problems } = await validateModules(root, opts.modules, ctx.cwd, composeRenderer(ctx));
    const valid = problems.length === 0 && loaded.modules.length > 0;
    const errors = problems.map((p) => ({ file: p.file, line: p.line, column: p.column, message: p.message }));
    if (loaded.modules.length === 0 && problems.length === 0) {
      errors.push({
        file: opts.root,
        line: 1,
        column: 1,
        message: `no module.yaml matches ${JSON.stringify(opts.modules)} under this root`,
      });
    }
    const names = loaded.modules.map((m) => m.name);
    const lines = errors.map((e) => formatProblem(e));
    if (valid) {
      lines.push(`${names.length} module${names.length === 1 ? '' : 's'} valid:`);
      for (const m of loaded.modules) {
        lines.push(
          `  ${m.name.padEnd(20)} ${m.class.padEnd(9)} ${m.expectedState.padEnd(14)} ` +
            `${m.compose.project}/${m.compose.service}  (${m.file})`,
        );
      }
    } else {
      lines.push(`${errors.length} problem${errors.length === 1 ? '' : 's'} in module declarations.`);
    }
    const summary = valid
      ? `### stateguard validate: ` +
        `${names.length} modules valid\n\n| module | class | expected state | compose |\n|---|---|---|---|\n` +
        loaded.modules
          .map(
            (m) =>
              `| ${cell(m.name)} | ${m.class} | ${m.expectedState} | ` +
              `${cell(`${m.compose.project}/${m.compose.service}`)} |`,
          )
          .join('\n')
      : `### stateguard validate: ${errors.length} problems\n\n` +
        errors.map((e) => `- ${code(formatProblem(e))}`).join('\n');
    return {
      exitCode: valid ? ExitCode.ok : ExitCode.no,
      json: { valid, modules: names, errors },
      text: lines.join('\n'),
      outputs: {
        valid: String(valid),
        modules: JSON.stringify(names),
        'error-count': String(errors.length),
        'failure-reason': valid ? '' : 'invalid-modules',
      },
      summary,
      annotations: errors.map((e) => ({
        level: 'error' as const,
        message: e.message,
        file: e.file,
        line: e.line,
        column: e.column,
        title: 'stateguard validate',
      })),
      failureReason: valid ? undefined : 'invalid-modules',
    };
  },
});
