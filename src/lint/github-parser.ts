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
import { isScalar, type Document, type LineCounter } from 'yaml';

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
      getRange(n: unknown): Range | undefined;
    };
    const base = self.getRange.bind(this);
    self.getRange = (node) => this.flatRange(node, base(node));
    self.doc = doc;
    self.lineCounter = lines;
    self._generator = self.getNodes(doc, new Set());
  }

  /** Block literals read as one line (see FLAT_FROM), by their start line. */
  readonly flattened = new Map<number, Flattened>();

  /**
   * The parser works out the line of each expression in a multi-line scalar by splitting the text
   * before it: quadratic in a script with thousands of expressions. A block literal with many is
   * handed over as if it were on one line (the parser then places each expression by its offset
   * in the value, in linear time), and each error's position is mapped back to its real line and
   * column (docs/architecture.md §9).
   */
  private flatRange(node: unknown, range: Range | undefined): Range | undefined {
    if (!range || !isScalar(node) || node.type !== 'BLOCK_LITERAL' || typeof node.value !== 'string') return range;
    const value = node.value;
    let count = 0;
    for (let i = value.indexOf('${{'); i >= 0 && count < FLAT_FROM; i = value.indexOf('${{', i + 3)) count++;
    if (count < FLAT_FROM) return range;
    const src = node.srcToken && 'source' in node.srcToken ? String(node.srcToken.source) : value;
    this.flattened.set(range.start.line, {
      startColumn: range.start.column,
      shift: src.indexOf('${{') - value.indexOf('${{'),
      value,
      source: src,
    });
    return { start: range.start, end: { line: range.start.line, column: range.end.column } };
  }
}

interface Range {
  start: { line: number; column: number };
  end: { line: number; column: number };
}

/** How many expressions make a block literal worth reading as one line. */
export const FLAT_FROM = 64;

interface Flattened {
  startColumn: number;
  /** what the parser adds to a value offset (the source's first expression minus the value's) */
  shift: number;
  value: string;
  source: string;
}

/** The real position of an error the parser placed on a flattened block literal. */
function unflatten(f: Flattened, startLine: number, column: number): { line: number; column: number } {
  const offset = column - f.startColumn - f.shift;
  if (offset < 0 || offset > f.value.length) return { line: startLine, column };
  const before = f.value.slice(0, offset);
  const k = before.split('\n').length - 1;
  const col = offset - (before.lastIndexOf('\n') + 1);
  const srcLine = f.source.split('\n', k + 1)[k] ?? '';
  const valueLine = f.value.split('\n', k + 1)[k] ?? '';
  const indent = Math.max(0, srcLine.length - valueLine.length);
  return { line: startLine + 1 + k, column: indent + col + 1 };
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
  const reader = new ParsedDocumentReader(fileId, doc, lines);
  const value = readTemplate(context, WORKFLOW_ROOT, reader, fileId);
  const parsed = { context, value };
  // The converter adds the semantic checks (needs, cron, concurrency, matrix). By default it
  // returns the parse errors unchanged when there are any, so it never double-reports.
  if (parsed.value && parsed.context.errors.count === 0) {
    await convertWorkflowTemplate(parsed.context, parsed.value);
  }
  const seen = new Set<string>();
  const out: ParserError[] = [];
  for (const e of parsed.context.errors.getErrors()) {
    let line = e.range?.start.line ?? 1;
    let column = e.range?.start.column ?? 1;
    const flat = reader.flattened.get(line);
    if (flat) ({ line, column } = unflatten(flat, line, column));
    // rawMessage has no "file (Line: x, Col: y): " prefix: the position is reported separately.
    const message = e.rawMessage.trim();
    const key = `${line}:${column}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ line, column, message });
  }
  return out;
}
