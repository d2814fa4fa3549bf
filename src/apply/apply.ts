/**
 * apply of a one-shot module (docs/architecture.md §6), against the Runtime interface only.
 *
 * Order: refuse non-one-shots → lock → fresh plan + guard (same inputs) → plan-hash binding →
 * no-op ends → refuse a run still in progress → dependencies healthy before → recreate only this
 * service → register the new container's secrets → stream scrubbed logs while `docker wait` runs
 * (bounded by timeout_seconds; stop on timeout) → dependencies unchanged after → release the lock.
 *
 * Every path returns an ApplyOutcome; `applied` and `no-op` are the only successes, and each is
 * reached only through explicit checks. Anything thrown is caught by the command layer and
 * reported as "could not run" — never as success.
 */
import { EnvironmentError, errorMessage, type FailureReason } from '../errors.js';
import type { GuardResult } from '../guard/decide.js';
import { evaluateGuard, type GuardDeps, type GuardRequest } from '../guard/evaluate.js';
import type { ModuleDecl } from '../model/module.js';
import { Scrubber } from '../report/scrub.js';
import type { ContainerInfo, ComposeTarget, RenderedService, Runtime } from '../ports.js';
import { oneShotReplicaProblem } from '../model/validate.js';
import { listServiceContainers, ofService } from '../drift/containers.js';
import type { Logger } from '../ports.js';
import { acquireLock, releaseLock, type HeldLock, type LockRefusal } from './lock.js';
import { LineScrubber, registerEnvSecrets } from './logs.js';

export type ApplyStatus = 'applied' | 'no-op' | 'blocked' | 'refused' | 'failed';

export interface ApplyRequest extends GuardRequest {
  /** plan_hash of the reviewed plan (`stateguard plan --module <name>`); refuse when it differs */
  expectedPlanHash: string | undefined;
  breakStaleLock: boolean;
  staleAfterMs: number;
  /** who is applying (see describeHolder) */
  holder: string;
}

export interface ApplyDeps extends GuardDeps {
  log: Logger;
  /** registers a value with the CLI/action scrubber (and the runner's masking) */
  addSecret(value: string): void;
  now(): Date;
  /** monotonic milliseconds, for durations */
  clock?: () => number;
  /** how long to wait for the log stream to end after the container exited */
  logGraceMs?: number;
}

export interface DependencyState {
  module: string;
  container_ids: string[];
  states: string[];
  health: (string | null)[];
}

export interface DependencyCheck {
  module: string;
  before: DependencyState;
  after: DependencyState | null;
  ok: boolean;
  problem: string | null;
}

export interface ApplyOutcome {
  module: string;
  status: ApplyStatus;
  failure_reason: FailureReason | '';
  /** true when the outcome is "could not run" (exit 3) rather than a "no" (exit 1) */
  could_not_run: boolean;
  exit_code: number | null;
  container_id: string | null;
  duration_ms: number | null;
  plan_hash: string | null;
  expected_plan_hash: string | null;
  guard: GuardResult | null;
  lock: { name: string; holder: string; since: string; broke?: { holder: string; since: string } } | null;
  lock_refusal: LockRefusal | null;
  dependencies: DependencyCheck[];
  /** the sentence that explains the outcome (scrubbed) */
  verdict: string;
  /** what happened, in order, one sentence each (scrubbed) */
  messages: string[];
  /** the last lines of the one-shot's log (scrubbed) */
  log_tail: string[];
  warnings: string[];
}

const EVALUATION_REASONS: readonly FailureReason[] = ['docker-unavailable', 'compose-error', 'internal'];

function target(m: ModuleDecl): ComposeTarget {
  return { project: m.compose.project, files: [m.compose.path] };
}

function dependencyState(m: ModuleDecl, projectContainers: readonly ContainerInfo[]): DependencyState {
  const cs = ofService(projectContainers, m.compose.service).sort((a, b) => (a.id < b.id ? -1 : 1));
  return { module: m.name, container_ids: cs.map((c) => c.id), states: cs.map((c) => c.state), health: cs.map((c) => c.health) };
}

/**
 * Lists each compose project once, however many dependencies live in it (`listed` holds projects
 * already listed at this moment). A project that cannot be listed maps to its error.
 */
