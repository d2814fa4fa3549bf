/**
 * apply of a one-shot module (docs/architecture.md §6): the one-shot's step inside the guarded
 * operation skeleton (src/ops/guarded.ts: lock → fresh plan + guard → plan-hash binding →
 * dependencies before → step → release).
 *
 * The step: refuse a run still in progress → (dependencies healthy before) → refuse a replica count
 * other than 1 → refuse an image that is not on the engine → recreate only this service → register
 * the new container's secrets → stream scrubbed logs while `docker wait` runs (bounded by
 * timeout_seconds; stop on timeout) → record a success on the engine → dependencies unchanged after.
 *
 * Every path returns an ApplyOutcome; `applied` and `no-op` are the only successes, and each is
 * reached only through explicit checks.
 */
import { EnvironmentError, errorMessage } from '../errors.js';
import type { GuardEvaluation } from '../guard/evaluate.js';
import { engineFrontEnd, type ModuleDecl } from '../model/module.js';
import type { ContainerInfo, ComposeTarget, RenderedService, Runtime } from '../ports.js';
import { oneShotReplicaProblem } from '../model/validate.js';
import { listServiceContainers, ofService } from '../drift/containers.js';
import {
  guardedOutcome,
  runGuarded,
  type GuardedDeps,
  type GuardedOutcome,
  type GuardedRequest,
  type OperationContext,
} from '../ops/guarded.js';
import { interruptedOperationAmong } from '../ops/journal.js';
import { LineScrubber, registerEnvSecrets } from './logs.js';
import { ALLOWED_MEANS, howApplied } from '../guard/applies.js';
import { evaluateGuard } from '../guard/evaluate.js';

export type { DependencyCheck, DependencyState } from '../ops/dependencies.js';

export type ApplyStatus = 'applied' | 'no-op' | 'blocked' | 'refused' | 'failed';

export type ApplyRequest = GuardedRequest;

export interface ApplyDeps extends GuardedDeps {
  /** registers a value with the CLI/action scrubber (and the runner's masking) */
  addSecret: (value: string) => void;
  /** monotonic milliseconds, for durations */
  clock?: () => number;
  /** how long to wait for the log stream to end after the container exited */
  logGraceMs?: number;
}

export interface ApplyOutcome extends GuardedOutcome<ApplyStatus> {
  status: ApplyStatus;
  exit_code: number | null;
  container_id: string | null;
  duration_ms: number | null;
  /** the last lines of the one-shot's log (scrubbed) */
  log_tail: string[];
}

function target(m: ModuleDecl): ComposeTarget {
  return { project: m.compose.project, files: [m.compose.path] };
}

function renderedImages(services: Record<string, { image?: string }>, service: string): string[] {
  const img = services[service]?.image;
  return typeof img === 'string' && img.trim() !== '' ? [img.trim()] : [];
}

export async function applyOneShot(req: ApplyRequest, deps: ApplyDeps): Promise<ApplyOutcome> {
  const m = req.module;
  const runtime = deps.runtime;
  const out: ApplyOutcome = {
    ...guardedOutcome(m.name, req.expectedPlanHash),
    exit_code: null,
    container_id: null,
    duration_ms: null,
    log_tail: [],
  };

  // A long-running module is never applied by this path: refuse before touching the engine.
  if (m.expectedState !== 'exited-success') {
    // The same words as guard's `allowed` (docs/architecture.md §4, "What allowed means").
    const verdict =
      `apply only re-runs one-shot modules (expected_state: exited-success); module ` +
      `'${m.name}' is expected_state: ${m.expectedState}. A guard decision of allowed means only that ` +
      `${ALLOWED_MEANS}; ${howApplied(m, undefined, req.surface)}`;
    deps.log.info(verdict);
    return { ...out, status: 'refused', failure_reason: 'drift-not-allowed', verdict, messages: [verdict] };
  }

  // The module's image (rendered by compose) is the preferred lock image.
  let moduleImages: string[] = [];
  let rendered: RenderedService | undefined;
  try {
    const services = (await runtime.renderProject(target(m))).services;
    rendered = services[m.compose.service];
    moduleImages = renderedImages(services, m.compose.service);
  } catch {
    // Not fatal here: the fresh plan renders again and blocks with the precise reason.
  }

  let before: ContainerInfo[] = [];
  return runGuarded<ApplyOutcome>({
    verb: 'apply',
    request: req,
    deps,
    out,
    lockImages: moduleImages,
    lockTimeoutSeconds: m.timeoutSeconds,
    evaluate: () => evaluateGuard(req, deps),
    interrupted: () =>
      interruptedOperationAmong(deps.runtime, [
        m,
        ...req.modules.filter(
          (x) => x !== m && (m.dependsOnHealthy.includes(x.name) || (m.backup?.refModules ?? []).includes(x.name)),
        ),
      ]),
    preflight: async (ev, ctx) => {
      const r = await refuseRunInProgress(req, deps, ev, ctx);
      if ('refused' in r) return r;
      before = r.before;
      return { listed: r.listed };
    },
    step: (ev, ctx) => runOneShot(req, deps, ev, ctx, { rendered, before }),
  });
}

