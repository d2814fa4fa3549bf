/**
 * SG203 untrusted-checkout, in `run:` (docs/rules.md SG203, docs/architecture.md §9): a workflow
 * that runs with the base repository's secrets and a write token (`pull_request_target`,
 * `workflow_run`, `issue_comment`) and fetches the pull request's code in a script: `gh pr checkout`,
 * `git fetch|pull|checkout|switch … pull/<n>/head|merge` or `refs/pull/…`. The `actions/checkout`
 * form is checked in untrusted-checkout.ts.
 */
import { commandsOf } from '../shell.js';
import { privilegedOf, type Report, type RunSite } from './context.js';

/** A refspec or ref naming a pull request's head or merge commit: `pull/12/head`, `refs/pull/$N/merge`. */
const PR_REF = /(?:^|[\s:+/])(?:refs\/)?pull\/[^/\s]+\/(?:head|merge)\b|refs\/pull\//;

const GIT_FETCHING = new Set(['fetch', 'pull', 'checkout', 'switch', 'worktree', 'reset', 'merge', 'rebase']);
/** git global options that take a value (so the value is not read as the subcommand). */
const GIT_VALUE = new Set(['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--exec-path']);

/** What a command does to fetch a pull request's code, or undefined. */
export function fetchesPrCode(argv: readonly { text: string }[]): string | undefined {
  const words = argv.map((w) => w.text);
  const prog = words[0]!.slice(words[0]!.lastIndexOf('/') + 1).toLowerCase();
  if (prog === 'gh') {
    const rest: string[] = [];
    for (let i = 1; i < words.length; i++) {
      if (words[i] === '-R' || words[i] === '--repo') i++;
      else if (!words[i]!.startsWith('-')) rest.push(words[i]!);
    }
    if (rest[0] === 'pr' && rest[1] === 'checkout') return 'gh pr checkout';
    return undefined;
  }
  if (prog !== 'git') return undefined;
  let i = 1;
  while (i < words.length && words[i]!.startsWith('-')) i += GIT_VALUE.has(words[i]!) ? 2 : 1;
  const sub = words[i];
  if (!sub || !GIT_FETCHING.has(sub)) return undefined;
  return words.slice(i + 1).some((w) => PR_REF.test(w)) ? `git ${sub} of a pull request ref` : undefined;
}

export function checkPrCodeFetch(triggers: readonly string[], sites: readonly RunSite[], report: Report): void {
  const privileged = privilegedOf(triggers);
  if (privileged.length === 0) return;
  for (const site of sites) {
    if (!/\bgh\b|\bgit\b/.test(site.run)) continue;
    for (const c of commandsOf(site.run, site.env)) {
      const what = fetchesPrCode(c.argv);
      if (!what) continue;
      const first = c.argv[0]!;
      report(
        'SG203',
        site.at(first.start, first.text),
        `${site.where} fetches the pull request's code ('${c.argv
          .map((w) => w.text)
          .join(' ')}': ${what}) in a workflow triggered by ${privileged.join(', ')}, which runs with secrets and ` +
          `a write token; build or run the pull request's code in a 'pull_request' workflow instead, and fetch ` +
          `only the base ref here`,
      );
    }
  }
}
