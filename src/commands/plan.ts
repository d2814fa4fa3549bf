/** `stateguard plan`: live drift of every module (docs/architecture.md §3, §10, §11). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { planModules } from '../plan/plan.js';
import type { Plan } from '../drift/types.js';
import { ExitCode, UserError, errorMessage } from '../errors.js';
import { GitHubClient } from '../report/github.js';
import { Scrubber } from '../report/scrub.js';
import { renderPlanMarkdown, renderPlanText, type PlanMarkdownOptions } from '../report/plan-render.js';
import { planCommentMarker, pullRequestFromEnv, runContextFromEnv, upsertStickyComment } from '../report/pr-comment.js';
import { loadValidModules, pickModule } from './common.js';
import {
  defineCommand,
  FAILURE_REASON_OUTPUT,
  JSON_INPUT,
  MODULES_INPUT,
  ROOT_INPUT,
  type CommandContext,
} from './spec.js';

/** GitHub rejects comments over 65536 characters; leave room for the marker. */
const COMMENT_MAX_CHARS = 60_000;

function writePlanFile(file: string, plan: Plan): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(plan, null, 2) + '\n');
}

async function commentOnPullRequest(
  plan: Plan,
  scope: { root: string; modules: string; module?: string },
  token: string,
  ctx: CommandContext,
  render: PlanMarkdownOptions,
): Promise<void> {
  const pr = pullRequestFromEnv(ctx.env);
  if ('skip' in pr) {
    ctx.log.info(`plan: no PR comment (${pr.skip}).`);
    return;
  }
  if (!token) {
    ctx.log.warn('plan: no PR comment: the github-token input is empty.');
    return;
  }
  try {
    const client = new GitHubClient({ apiUrl: pr.target.apiUrl, token });
    const marker = planCommentMarker(scope);
    const body = renderPlanMarkdown(plan, { ...render, maxChars: COMMENT_MAX_CHARS });
    const r = await upsertStickyComment(client, pr.target, marker, body);
    ctx.log.info(
      `plan: ${r.action} the plan comment on ${pr.target.repository}#${pr.target.number} (comment ${r.id}).`,
    );
  } catch (err) {
    // A comment is a convenience: failing to post it never fails the plan.
    ctx.log.warn(
      `plan: could not post the PR comment on ${pr.target.repository}#${pr.target.number}: ${errorMessage(err)}`,
    );
  }
}