async function listProjects(runtime: Runtime, deps: readonly ModuleDecl[], listed = new Map<string, ContainerInfo[]>()): Promise<Map<string, ContainerInfo[] | Error>> {
  const out = new Map<string, ContainerInfo[] | Error>(listed);
  for (const d of deps) {
    if (out.has(d.compose.project)) continue;
    try {
      out.set(d.compose.project, await runtime.listProjectContainers(d.compose.project));
    } catch (err) {
      out.set(d.compose.project, err instanceof Error ? err : new Error(String(err)));
    }
  }
  return out;
}

/** Why a dependency is not "running, healthy where it has a healthcheck", or null. */
export function dependencyProblem(s: DependencyState): string | null {
  if (s.container_ids.length === 0) return `module '${s.module}' has no container`;
  const bad: string[] = [];
  s.container_ids.forEach((id, i) => {
    const st = s.states[i];
    const h = s.health[i];
    if (st !== 'running') bad.push(`${id.slice(0, 12)} is ${st}`);
    else if (h !== null && h !== undefined && h !== 'healthy') bad.push(`${id.slice(0, 12)} is ${h}`);
  });
  return bad.length ? `module '${s.module}': ${bad.join(', ')}` : null;
}

export function compareDependency(before: DependencyState, after: DependencyState): string | null {
  const same =
    before.container_ids.length === after.container_ids.length && before.container_ids.every((id, i) => after.container_ids[i] === id);
  if (!same) {
    return `module '${before.module}' was recreated or removed during the apply: container ${before.container_ids.map((i) => i.slice(0, 12)).join(',')} → ${after.container_ids.map((i) => i.slice(0, 12)).join(',') || 'none'}`;
  }
  return dependencyProblem(after);
}

function renderedImages(services: Record<string, { image?: string }>, service: string): string[] {
  const img = services[service]?.image;
  return typeof img === 'string' && img.trim() !== '' ? [img.trim()] : [];
}

export async function applyOneShot(req: ApplyRequest, deps: ApplyDeps): Promise<ApplyOutcome> {
  const m = req.module;
  const runtime = deps.runtime;
  const scrub = new Scrubber();
  const clock = deps.clock ?? (() => performance.now());
  const out: ApplyOutcome = {
    module: m.name,
    status: 'failed',
    failure_reason: 'internal',
    could_not_run: false,
    exit_code: null,
    container_id: null,
    duration_ms: null,
    plan_hash: null,
    expected_plan_hash: req.expectedPlanHash ?? null,
    guard: null,
    lock: null,
    lock_refusal: null,
    dependencies: [],
    verdict: '',
    messages: [],
    log_tail: [],
    warnings: [],
  };
  const say = (msg: string): void => {
    const clean = scrub.scrub(msg);
    out.messages.push(clean);
    deps.log.info(clean);
  };
  // Set once anything was started on the engine: from then on no outcome is "could not run"
  // (exit 3) — something ran, so the answer is a "no" with what happened (exit 1).
  const ran = { started: false };
  const end = (status: ApplyStatus, reason: FailureReason | '', message: string, couldNotRun = false): ApplyOutcome => {
    out.status = status;
    out.failure_reason = reason;
    out.could_not_run = couldNotRun && !ran.started;
    say(message);
    out.verdict = out.messages[out.messages.length - 1]!;
    return out;
  };

  // A long-running module is never applied by this path: refuse before touching the engine.
  if (m.expectedState !== 'exited-success') {
    return end(
      'refused',
      'drift-not-allowed',
      `apply only re-runs one-shot modules (expected_state: exited-success); module '${m.name}' is expected_state: ${m.expectedState}. ` +
        `Deploy long-running services through your normal deploy, not stateguard apply.`,
    );
  }
  const dependencies: ModuleDecl[] = [];
  for (const name of m.dependsOnHealthy) {
    const d = req.modules.find((x) => x.name === name);
    if (!d) return end('refused', 'invalid-modules', `depends_on_healthy names '${name}', which is not a module; run stateguard validate.`);
    dependencies.push(d);
  }

  // 1. Lock. The module's image (rendered by compose) is the preferred lock image.
  let moduleImages: string[] = [];
  let rendered: RenderedService | undefined;
  try {
    const services = (await runtime.renderProject(target(m))).services;
    rendered = services[m.compose.service];
    moduleImages = renderedImages(services, m.compose.service);
  } catch {
    // Not fatal here: the fresh plan below renders again and blocks with the precise reason.
  }
  const taken = await acquireLock(
    runtime,
    {
      module: m.name,
      project: m.compose.project,
      service: m.compose.service,
      moduleImages,
      holder: req.holder,
      now: deps.now(),
      staleAfterMs: req.staleAfterMs,
      breakStale: req.breakStaleLock,
    },
    m.timeoutSeconds,
  );
  if (!taken.acquired) {
    out.lock_refusal = taken.refusal;
    return end('refused', 'locked', taken.refusal.message);
  }
  const lock: HeldLock = taken.lock;
  out.lock = { name: lock.name, holder: lock.holder, since: lock.since, ...(lock.broke ? { broke: lock.broke } : {}) };
  if (lock.broke) {
    const w = `broke a stale apply lock held by ${lock.broke.holder} since ${lock.broke.since} (break-stale-lock: true)`;
    out.warnings.push(w);
    deps.log.warn(w);
  }
  say(`took the apply lock ${lock.name}`);

  try {
    return await underLock(req, deps, out, { say, end, scrub, clock, dependencies, rendered, ran });
  } catch (err) {
    // Fail closed: whatever broke, this is not a success.
    const reason: FailureReason = err instanceof EnvironmentError ? err.reason : 'internal';
    return end('failed', reason, `apply stopped: ${errorMessage(err)}`, true);
  } finally {
    const problem = await releaseLock(runtime, lock);
    if (problem) {
      out.warnings.push(problem);
      deps.log.warn(problem);
    } else {
      out.messages.push(`released the apply lock ${lock.name}`);
    }
  }
}

