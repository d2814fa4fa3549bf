/**
 * The sticky PR comment of `plan` (docs/architecture.md §11): one comment per (repo, plan scope), found by a
 * hidden marker and edited in place on every later run, never a second one.
 *
 * The marker names the plan's scope (root, modules glob, module) so two plans in one repo (say,
 * two platform roots) keep one comment each instead of overwriting each other.
 */
import { readFileSync } from 'node:fs';
import { GitHubClient, apiUrlFrom } from './github.js';
import type { RunContext } from './plan-render.js';

export const MARKER_PREFIX = '<!-- stateguard:plan';

export interface PlanScope {
  root: string;
  modules: string;
  module?: string;
}

/** Text safe inside an HTML comment: no `--` (which could end it) and no line breaks. */
function markerSafe(text: string): string {
  return encodeURIComponent(text).replace(/-/g, '%2D');
}

export function planCommentMarker(scope: PlanScope): string {
  const parts = [`root=${markerSafe(scope.root)}`, `modules=${markerSafe(scope.modules)}`];
  if (scope.module) parts.push(`module=${markerSafe(scope.module)}`);
  return `${MARKER_PREFIX} ${parts.join(' ')} -->`;
}

export interface PullRequestTarget {
  apiUrl: string;
  repository: string;
  number: number;
}

/**
 * The PR to comment on, from the runner's environment, or a reason why there is none.
 * GitHub and Forgejo both set GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_API_URL.
 */
export function pullRequestFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  readFile: (file: string) => string = (f) => readFileSync(f, 'utf8'),
): { target: PullRequestTarget } | { skip: string } {
  const event = env.GITHUB_EVENT_NAME ?? '';
  if (event !== 'pull_request' && event !== 'pull_request_target')
    return { skip: `event '${event || 'none'}' is not a pull request` };
  const repository = env.GITHUB_REPOSITORY?.trim() ?? '';
  if (!/^[^/\s]+\/[^/\s]+$/.test(repository)) return { skip: 'GITHUB_REPOSITORY is not set to owner/name' };
  if (!env.GITHUB_EVENT_PATH) return { skip: 'GITHUB_EVENT_PATH is not set' };
  let payload: { number?: unknown; pull_request?: { number?: unknown } };
  try {
    payload = JSON.parse(readFile(env.GITHUB_EVENT_PATH)) as typeof payload;
  } catch (err) {
    return { skip: `cannot read the event payload: ${err instanceof Error ? err.message : String(err)}` };
  }
  const n = payload?.pull_request?.number ?? payload?.number;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0)
    return { skip: 'the event payload has no pull request number' };
  return { target: { apiUrl: apiUrlFrom(env), repository, number: n } };
}

/**
 * The commit and the run link a plan rendering names. The commit is the PR's head (what the reviewer
 * pushed) on pull_request events, GITHUB_SHA otherwise (on a pull_request that is a merge commit); the
 * run link needs GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID (Forgejo sets them too).
 * Malformed values are dropped here (and again by the renderer): nothing from the environment reaches
 * markdown unchecked.
 */
export function runContextFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  readFile: (file: string) => string = (f) => readFileSync(f, 'utf8'),
): RunContext {
  let sha = env.GITHUB_SHA?.trim() ?? '';
  const event = env.GITHUB_EVENT_NAME ?? '';
  if ((event === 'pull_request' || event === 'pull_request_target') && env.GITHUB_EVENT_PATH) {
    try {
      const payload = JSON.parse(readFile(env.GITHUB_EVENT_PATH)) as { pull_request?: { head?: { sha?: unknown } } };
      const head = payload?.pull_request?.head?.sha;
      if (typeof head === 'string' && head !== '') sha = head;
    } catch {
      /* no payload: GITHUB_SHA stands */
    }
  }
  const server = (env.GITHUB_SERVER_URL?.trim() ?? '').replace(/\/+$/, '');
  const repository = env.GITHUB_REPOSITORY?.trim() ?? '';
  const runId = env.GITHUB_RUN_ID?.trim() ?? '';
  const out: RunContext = {};
  if (/^[0-9a-f]{7,64}$/i.test(sha)) out.sha = sha;
  if (/^https?:\/\/[^\s()[\]<>]+$/.test(server) && /^[\w.-]+\/[\w.-]+$/.test(repository) && /^\d+$/.test(runId)) {
    out.runUrl = `${server}/${repository}/actions/runs/${runId}`;
  }
  return out;
}

export interface UpsertResult {
  action: 'created' | 'updated';
  id: number;
}

/** Create the marked comment, or update the first existing comment that carries the marker. */
export async function upsertStickyComment(
  client: GitHubClient,
  target: PullRequestTarget,
  marker: string,
  body: string,
): Promise<UpsertResult> {
  const full = `${marker}\n${body}`;
  const comments = await client.listIssueComments(target.repository, target.number);
  const mine = comments.find((c) => c.body.startsWith(marker) || c.body.includes(`\n${marker}\n`));
  if (mine) {
    const updated = await client.updateIssueComment(target.repository, mine.id, full);
    return { action: 'updated', id: updated.id };
  }
  const created = await client.createIssueComment(target.repository, target.number, full);
  return { action: 'created', id: created.id };
}
