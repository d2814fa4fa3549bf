/**
 * Human renderings of a plan: the terminal table, and the markdown used for the job summary and
 * the sticky PR comment. Pure. A plan holds no environment values; the run context (commit, run
 * link) that the markdown may show is passed in already validated (see runContextFromEnv in
 * ./pr-comment.ts) and is checked here again before it reaches markdown.
 */
import type { DriftItem, ModulePlan, PendingUpgrade, Plan } from '../drift/types.js';
import { nextStepOf, type Segment } from './next-steps.js';

function observedText(m: ModulePlan): string {
  const o = m.observed;
  if (o.state === 'missing') return 'missing';
  let s = o.state === 'exited' || o.state === 'dead' ? `${o.state} (${o.exit_code ?? '?'})` : o.state;
  if (o.health) s += `, ${o.health}`;
  if (o.replicas) s += ` x${o.replicas}`;
  return s;
}

export function driftText(d: DriftItem): string {
  const extra = [d.reason, d.bump ? `bump: ${d.bump}` : undefined].filter(Boolean).join(', ');
  const fields =
    d.fields === undefined
      ? ''
      : d.fields.length > 0
        ? `; differs in: ${d.fields.join(', ')}`
        : '; no compared field differs (the config hash does)';
  const head = `${d.key}: declared ${d.declared}, observed ${d.observed}${extra ? ` (${extra})` : ''}`;
  return `${head}${fields}${allowanceText(d)}`;
}

/**
 * What the drift allowlist says of an item (docs/architecture.md §3, "Drift allowlist"): `— allowed until
 * DATE: reason`, or why it still counts (expired, fields not allowed, not proven). Empty when no entry names it.
 */
export function allowanceText(d: DriftItem): string {
  if (!d.allowances || d.allowances.length === 0) return '';
  const each = d.allowances
    .filter((a) => !a.expired)
    .map((a) => `${a.fields ? `${a.fields.join(', ')} ` : ''}until ${a.until}: ${a.reason}`);
  if (d.allowed === true) return ` — ALLOWED (${each.join('; ')})`;
  return ` — counts: ${d.allowance_note ?? 'not allowed'}${each.length ? ` (allowed: ${each.join('; ')})` : ''}`;
}

/** `container.config (allowed)` in the table's drift column. */
function keyText(d: DriftItem): string {
  return d.allowed === true ? `${d.key} (allowed)` : d.key;
}

/** `compose v2 2.26.1` (and/or `swarm, engine 20.10.24`): what rendered the declared side. */
export function composeText(plan: Plan): string {
  const one = (i: Plan['compose']): string =>
    i.flavor === 'swarm' ? `swarm, engine ${i.version}` : `compose ${i.flavor} ${i.version}`;
  return plan.swarm ? `${one(plan.compose)}; ${one(plan.swarm)}` : one(plan.compose);
}

/** `pending upgrade: FROM → TO (bump)` and, when the upgrade gate would hold it, `would be held: …`. */
export function upgradeLines(u: PendingUpgrade): string[] {
  const lines = [`pending upgrade: ${u.from} → ${u.to} (${u.bump})`];
  if (u.would_hold) lines.push(`would be held: ${u.would_hold}: ${u.message}`);
  return lines;
}

function htmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The release notes excerpt of a held upgrade, collapsed; HTML-escaped in <pre> so nothing in it renders. */
export function upgradeNotesDetails(name: string, u: PendingUpgrade): string {
  const notes = u.release_notes;
  if (!u.would_hold || !notes || notes.excerpt === '') return '';
  const flagged = notes.flagged.length > 0 ? ` — flagged: ${notes.flagged.map((f) => `'${f}'`).join(', ')}` : '';
  return (
    `<details><summary>${htmlText(name)}: release notes ${htmlText(notes.path)}${htmlText(flagged)}</summary>\n\n` +
    `<pre>${htmlText(notes.excerpt)}</pre>\n\n</details>`
  );
}

