/**
 * SG110 unknown-module (docs/rules.md SG110, docs/architecture.md §9): a stateguard action step
 * (`with: module: X`) or CLI call (`stateguard <command> --module X`) names a module the repository
 * does not declare under modules/. Checked only when the repository has modules/ and the call reads
 * the default modules (no `modules`/`root` of its own); a module given by an expression or a
 * variable is the operator's to type and is not checked.
 */
import { stateguardCommand } from '../facts.js';
import { commandsOf, stateguardCli } from '../shell.js';
import { isObj, type Report, type RunSite, type WorkflowStep } from './context.js';
import type { RepoModules } from './modules.js';

const dynamic = (v: string): boolean => v.includes('${{') || v.includes('$');

function unknownMessage(name: string, what: string, modules: RepoModules): string {
  const known = [...modules.names].sort();
  return `${what} names module '${name}', which the repository does not declare (modules/*/module.yaml declares ${
    known.length > 0 ? known.map((n) => `'${n}'`).join(', ') : 'none'
  }): stateguard would refuse it at run time; correct the name, or add modules/${name}/module.yaml`;
}

export function checkUnknownModules(
  modules: RepoModules,
  steps: readonly WorkflowStep[],
  sites: readonly RunSite[],
  at: (s: WorkflowStep) => { line: number; column: number },
  report: Report,
): void {
  for (const s of steps) {
    if (stateguardCommand(s.step) === undefined || !isObj(s.step.with)) continue;
    const w = s.step.with;
    if (w.modules !== undefined || (w.root !== undefined && w.root !== '.')) continue;
    const m = w.module;
    if (typeof m !== 'string' || m.trim() === '' || dynamic(m)) continue;
    if (!modules.names.has(m.trim()))
      report('SG110', at(s), unknownMessage(m.trim(), `step ${s.index + 1} of job '${s.jobId}'`, modules));
  }
  for (const site of sites) {
    if (!/stateguard|cli\.js/i.test(site.run)) continue;
    for (const c of commandsOf(site.run, site.env)) {
      const cli = stateguardCli(c.argv);
      if (!cli) continue;
      const args = cli.args.map((a) => a.text);
      if (args.some((a) => /^--(?:modules|root)(?:=|$)/.test(a))) continue;
      cli.args.forEach((word, j) => {
        const value =
          word.text === '--module'
            ? cli.args[j + 1]
            : word.text.startsWith('--module=')
              ? { ...word, text: word.text.slice(9) }
              : undefined;
        if (!value || value.text === '' || dynamic(value.text) || modules.names.has(value.text)) return;
        report(
          'SG110',
          site.at(word.start, word.text),
          unknownMessage(value.text, `'stateguard ${cli.command} --module ${value.text}' in ${site.where}`, modules),
        );
      });
    }
  }
}