interface Helpers {
  say(msg: string): void;
  end(status: ApplyStatus, reason: FailureReason | '', message: string, couldNotRun?: boolean): ApplyOutcome;
  scrub: Scrubber;
  clock(): number;
  dependencies: ModuleDecl[];
  /** the service as compose rendered it before the lock (undefined when it could not render) */
  rendered: RenderedService | undefined;
  ran: { started: boolean };
}

async function underLock(req: ApplyRequest, deps: ApplyDeps, out: ApplyOutcome, h: Helpers): Promise<ApplyOutcome> {
  const m = req.module;
  const runtime = deps.runtime;
  const { say, end, scrub } = h;

  // 2. Fresh plan and guard with the same inputs: a reviewed plan may be stale by now.
  const ev = await evaluateGuard(req, deps);
  out.guard = ev.result;
  out.plan_hash = ev.planHash;
  if (req.expectedPlanHash !== undefined && ev.planHash !== null && ev.planHash !== req.expectedPlanHash) {
    return end(
      'refused',
      'plan-changed',
      `the fresh plan of '${m.name}' (plan_hash ${ev.planHash}) differs from the reviewed one (expected-plan-hash ${req.expectedPlanHash}). ` +
        `The module's compose definition or its drift changed since that plan. Re-run stateguard plan --module ${m.name}, ` +
        `review it, and pass that module's plan_hash (shown per module in the plan, its summary and the PR comment).`,
    );
  }
  if (ev.result.decision === 'blocked') {
    const first = ev.result.reasons[0];
    return end(
      'blocked',
      ev.result.failure_reason || 'internal',
      `the guard blocked the apply of '${m.name}': ` + ev.result.reasons.map((r) => `${r.message} — fix: ${r.fix}`).join(' | '),
      first !== undefined && EVALUATION_REASONS.includes(first.code),
    );
  }
  if (ev.result.decision === 'no-op') {
    return end('no-op', '', `module '${m.name}' is in sync: nothing to apply`);
  }
  if (ev.result.decision !== 'allowed') {
    return end('blocked', 'internal', `unexpected guard decision ${JSON.stringify(ev.result.decision)}; stateguard failed closed`, true);
  }
  say(`guard: allowed (${ev.result.drift_keys.join(', ')})`);

  // 3. A run still in progress is never doubled.
  // A manual `compose run <service>` still in progress is a run too: it is never doubled either.
  const all = await runtime.listProjectContainers(m.compose.project);
  const before = ofService(all, m.compose.service);
  const busy = all.filter(
    (c) => c.service === m.compose.service && (c.state === 'running' || c.state === 'restarting' || c.state === 'paused'),
  );
  if (busy.length > 0 || ev.plan?.observed.state === 'running') {
    return end(
      'refused',
      'still-running',
      `module '${m.name}' is still running (${busy.map((c) => `${c.id.slice(0, 12)} ${c.state}`).join(', ') || 'per the plan'}); ` +
        `a second run is refused. Wait for it to exit (docker wait), then apply again.`,
    );
  }
  // Secrets of the previous run's environment are masked too (the new one usually has the same).
  for (const c of before) registerEnvSecrets(c.env, scrub, deps.addSecret);

  // 4. Dependencies must be healthy before, and unchanged after.
  const depBefore: DependencyState[] = [];
  const listedBefore = await listProjects(runtime, h.dependencies, new Map([[m.compose.project, all]]));
  for (const d of h.dependencies) {
    const listing = listedBefore.get(d.compose.project)!;
    if (listing instanceof Error) throw listing;
    const s = dependencyState(d, listing);
    const problem = dependencyProblem(s);
    if (problem) {
      out.dependencies.push({ module: d.name, before: s, after: null, ok: false, problem });
      return end(
        'refused',
        'dependency-disturbed',
        `depends_on_healthy is not healthy before the apply (${problem}); nothing was run. Bring it back to running and healthy first.`,
      );
    }
    depBefore.push(s);
  }

  // A one-shot runs as exactly one container: compose would start `scale`/`deploy.replicas` of
  // them against the same data at once. validate refuses it statically; this is the rendered value.
  const replicas = h.rendered ? oneShotReplicaProblem(h.rendered) : 'could not be rendered to check its replica count';
  if (replicas) {
    return end(
      'refused',
      'invalid-modules',
      `one-shot service '${m.compose.service}' ${replicas}; a one-shot runs as exactly one container. Nothing was run: set it to 1 or remove it, then apply again.`,
    );
  }

  // apply never pulls (or builds): the image that runs is the one on the engine now, or nothing runs.
  const declaredImage = ev.plan?.declared.image;
  if (!declaredImage) return end('blocked', 'internal', `the fresh plan of '${m.name}' names no declared image; stateguard failed closed`, true);
  const local = await runtime.imageIds([declaredImage]);
  if (!local[declaredImage]) {
    return end(
      'refused',
      'image-not-present',
      `image ${declaredImage} of '${m.compose.service}' is not on the engine, and apply never pulls or builds: ` +
        `pull (or build) it deliberately, re-plan, review the plan, then apply again.`,
    );
  }

  const started = h.clock();
  h.ran.started = true;
  const rec = await runtime.recreateService(target(m), m.compose.service);
  if (rec.code !== 0) {
    const detail = scrub.scrub((rec.stderr || rec.stdout).trim().split('\n').slice(-5).join(' / '));
    await checkDependencies(runtime, h.dependencies, depBefore, out);
    return end('failed', 'compose-error', `compose could not recreate '${m.compose.service}' (exit ${rec.code}): ${detail}`, true);
  }
  const oldIds = new Set(before.map((c) => c.id));
  const fresh = (await listServiceContainers(runtime, m.compose)).filter((c) => !oldIds.has(c.id));
  if (fresh.length !== 1) {
    // More than one run against the same data must not go on: stop every one of them.
    let stopped = '';
    if (fresh.length > 1) {
      try {
        await runtime.stop(fresh.map((c) => c.id), 10);
        stopped = ` Stopped all of them (${fresh.map((c) => c.id.slice(0, 12)).join(', ')}); check the module's data.`;
      } catch (err) {
        stopped = ` Could not stop them (${errorMessage(err)}): stop ${fresh.map((c) => c.id.slice(0, 12)).join(', ')} by hand now.`;
      }
    }
    await checkDependencies(runtime, h.dependencies, depBefore, out);
    return end(
      'failed',
      'compose-error',
      `after recreating '${m.compose.service}' expected exactly one new container, found ${fresh.length}; refusing to guess which ran.${stopped}`,
    );
  }
  const run = fresh[0]!;
  out.container_id = run.id;
  // 6 (before any log line): every secret-looking value of the container's environment.
  registerEnvSecrets(run.env, scrub, deps.addSecret);
  say(`started ${m.compose.service} as container ${run.id.slice(0, 12)}; waiting up to ${m.timeoutSeconds}s for it to exit`);

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
    out.duration_ms = Math.round(h.clock() - started);
    await settle(logsDone, deps.logGraceMs ?? 15_000);
    lines.flush();
    out.log_tail = lines.lastLines();
    await checkDependencies(runtime, h.dependencies, depBefore, out);
    return end('failed', err instanceof EnvironmentError ? err.reason : 'internal', `waiting for the one-shot failed: ${errorMessage(err)}`, true);
  }
  if (waited.timedOut) {
    say(`the one-shot did not exit within timeout_seconds (${m.timeoutSeconds}s); stopping it`);
    try {
      await runtime.stop([run.id], 10);
    } catch (err) {
      out.warnings.push(scrub.scrub(`could not stop ${run.id.slice(0, 12)}: ${errorMessage(err)}; stop it by hand`));
    }
  }
  out.duration_ms = Math.round(h.clock() - started);
  await settle(logsDone, deps.logGraceMs ?? 15_000);
  lines.flush();
  out.log_tail = lines.lastLines();
  out.exit_code = waited.timedOut ? null : waited.exitCode;
  if (!waited.timedOut && waited.exitCode === 0) await recordSuccess(runtime, m, run, declaredConfigHash(ev), deps.now(), out, deps.log);

  // 7. Success needs exit 0 AND every dependency untouched.
  const depsOk = await checkDependencies(runtime, h.dependencies, depBefore, out);
  const problems = out.dependencies.filter((d) => !d.ok).map((d) => d.problem);
  if (!depsOk) {
    const also = waited.timedOut ? ' The one-shot also timed out.' : waited.exitCode !== 0 ? ` The one-shot also exited ${waited.exitCode}.` : '';
    return end('failed', 'dependency-disturbed', `a depends_on_healthy module was disturbed: ${problems.join('; ')}.${also} Check it now.`);
  }
  if (waited.timedOut) {
    return end('failed', 'timeout', `module '${m.name}' was stopped after timeout_seconds (${m.timeoutSeconds}s) without exiting.`);
  }
  if (waited.exitCode !== 0) {
    return end('failed', 'one-shot-failed', `module '${m.name}' exited ${waited.exitCode}; see its log above. Fix the cause, re-plan and apply again.`);
  }
  return end('applied', '', `module '${m.name}' ran to success (exit 0) in ${out.duration_ms} ms; its dependencies are unchanged.`);
}

