/**
 * GitHub's own workflow parser (@actions/workflow-parser), the one the Actions VS Code extension
 * uses: schema errors, unknown keys, bad `${{ }}` expressions and semantic errors (job `needs`
 * cycles, cron syntax, concurrency) with their ranges. Only the text is handed over; the file was
 * already read safely (size cap, strict UTF-8, bounded aliases) by ./workflow.ts, because this
 * parser expands aliases without a limit.
 */
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';

export interface ParserError {
  line: number;
  column: number;
  message: string;
}

/** Schema, expression and conversion errors of one workflow text, 1-based positions. */
export async function githubParserErrors(displayName: string, content: string): Promise<ParserError[]> {
  const parsed = parseWorkflow({ name: displayName, content }, new NoOperationTraceWriter());
  // The converter adds the semantic checks (needs, cron, concurrency, matrix). By default it
  // returns the parse errors unchanged when there are any, so it never double-reports.
  if (parsed.value && parsed.context.errors.count === 0) {
    await convertWorkflowTemplate(parsed.context, parsed.value);
  }
  const seen = new Set<string>();
  const out: ParserError[] = [];
  for (const e of parsed.context.errors.getErrors()) {
    const line = e.range?.start.line ?? 1;
    const column = e.range?.start.column ?? 1;
    // rawMessage has no "file (Line: x, Col: y): " prefix: the position is reported separately.
    const message = e.rawMessage.trim();
    const key = `${line}:${column}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ line, column, message });
  }
  return out;
}
