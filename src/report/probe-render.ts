/**
 * Human renderings of a persistence probe's report (src/probe/persistence.ts), for e2e-gate: the
 * text lines and the job-summary markdown. Pure.
 */
import type { ProbeReport } from '../probe/persistence.js';
import { cell, code } from './markdown.js';

/** The probe's report as text: a heading line, one line per checked path, its problems and note. */
export function probeReportLines(p: ProbeReport): string[] {
  const ids = `${p.old_container?.slice(0, 12) ?? '-'} → ${p.new_container?.slice(0, 12) ?? '-'}`;
  const out = [
    `persistence probe of ${p.module} (${p.project}/${p.service}, ${ids}): ${p.passed ? 'passed' : 'FAILED'}`,
  ];
  for (const c of p.checks) {
    const want = c.kind === 'durable' ? 'must survive' : 'must not survive';
    out.push(
      `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.kind.padEnd(9)} ${c.path} (${want}): ${
        c.after_recreate ?? (c.written ? 'not ' + 'checked' : 'not written')
      }`,
    );
  }
  for (const problem of p.problems) out.push(`  ${problem}`);
  if (p.cleanup.note) out.push(`  note: ${p.cleanup.note}`);
  return out;
}

/** The probe's report for the job summary: a heading line and a table of the checked paths. */
export function probeReportMarkdown(p: ProbeReport): string {
  const rows = p.checks.map(
    (c) =>
      `| ${cell(c.path)} | ${c.kind}${c.volume ? ` (${cell(c.volume)})` : ''} | ${c.after_recreate ?? '—'} | ` +
      `${c.ok ? 'ok' : '**fail**'} |`,
  );
  let md =
    `**Persistence probe** of ${code(p.module)}: ${p.passed ? 'passed' : '**failed**'} ` +
    `(container ${p.old_container?.slice(0, 12) ?? '—'} → ${p.new_container?.slice(0, 12) ?? '—'})\n\n` +
    `| path | kind | after recreate | result |\n|---|---|---|---|\n${rows.join('\n')}\n`;
  if (p.problems.length) md += '\n' + p.problems.map((x) => `- ${cell(x)}`).join('\n') + '\n';
  if (p.cleanup.note) md += `\n> ${cell(p.cleanup.note)}\n`;
  return md;
}
