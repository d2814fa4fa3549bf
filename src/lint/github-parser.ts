/**
 * GitHub's own workflow parser (@actions/workflow-parser), the one the Actions VS Code extension
 * uses: schema errors, unknown keys, bad `${{ }}` expressions and semantic errors (job `needs`
 * cycles, cron syntax, concurrency) with their ranges. Only the text is handed over; the file was
 * already read safely (size cap, strict UTF-8, bounded aliases) by ./workflow.ts, because this
 * parser expands aliases without a limit.
 */
import { convertWorkflowTemplate, NoOperationTraceWriter } from '@actions/workflow-parser';
import { TemplateContext, TemplateValidationErrors } from '@actions/workflow-parser/templates/template-context';
import { readTemplate } from '@actions/workflow-parser/templates/template-reader';
import { WORKFLOW_ROOT } from '@actions/workflow-parser/workflows/workflow-constants';
import { getWorkflowSchema } from '@actions/workflow-parser/workflows/workflow-schema';
import { YamlObjectReader } from '@actions/workflow-parser/workflows/yaml-object-reader';
import type { Document, LineCounter } from 'yaml';

/**
 * GitHub's YAML reader over a document stateguard already parsed (with the same options), so each
 * workflow is parsed once, not twice: half the cost of a lint. It replaces exactly the three fields
 * the reader's constructor fills from its own parse. A parser upgrade that changes them breaks the
 * lint tests loudly (every schema case), never silently.
 */
class ParsedDocumentReader extends YamlObjectReader {
  constructor(fileId: number, doc: Document.Parsed, lines: LineCounter) {
    super(fileId, '');
    const self = this as unknown as {
      doc: Document.Parsed;
      lineCounter: LineCounter;
      _generator: unknown;
      getNodes(n: unknown, s: Set<unknown>): unknown;
    };
    self.doc = doc;
    self.lineCounter = lines;
    self._generator = self.getNodes(doc, new Set());
  }
}

/**
 * The parser's schema (workflow-v1.0) gives `repository-dispatch-string` the constant
 * `branch_protection_rule`, so `on: repository_dispatch` (and `[repository_dispatch]`) is refused as
 * invalid while the runner accepts it (docs/architecture.md §9). Correct that one constant, once, in the
 * schema object the parser caches; any other value of it (a fixed parser) is left alone.
 */
function workflowSchema(): ReturnType<typeof getWorkflowSchema> {
  const schema = getWorkflowSchema();
  const def = schema.definitions['repository-dispatch-string'] as { constant?: string } | undefined;
  if (def && def.constant === 'branch_protection_rule') def.constant = 'repository_dispatch';
  return schema;
}

export interface ParserError {
  line: number;
  column: number;
  message: string;
}

/**
 * Schema, expression and conversion errors of one workflow, 1-based positions. `doc` must be
 * free of YAML errors and of alias bombs (checked by loadWorkflow); this is parseWorkflow() of
 * @actions/workflow-parser over that document.
 */
export async function githubParserErrors(
  displayName: string,
  doc: Document.Parsed,
  lines: LineCounter,
): Promise<ParserError[]> {
  const context = new TemplateContext(new TemplateValidationErrors(), workflowSchema(), new NoOperationTraceWriter());
  const fileId = context.getFileId(displayName);
  const value = readTemplate(context, WORKFLOW_ROOT, new ParsedDocumentReader(fileId, doc, lines), fileId);
  const parsed = { context, value };
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