function pad(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** The readable table printed by `stateguard plan`. */
export function renderPlanText(plan: Plan, backupModules?: PlanMarkdownOptions['backupModules']): string {
  if (plan.modules.length === 0) return 'No modules to plan.';
  const rows = [['MODULE', 'CLASS', 'EXPECTED', 'OBSERVED', 'DRIFT']];
  for (const m of plan.modules) {
    rows.push([
      m.name,
      m.class,
      m.expected_state,
      observedText(m),
      m.in_sync
        ? m.drift.length > 0
          ? `in sync; ${m.drift.map(keyText).join(', ')}`
          : 'in sync'
        : [
            ...m.drift.map(keyText),
            ...(m.interrupted_operation?.status === 'open' ? ['interrupted operation'] : []),
          ].join(', '),
    ]);
  }
  const lines = pad(rows);
  const drifted = plan.modules.filter((m) => !m.in_sync);
  if (drifted.length > 0) {
    lines.push('');
    for (const m of drifted) {
      lines.push(`${m.name} (${m.compose.project}/${m.compose.service}, ${m.compose.file}):`);
      for (const d of m.drift) lines.push(`  - ${driftText(d)}`);
      if (m.interrupted_operation?.status === 'open') lines.push(`  ⚠ ${m.interrupted_operation.message}`);
      if (m.upgrade) for (const l of upgradeLines(m.upgrade)) lines.push(`  ${l}`);
      lines.push(`  plan_hash (pass as --expected-plan-hash): ${m.plan_hash}`);
      for (const l of nextStepLines(m, backupModules?.[m.name])) lines.push(`  ${l}`);
    }
  }
  // In sync with allowed drift: the items stay visible, with their reason and until.
  for (const m of plan.modules.filter((x) => x.in_sync && x.drift.length > 0)) {
    lines.push('');
    lines.push(`${m.name} (${m.compose.project}/${m.compose.service}, ${m.compose.file}): in sync, allowed drift:`);
    for (const d of m.drift) lines.push(`  - ${driftText(d)}`);
  }
  for (const m of plan.modules.filter((x) => x.interrupted_operation?.status === 'could-not-check')) {
    lines.push('');
    lines.push(`⚠ ${m.interrupted_operation!.message}`);
  }
  const allowed = plan.modules.reduce((n, m) => n + m.drift.filter((d) => d.allowed === true).length, 0);
  lines.push('');
  lines.push(
    (drifted.length === 0
      ? `${plan.summary.modules} module${plan.summary.modules === 1 ? '' : 's'}, all in sync.`
      : `${plan.summary.modules} module${plan.summary.modules === 1 ? '' : 's'}, ${plan.summary.drifted} drifted: ` +
        `${drifted.map((m) => m.name).join(', ')}.`) +
      (allowed > 0 ? ` ${allowed} allowed drift item${allowed === 1 ? '' : 's'} (spec.drift.allow) not counted.` : ''),
  );
  lines.push(`planned with ${composeText(plan)}; whole-plan hash ${plan.plan_hash}`);
  return lines.join('\n');
}

/** Markdown-safe table cell (also neutralises HTML so a value cannot close the comment marker). */
export function mdCell(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/`/g, "'")
    .replace(/\r?\n/g, ' ');
}

/** Which commit and run a rendering describes; each part is omitted when missing or malformed. */
export interface RunContext {
  /** the full commit SHA (hex) */
  sha?: string;
  /** `<server>/<owner>/<repo>/actions/runs/<id>` */
  runUrl?: string;
}

export interface PlanMarkdownOptions {
  title?: string;
  /** GitHub caps comments at 65536 characters */
  maxChars?: number;
  run?: RunContext;
  /** per module, the modules whose snapshots cover it (itself and its backup.ref_modules) */
  backupModules?: Readonly<Record<string, readonly string[]>>;
}

/** A module's drift list longer than this is collapsed in `<details>`. */
export const DRIFT_COLLAPSE_AT = 10;

const SHA_RE = /^[0-9a-f]{7,64}$/i;
const RUN_URL_RE = /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?(?:\/[A-Za-z0-9._~-]+)*\/actions\/runs\/\d+$/;

/** An inline code span that no value can break out of (no backtick, pipe or line break survives). */
function codeSpan(text: string): string {
  return `\`${text.replace(/[`|\r\n]/g, ' ')}\``;
}

/** `commit abc1234 · run` line; empty when neither part is known and well-formed. */
export function runContextLine(run: RunContext | undefined): string {
  const parts: string[] = [];
  if (run?.sha && SHA_RE.test(run.sha)) parts.push(`commit ${codeSpan(run.sha.slice(0, 7).toLowerCase())}`);
  if (run?.runUrl && RUN_URL_RE.test(run.runUrl)) parts.push(`[workflow run](${run.runUrl})`);
  return parts.join(' · ');
}

/** A code span for a step; a value holding `<`, `>` or `&` is written as escaped words instead (no HTML, no `-->`). */
function stepCode(text: string): string {
  return /[<>&]/.test(text) ? mdCell(text) : codeSpan(text);
}

function mdSegments(segs: readonly Segment[]): string {
  return segs.map((x) => (typeof x === 'string' ? mdCell(x) : stepCode(x.code))).join('');
}

function textSegments(segs: readonly Segment[]): string {
  return segs.map((x) => (typeof x === 'string' ? x : `\`${x.code}\``)).join('');
}

/**
 * What to do next for a drifted module (./next-steps.ts), as one markdown list item: what is true,
 * the workflow to dispatch with its inputs, and the CLI line. Empty for in-sync modules.
 */
export function nextStep(m: ModulePlan, backupModules?: readonly string[]): string {
  const s = nextStepOf(m, backupModules);
  if (!s) return '';
  let line = `- **${mdCell(s.module)}**: ${mdSegments(s.say)}`;
  if (s.workflow) {
    const inputs = s.workflow.inputs.map(
      (i) =>
        `${codeSpan(i.name)}=${i.raw ? mdSegments(i.raw) : stepCode(i.value)}${i.note ? ` (${mdCell(i.note)})` : ''}`,
    );
    line += ` ${stepCode(s.workflow.file)} with ${inputs.join(', ')}`;
  }
  if (s.cli) line += `${s.workflow ? '; or from a shell:' : ':'} ${stepCode(s.cli)}`;
  return line;
}