export const planCommand = defineCommand({
  name: 'plan',
  title: 'stateguard plan',
  description: 'Plan the drift between the declared modules and the live engine.',
  inputs: [
    ROOT_INPUT,
    MODULES_INPUT,
    { name: 'module', kind: 'string', description: 'Plan only this module (default: every module).' },
    {
      name: 'out',
      kind: 'string',
      description: 'Also write the plan JSON to this file (the action writes one to RUNNER_TEMP when empty).',
    },
    {
      name: 'detailed-exitcode',
      kind: 'boolean',
      default: 'false',
      description: 'Exit 2 when drift is found (0 in sync; drift allowed by spec.drift.allow does not count).',
    },
    {
      name: 'github-token',
      kind: 'string',
      default: '${{ github.token }}',
      actionOnly: true,
      secret: true,
      description: 'Token used to post the sticky PR comment on pull_request events.',
    },
    {
      name: 'comment',
      kind: 'boolean',
      default: 'true',
      actionOnly: true,
      description: 'Post or update the sticky PR comment on pull_request events.',
    },
    JSON_INPUT,
  ] as const,
  outputs: [
    { name: 'changes', description: "'true' when any module drifted." },
    { name: 'drifted-modules', description: 'JSON array of drifted module names (usable as a strategy.matrix).' },
    {
      name: 'stateful-modules',
      description:
        'JSON array of the planned stateful modules that declare data volumes (a strategy.matrix for backups).',
    },
    { name: 'plan-json', description: 'Path of the written plan JSON file.' },
    {
      name: 'plan-hash',
      description:
        "With module: that module's plan_hash (pass to apply as expected-plan-hash). Without: the whole plan's hash.",
    },
    {
      name: 'module-plan-hashes',
      description: 'JSON object of every module\'s plan_hash ({"store-init": "…"}); apply takes a module\'s hash.',
    },
    FAILURE_REASON_OUTPUT,
  ],
  async run(opts, ctx) {
    const set = await loadValidModules(opts, ctx);
    if (opts.module !== undefined) pickModule(set, opts.module);
    // The plan file and the PR comment are written here, not through the CLI/action scrubber:
    // scrub the plan itself so no interpolated secret reaches either.
    const scrub = new Scrubber();
    for (const v of set.secrets) scrub.add(v);
    // A module compose leaves out here (an inactive profile) is refused, by name, and the others are
    // planned: one module's environment never hides the plan of the rest.
    const refused = [...set.refused]
      .filter(([name]) => opts.module === undefined || name === opts.module)
      .map(([name, message]) => ({ name, message }));
    const planned = await planModules(
      set.modules.filter((m) => !set.refused.has(m.name)),
      (kind) => ctx.runtime(kind),
      // ctx.now: the plan's UTC day decides which drift allowances are live (docs/architecture.md §3).
      { root: set.root, now: ctx.now(), ...(opts.module ? { only: [opts.module] } : {}) },
    );
    const plan = scrub.scrubDeep(refused.length > 0 ? { ...planned, refused } : planned);

    let planFile = '';
    if (opts.out) {
      planFile = path.resolve(ctx.cwd, opts.out);
      try {
        writePlanFile(planFile, plan);
      } catch (err) {
        throw new UserError(`--out ${JSON.stringify(opts.out)}: cannot write the plan file: ${errorMessage(err)}`, {
          input: 'out',
        });
      }
    } else if (ctx.inAction) {
      // The action always leaves a file behind for later steps (output plan-json).
      planFile = path.join(ctx.env.RUNNER_TEMP || tmpdir(), `stateguard-plan-${plan.plan_hash.slice(0, 12)}.json`);
      writePlanFile(planFile, plan);
    }

    // The commit, the run link and each module's backup modules, for the next steps in the markdown.
    const render: PlanMarkdownOptions = {
      ...(ctx.inAction ? { run: runContextFromEnv(ctx.env) } : {}),
      backupModules: Object.fromEntries(set.modules.map((m) => [m.name, m.backup?.refModules ?? []])),
    };
    if (ctx.inAction && opts.comment) {
      await commentOnPullRequest(
        plan,
        { root: opts.root, modules: opts.modules, module: opts.module },
        opts.githubToken ?? '',
        ctx,
        render,
      );
    }

    const drifted = plan.modules.filter((m) => !m.in_sync).map((m) => m.name);
    const changes = drifted.length > 0;
    const refusedText =
      refused.length === 0
        ? ''
        : `\n\nRefused (not planned; nothing about them is known):\n` +
          refused.map((r) => `  ${r.name}: ${scrub.scrub(r.message)}`).join('\n');
    return {
      exitCode: refused.length > 0 ? ExitCode.no : changes && opts.detailedExitcode ? ExitCode.drift : ExitCode.ok,
      json: plan,
      text: renderPlanText(plan, render.backupModules) + refusedText,
      outputs: {
        changes: String(changes),
        'drifted-modules': JSON.stringify(drifted),
        'stateful-modules': JSON.stringify(plan.stateful_modules),
        'plan-json': planFile,
        'plan-hash': opts.module ? (plan.modules[0]?.plan_hash ?? '') : plan.plan_hash,
        'module-plan-hashes': JSON.stringify(Object.fromEntries(plan.modules.map((m) => [m.name, m.plan_hash]))),
        'failure-reason': refused.length > 0 ? 'compose-error' : '',
      },
      ...(refused.length > 0 ? { failureReason: 'compose-error' as const } : {}),
      // The job summary is bounded too: GitHub refuses a step summary over 1 MiB (bytes, not characters).
      summary: renderPlanMarkdown(plan, { ...render, maxChars: 500_000 }),
      annotations: changes
        ? [
            {
              level: 'notice',
              title: 'stateguard plan',
              message: `${drifted.length} module${drifted.length === 1 ? '' : 's'} drifted: ${drifted.join(', ')}`,
            },
          ]
        : [],
    };
  },
});