/** A run still in progress is never doubled — a manual `compose run <service>` is a run too. */
async function refuseRunInProgress(
  req: ApplyRequest,
  deps: ApplyDeps,
  ev: GuardEvaluation,
  ctx: OperationContext<ApplyOutcome>,
): Promise<{ refused: ApplyOutcome } | { before: ContainerInfo[]; listed: Map<string, ContainerInfo[]> }> {
  const m = req.module;
  const all = await deps.runtime.listProjectContainers(m.compose.project);
  const before = ofService(all, m.compose.service);
  const busy = all.filter(
    (c) =>
      c.service === m.compose.service && (c.state === 'running' || c.state === 'restarting' || c.state === 'paused'),
  );
  if (busy.length > 0 || ev.plan?.observed.state === 'running') {
    const refused = ctx.end(
      'refused',
      'still-running',
      `module '${m.name}' is still running ` +
        `(${busy.map((c) => `${c.id.slice(0, 12)} ${c.state}`).join(', ') || 'per the plan'}); ` +
        `a second run is refused. Wait for it to exit (docker wait), then apply again.`,
    );
    return { refused };
  }
  // Secrets of the previous run's environment are masked too (the new one usually has the same).
  for (const c of before) registerEnvSecrets(c.env, ctx.scrub, deps.addSecret);
  return { before, listed: new Map([[m.compose.project, all]]) };
}