/** The same next step as lines for the terminal table (indented under the module). */
export function nextStepLines(m: ModulePlan, backupModules?: readonly string[]): string[] {
  const s = nextStepOf(m, backupModules);
  if (!s) return [];
  const lines = [`next: ${textSegments(s.say)}${s.workflow ? ` ${s.workflow.file} with` : ''}`];
  if (s.workflow) {
    const inputs = s.workflow.inputs.map(
      (i) => `${i.name}=${i.raw ? textSegments(i.raw) : i.value}${i.note ? ` (${i.note})` : ''}`,
    );
    lines[0] += ` ${inputs.join(', ')}`;
  }
  if (s.cli) lines.push(`${s.workflow ? 'or' : 'run'}: ${s.cli}`);
  return lines;
}

function driftCell(items: string[]): string {
  const cells = items.map(mdCell);
  if (cells.length <= DRIFT_COLLAPSE_AT) return cells.join('<br>');
  return `<details><summary>${cells.length} drift items</summary>${cells.join('<br>')}</details>`;
}

/** Markdown for the job summary and the PR comment. `maxChars` bounds it (GitHub caps comments at 65536). */
export function renderPlanMarkdown(plan: Plan, opts: PlanMarkdownOptions = {}): string {
  const title = opts.title ?? 'stateguard plan';
  const head =
    plan.summary.drifted === 0
      ? `### ${title}: ${plan.summary.modules} module${plan.summary.modules === 1 ? '' : 's'}, all in sync`
      : `### ${title}: ${plan.summary.drifted} of ` +
        `${plan.summary.modules} module${plan.summary.modules === 1 ? '' : 's'} drifted`;
  const context = runContextLine(opts.run);
  const refused = (plan.refused ?? [])
    .map((r) => `\n- ⛔ ${mdCell(r.name)} was not planned: ${mdCell(r.message)}`)
    .join('');
  const tail =
    (refused ? `\n\n**Refused modules** (nothing about them is known):${refused}` : '') +
    `\n\nPlanned with ` +
    `${composeText(plan)}. Pass a module's plan hash to apply or upgrade as \`expected-plan-hash\`; it binds the ` +
    'drift and the ' +
    `declared definition you reviewed.`;
  const rows: string[] = [];
  // Drifted modules first: they are what a reviewer needs; in-sync ones are dropped first when long.
  const ordered = [...plan.modules.filter((m) => !m.in_sync), ...plan.modules.filter((m) => m.in_sync)];
  for (const m of ordered) {
    const items = [...m.drift.map(driftText), ...(m.upgrade ? upgradeLines(m.upgrade) : [])];
    const drift = m.in_sync ? (m.drift.length > 0 ? driftCell(['in sync', ...items]) : 'in sync') : driftCell(items);
    rows.push(
      `| ${m.in_sync ? '✅' : '⚠️'} ${mdCell(m.name)} | ${m.class} | ${m.expected_state} | ` +
        `${mdCell(`${m.compose.project}/${m.compose.service}`)} | ${mdCell(observedText(m))} | ${drift} | ` +
        `${codeSpan(m.plan_hash)} |`,
    );
  }
  const header =
    `${head}\n\n${context ? `${context}\n\n` : ''}` +
    `| module | class | expected | compose | observed | drift | plan hash |\n|---|---|---|---|---|---|---|\n`;
  const max = opts.maxChars ?? Infinity;
  let body = '';
  let shown = 0;
  for (const r of rows) {
    const omittedNote = `\n\n…and ${rows.length - shown - 1} more modules (see the plan JSON).`;
    if (header.length + body.length + r.length + 1 + tail.length + omittedNote.length > max) break;
    body += r + '\n';
    shown++;
  }
  const omitted = rows.length - shown;
  const omittedNote = omitted > 0 ? `\n\n…and ${omitted} more modules (see the plan JSON).` : '';
  const used = (): number => header.length + body.length + omittedNote.length + extra.length + tail.length;
  let extra = '';
  // Next steps (what to dispatch), then release notes of held upgrades, as long as they fit (the JSON has all).
  const steps: string[] = [];
  for (const m of ordered.slice(0, shown)) {
    const step = nextStep(m, opts.backupModules?.[m.name]);
    if (!step) continue;
    const heading = steps.length === 0 ? '\n\n**Next steps**\n\n' : '\n';
    if (used() + heading.length + step.length > max) break;
    extra += heading + step;
    steps.push(step);
  }
  for (const m of ordered.slice(0, shown)) {
    const d = m.upgrade ? upgradeNotesDetails(m.name, m.upgrade) : '';
    if (d && used() + d.length + 2 <= max) extra += `\n\n${d}`;
  }
  return header + body.trimEnd() + omittedNote + extra + tail;
}
