/**
 * Human renderings of a plan: the terminal table, and the markdown used for the job summary and
 * the sticky PR comment. Pure; a plan holds no environment values, so neither does any rendering.
 */
import type { DriftItem, ModulePlan, PendingUpgrade, Plan } from '../drift/types.js';

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
  return `${d.key}: declared ${d.declared}, observed ${d.observed}${extra ? ` (${extra})` : ''}${fields}`;
}

/** `compose v2 2.26.1`: which compose rendered the declared side. */
export function composeText(plan: Plan): string {
  return `compose ${plan.compose.flavor} ${plan.compose.version}`;
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
export function renderPlanText(plan: Plan): string {
  if (plan.modules.length === 0) return 'No modules to plan.';
  const rows = [['MODULE', 'CLASS', 'EXPECTED', 'OBSERVED', 'DRIFT']];
  for (const m of plan.modules) {
    rows.push([
      m.name,
      m.class,
      m.expected_state,
      observedText(m),
      m.in_sync ? 'in sync' : m.drift.map((d) => d.key).join(', '),
    ]);
  }
  const lines = pad(rows);
  const drifted = plan.modules.filter((m) => !m.in_sync);
  if (drifted.length > 0) {
    lines.push('');
    for (const m of drifted) {
      lines.push(`${m.name} (${m.compose.project}/${m.compose.service}, ${m.compose.file}):`);
      for (const d of m.drift) lines.push(`  - ${driftText(d)}`);
      if (m.upgrade) for (const l of upgradeLines(m.upgrade)) lines.push(`  ${l}`);
      lines.push(`  plan_hash (pass to apply as --expected-plan-hash): ${m.plan_hash}`);
    }
  }
  lines.push('');
  lines.push(
    drifted.length === 0
      ? `${plan.summary.modules} module${plan.summary.modules === 1 ? '' : 's'}, all in sync.`
      : `${plan.summary.modules} module${plan.summary.modules === 1 ? '' : 's'}, ${plan.summary.drifted} drifted: ` +
          `${drifted.map((m) => m.name).join(', ')}.`,
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

/** Markdown for the job summary and the PR comment. `maxChars` bounds it (GitHub caps comments at 65536). */
export function renderPlanMarkdown(plan: Plan, opts: { title?: string; maxChars?: number } = {}): string {
  const title = opts.title ?? 'stateguard plan';
  const head =
    plan.summary.drifted === 0
      ? `### ${title}: ${plan.summary.modules} module${plan.summary.modules === 1 ? '' : 's'}, all in sync`
      : `### ${title}: ${plan.summary.drifted} of ` +
        `${plan.summary.modules} module${plan.summary.modules === 1 ? '' : 's'} drifted`;
  const tail =
    `\n\nPlanned with ` +
    `${composeText(plan)}. Pass a module's plan hash to apply as \`expected-plan-hash\`; it binds the drift and the ` +
    `declared definition you reviewed.`;
  const rows: string[] = [];
  // Drifted modules first: they are what a reviewer needs; in-sync ones are dropped first when long.
  const ordered = [...plan.modules.filter((m) => !m.in_sync), ...plan.modules.filter((m) => m.in_sync)];
  for (const m of ordered) {
    const items = [...m.drift.map(driftText), ...(m.upgrade ? upgradeLines(m.upgrade) : [])];
    const drift = m.in_sync ? 'in sync' : items.map(mdCell).join('<br>');
    const hash = m.in_sync ? '' : `\`${m.plan_hash}\``;
    rows.push(
      `| ${m.in_sync ? '✅' : '⚠️'} ${mdCell(m.name)} | ${m.class} | ${m.expected_state} | ` +
        `${mdCell(`${m.compose.project}/${m.compose.service}`)} | ${mdCell(observedText(m))} | ${drift} | ${hash} |`,
    );
  }
  const header =
    `${head}\n\n| module | class | expected | compose | observed | drift | plan hash ` +
    `|\n|---|---|---|---|---|---|---|\n`;
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
  // Release notes of held upgrades, after the table, as long as they fit (the JSON always has them).
  let details = '';
  for (const m of ordered.slice(0, shown)) {
    const d = m.upgrade ? upgradeNotesDetails(m.name, m.upgrade) : '';
    if (d && header.length + body.length + omittedNote.length + details.length + d.length + 2 + tail.length <= max) {
      details += `\n\n${d}`;
    }
  }
  return header + body.trimEnd() + omittedNote + details + tail;
}
