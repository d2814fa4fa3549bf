/**
 * SG204 env-file-injection (docs/rules.md, docs/architecture.md §9): under a privileged trigger, a
 * `run:` that writes attacker data to `$GITHUB_ENV`, `$GITHUB_OUTPUT` or `$GITHUB_PATH`. Each write
 * is read on its own line (backslash continuations joined); a write that redirects a block (`} >>`,
 * `done >>`, a heredoc) is judged by everything the script reads (fail closed). Pure.
 */
import type { Position } from '../../model/yaml-source.js';
import { assignmentsOf } from '../shell.js';
import { scriptTaint, type TaintScope } from '../taint.js';
import { privilegedOf } from './context.js';

export const ENV_FILE_ANCHOR = 'docs/rules.md#sg204-env-file-injection';

/** A write to one of the files: `>> $GITHUB_ENV`, `> "${GITHUB_OUTPUT}"`, `tee -a $GITHUB_PATH`, `$env:GITHUB_ENV`. */
const FILES = 'GITHUB_ENV|GITHUB_OUTPUT|GITHUB_PATH';
const WRITE = new RegExp(String.raw`(?:>>?|\btee\b(?:\s+-[a-z-]+)*)\s*["']?\$\{?(${FILES})\b|\$env:(${FILES})\b`, 'gi');
/** A line whose redirection applies to more than itself. */
const BLOCK = /^\s*(?:\}|\)|done\b|fi\b|esac\b)|<</;

export interface EnvFileWrite {
  /** offset of the file's name in the script */
  offset: number;
  file: string;
  /** the attacker data written */
  source: string;
}

/** The script's variables (lower case) that hold attacker data, followed through its assignments. */
function taintedShellVars(script: string, scope: TaintScope): Map<string, string> {
  const assigned = assignmentsOf(script);
  const out = new Map<string, string>();
  for (let changed = true, rounds = 0; changed && rounds < 16; rounds++) {
    changed = false;
    for (const [name, values] of assigned) {
      const key = name.toLowerCase();
      if (out.has(key)) continue;
      for (const v of values) {
        const t = scriptTaint(v, scope, out);
        if (t !== undefined) {
          out.set(key, `$${name} (from ${t})`);
          changed = true;
          break;
        }
      }
    }
  }
  return out;
}

/** Every write of attacker data to an environment file in one script. */
export function envFileWrites(script: string, scope: TaintScope): EnvFileWrite[] {
  if (!/GITHUB_(?:ENV|OUTPUT|PATH)/i.test(script)) return [];
  const vars = taintedShellVars(script, scope);
  const out: EnvFileWrite[] = [];
  let whole: string | undefined | null = null;
  // logical lines: a trailing backslash continues the line
  let start = 0;
  const lines: { text: string; start: number }[] = [];
  const raw = script.split('\n');
  let buf = '';
  let offset = 0;
  for (const l of raw) {
    if (buf === '') start = offset;
    buf += (buf === '' ? '' : '\n') + l;
    offset += l.length + 1;
    if (!l.endsWith('\\')) {
      lines.push({ text: buf, start });
      buf = '';
    }
  }
  if (buf !== '') lines.push({ text: buf, start });
  for (const line of lines) {
    for (const m of line.text.matchAll(WRITE)) {
      const file = (m[1] ?? m[2]!).toUpperCase();
      // the file's own name is not data written to it
      const data = line.text.slice(0, m.index) + line.text.slice(m.index + m[0].length);
      let source = scriptTaint(data, scope, vars);
      if (source === undefined && BLOCK.test(line.text)) {
        if (whole === null) whole = scriptTaint(script, scope, vars);
        source = whole;
      }
      if (source === undefined) continue;
      out.push({ offset: line.start + m.index + m[0].indexOf('$'), file, source });
    }
  }
  return out;
}

export interface EnvFileStep {
  jobId: string;
  index: number;
  step: Record<string, unknown>;
  runPath: readonly (string | number)[];
  scope: TaintScope;
}

/** SG204 over a workflow's steps; `report` places and records each finding. */
export function checkEnvFileInjection(
  triggers: readonly string[],
  steps: readonly EnvFileStep[],
  position: (path: readonly (string | number)[], offset: number, needle: string) => Position,
  report: (pos: Position, message: string) => void,
): void {
  const privileged = privilegedOf(triggers);
  if (privileged.length === 0) return;
  for (const s of steps) {
    if (typeof s.step.run !== 'string') continue;
    for (const w of envFileWrites(s.step.run, s.scope)) {
      report(
        position(s.runPath, w.offset, `$${w.file}`),
        `step ${s.index + 1} of job '${s.jobId}' writes attacker data to $${w.file} (it reads ` +
          `${oneLine(w.source)}) in a workflow triggered by ${privileged.join(', ')}, which runs with secrets and a ` +
          `write token: a crafted value can set any variable, output or PATH entry for the later steps ` +
          `(environment injection); do not write it there: pass the value to the step that needs it through env:, ` +
          `or check it against a strict pattern first (${ENV_FILE_ANCHOR})`,
      );
    }
  }
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();