/**
 * Record on the engine what just ran to success (container, image, declared and labelled config
 * hash), so a later plan can prove what last ran even after the container is removed, and can tell
 * that a compose v2 `up --no-deps` label belongs to the declared config. A record that cannot be
 * written is a warning: the run itself succeeded, and without a record the plan only errs towards
 * drift (a pending re-run or an unverifiable image), never towards "in sync".
 */
async function recordSuccess(runtime: Runtime, m: ModuleDecl, run: ContainerInfo, configHash: string, now: Date, out: ApplyOutcome, log: ApplyDeps['log']): Promise<void> {
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
    const w = `could not record the successful run on the engine (${errorMessage(err)}); the next plan may show the one-shot as pending again`;
    out.warnings.push(w);
    log.warn(w);
  }
}

function declaredConfigHash(ev: { plan: { declared: { config_hash: string } } | null }): string {
  return ev.plan?.declared.config_hash ?? '';
}

async function checkDependencies(runtime: Runtime, deps: ModuleDecl[], before: DependencyState[], out: ApplyOutcome): Promise<boolean> {
  let ok = true;
  const listed = await listProjects(runtime, deps);
  for (const [i, d] of deps.entries()) {
    const b = before[i]!;
    let after: DependencyState | null = null;
    let problem: string | null;
    const listing = listed.get(d.compose.project)!;
    if (listing instanceof Error) {
      problem = `module '${d.name}' could not be read after the apply: ${errorMessage(listing)}`;
    } else {
      after = dependencyState(d, listing);
      problem = compareDependency(b, after);
    }
    if (problem) ok = false;
    out.dependencies.push({ module: d.name, before: b, after, ok: problem === null, problem });
  }
  return ok;
}

/** Wait for a promise, but never longer than ms (a stuck log stream must not hang the apply). */
async function settle(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  if (timer) clearTimeout(timer);
}