/** The one-shot itself: checks that need the rendered service, recreate, wait, logs, record. */
async function runOneShot(
  req: ApplyRequest,
  deps: ApplyDeps,
  ev: GuardEvaluation,
  h: OperationContext<ApplyOutcome>,
  known: { rendered: RenderedService | undefined; before: ContainerInfo[] },
): Promise<ApplyOutcome> {
  const m = req.module;
  const runtime = deps.runtime;
  const { say, end, scrub, out } = h;
  const clock = deps.clock ?? (() => performance.now());

  // A one-shot runs as exactly one container: compose would start `scale`/`deploy.replicas` of
  // them against the same data at once. validate refuses it statically; this is the rendered value.
  const replicas = known.rendered
    ? oneShotReplicaProblem(known.rendered)
    : 'could not be rendered to check its replica count';
  if (replicas) {
    return end(
      'refused',
      'invalid-modules',
      `one-shot service ` +
        `'${m.compose.service}' ${replicas}; a one-shot runs as exactly one container. Nothing was run: set it to 1 ` +
        `or remove it, then apply again.`,
    );
  }

  // apply never pulls (or builds): the image that runs is the one on the engine now, or nothing runs.
  const declaredImage = ev.plan?.declared.image;
  if (!declaredImage)
    return end(
      'blocked',
      'internal',
      `the fresh plan of '${m.name}' names no declared image; stateguard failed closed`,
      true,
    );
  const local = await runtime.imageIds([declaredImage]);
  if (!local[declaredImage]) {
    return end(
      'refused',
      'image-not-present',
      `image ${declaredImage} of '${m.compose.service}' is not on the engine, and apply never pulls or builds: ` +
        `pull (or build) it deliberately, re-plan, review the plan, then apply again.`,
    );
  }

  const started = clock();
  h.started();
  const rec = await runtime.recreateService(target(m), m.compose.service);
  if (rec.code !== 0) {
    const detail = scrub.scrub((rec.stderr || rec.stdout).trim().split('\n').slice(-5).join(' / '));
    await h.checkDependencies();
    return end(
      'failed',
      'compose-error',
      `${engineFrontEnd(m)} could not recreate '${m.compose.service}' (exit ${rec.code}): ${detail}`,
      true,
    );
  }
  const oldIds = new Set(known.before.map((c) => c.id));
  const fresh = (await listServiceContainers(runtime, m.compose)).filter((c) => !oldIds.has(c.id));
  if (fresh.length !== 1) {
    // More than one run against the same data must not go on: stop every one of them.
    let stopped = '';
    if (fresh.length > 1) {
      try {
        await runtime.stop(
          fresh.map((c) => c.id),
          10,
        );
        stopped = ` Stopped all of them (${fresh.map((c) => c.id.slice(0, 12)).join(', ')}); check the module's data.`;
      } catch (err) {
        stopped =
          ` Could not stop them ` +
          `(${errorMessage(err)}): stop ${fresh.map((c) => c.id.slice(0, 12)).join(', ')} by hand now.`;
      }
    }
    await h.checkDependencies();
    return end(
      'failed',
      'compose-error',
      `after recreating ` +
        `'${m.compose.service}' expected exactly one new container, found ` +
        `${fresh.length}; refusing to guess which ran.${stopped}`,
    );
  }
  const run = fresh[0]!;
  out.container_id = run.id;
  // 6 (before any log line): every secret-looking value of the container's environment.
  registerEnvSecrets(run.env, scrub, deps.addSecret);
  say(
    `started ${m.compose.service} as container ` +
      `${run.id.slice(0, 12)}; waiting up to ${m.timeoutSeconds}s for it to exit`,
  );

  // 5 + 6. Wait with the engine while the logs stream, scrubbed, line by line.
  const lines = new LineScrubber(scrub, (line) => deps.log.raw(`${m.compose.service} | ${line}\n`));
  const logsDone = runtime
    .logs(run.id, (chunk, stream) => lines.push(chunk, stream ?? 'stdout'), true)
    .catch((err: unknown) => {
      const w = `log streaming stopped: ${errorMessage(err)}`;
      out.warnings.push(scrub.scrub(w));
    });
  let waited;
  try {
    waited = await runtime.wait(run.id, m.timeoutSeconds * 1000);
  } catch (err) {
    out.duration_ms = Math.round(clock() - started);
    await settle(logsDone, deps.logGraceMs ?? 15_000);
    lines.flush();
    out.log_tail = lines.lastLines();
    await h.checkDependencies();
    return end(
      'failed',
      err instanceof EnvironmentError ? err.reason : 'internal',
      `waiting for the one-shot failed: ${errorMessage(err)}`,
      true,
    );
  }
  if (waited.timedOut) {
    say(`the one-shot did not exit within timeout_seconds (${m.timeoutSeconds}s); stopping it`);
    try {
      await runtime.stop([run.id], 10);
    } catch (err) {
      out.warnings.push(scrub.scrub(`could not stop ${run.id.slice(0, 12)}: ${errorMessage(err)}; stop it by hand`));
    }
  }
  out.duration_ms = Math.round(clock() - started);
  await settle(logsDone, deps.logGraceMs ?? 15_000);
  lines.flush();
  out.log_tail = lines.lastLines();
  out.exit_code = waited.timedOut ? null : waited.exitCode;
  if (!waited.timedOut && waited.exitCode === 0)
    await recordSuccess(runtime, m, run, declaredConfigHash(ev), deps.now(), out, deps.log);

  // 7. Success needs exit 0 AND every dependency untouched.
  const depsOk = await h.checkDependencies();
  const problems = out.dependencies.filter((d) => !d.ok).map((d) => d.problem);
  if (!depsOk) {
    const also = waited.timedOut
      ? ' The one-shot also timed out.'
      : waited.exitCode !== 0
        ? ` The one-shot also exited ${waited.exitCode}.`
        : '';
    return end(
      'failed',
      'dependency-disturbed',
      `a depends_on_healthy module was disturbed: ${problems.join('; ')}.${also} Check it now.`,
    );
  }
  if (waited.timedOut) {
    return end(
      'failed',
      'timeout',
      `module '${m.name}' was stopped after timeout_seconds (${m.timeoutSeconds}s) without exiting.`,
    );
  }
  if (waited.exitCode !== 0) {
    return end(
      'failed',
      'one-shot-failed',
      `module '${m.name}' exited ${waited.exitCode}; see its log above. Fix the cause, re-plan and apply again.`,
    );
  }
  return end(
    'applied',
    '',
    `module '${m.name}' ran to success (exit 0) in ${out.duration_ms} ms; its dependencies are unchanged.`,
  );
}

/**
 * Record on the engine what just ran to success (container, image, declared and labelled config
 * hash), so a later plan can prove what last ran even after the container is removed, and can tell
 * that a compose v2 `up --no-deps` label belongs to the declared config. A record that cannot be
 * written is a warning: the run itself succeeded, and without a record the plan only errs towards
 * drift (a pending re-run or an unverifiable image), never towards "in sync".
 */
async function recordSuccess(
  runtime: Runtime,
  m: ModuleDecl,
  run: ContainerInfo,
  configHash: string,
  now: Date,
  out: ApplyOutcome,
  log: ApplyDeps['log'],
): Promise<void> {
  try {
    await runtime.writeRunRecord({
      project: m.compose.project,
      service: m.compose.service,
      container_id: run.id,
      image_id: run.imageId,
      image_ref: run.imageRef,
      config_hash: configHash,
      label_hash: run.configHash ?? '',
      recorded_at: now.toISOString(),
    });
  } catch (err) {
    const w =
      `could not record the successful run on the engine ` +
      `(${errorMessage(err)}); the next plan may show the one-shot as pending again`;
    out.warnings.push(w);
    log.warn(w);
  }
}

function declaredConfigHash(ev: { plan: { declared: { config_hash: string } } | null }): string {
  return ev.plan?.declared.config_hash ?? '';
}

/** Wait for a promise, but never longer than ms (a stuck log stream must not hang the apply). */
async function settle(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  if (timer) clearTimeout(timer);
}
