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
import { EventType, ParseEvent } from '@actions/workflow-parser/templates/parse-event';
import { MappingToken, SequenceToken, StringToken } from '@actions/workflow-parser/templates/tokens/index';
import { YamlObjectReader } from '@actions/workflow-parser/workflows/yaml-object-reader';
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

/**
 * GitHub's YAML reader over a document stateguard already parsed (with the same options), so each
 * workflow is parsed once, not twice: half the cost of a lint. It replaces exactly the three fields
 * the reader's constructor fills from its own parse. A parser upgrade that changes them breaks the
 * lint tests loudly (every schema case), never silently.
 */
class ParsedDocumentReader extends YamlObjectReader {
  constructor(fileId: number, doc: Document.Parsed, lines: LineCounter) {
    super(fileId, '');
    const self = this as unknown as { doc: Document.Parsed; lineCounter: LineCounter; _generator: unknown };
    self.doc = doc;
    self.lineCounter = lines;
    // The reader's own range computation, called directly: a replacement installed on the instance
    // made much more of each file's parse survive young-generation collections (measured with
    // --trace-gc: 2.5 times the scavenge time, 50 MiB more peak RSS over 2,000 files).
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this) below
    const readerRange = (YamlObjectReader.prototype as unknown as { getRange(n: unknown): Range | undefined }).getRange;
    self._generator = readerEvents(doc, fileId, (n) => this.flatRange(n, readerRange.call(this, n))).values();
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

/**
 * The event stream of GitHub's reader over a parsed document, as one list built by plain
 * recursion: the same events in the same order as its `getNodes` generator, whose generator per
 * node made every event pass through each level above it. Aliases are expanded as it does
 * (loadWorkflow already refused documents whose expansion is large). test/unit/lint/reader-events
 * checks it against the reader itself.
 */
export function readerEvents(
  doc: Document.Parsed,
  fileId: number,
  range: (n: unknown) => Range | undefined,
): ParseEvent[] {
  const out: ParseEvent[] = [new ParseEvent(EventType.DocumentStart)];
  const walk = (node: unknown, resolving: ReadonlySet<unknown>): void => {
    if (isSeq(node) || isMap(node)) {
      const seq = isSeq(node);
      out.push(
        seq
          ? new ParseEvent(EventType.SequenceStart, new SequenceToken(fileId, range(node), undefined))
          : new ParseEvent(EventType.MappingStart, new MappingToken(fileId, range(node), undefined)),
      );
      for (const item of node.items) walk(item, resolving);
      out.push(new ParseEvent(seq ? EventType.SequenceEnd : EventType.MappingEnd));
    } else if (isScalar(node)) {
      out.push(new ParseEvent(EventType.Literal, literalToken(fileId, range(node), node)));
    } else if (isAlias(node)) {
      const resolved = node.resolve(doc);
      // A circular alias yields nothing, as in the reader (the schema then reports what is missing).
      if (resolved && !resolving.has(resolved)) walk(resolved, new Set([...resolving, resolved]));
    } else if (isPair(node)) {
      // A key that is not a scalar throws here as it does in the reader (an SG001, never a crash).
      const key = node.key as { value: unknown };
      out.push(new ParseEvent(EventType.Literal, new StringToken(fileId, range(key), key.value as string, undefined)));
      walk(node.value, resolving);
    }
  };
  walk(doc.contents, new Set());
  out.push(new ParseEvent(EventType.DocumentEnd));
  return out;
}

/** The reader's own scalar-to-token conversion (a private static: the same tokens, the same sources). */
const literalToken = (
  YamlObjectReader as unknown as {
    getLiteralToken(fileId: number, range: Range | undefined, node: unknown): LiteralToken;
  }
).getLiteralToken.bind(YamlObjectReader);
type LiteralToken = ConstructorParameters<typeof ParseEvent>[1];

export interface Range {
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
let corrected: ReturnType<typeof getWorkflowSchema> | undefined;
function workflowSchema(): ReturnType<typeof getWorkflowSchema> {
  if (corrected) return corrected;
  const schema = getWorkflowSchema();
  corrected = schema;
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
export async function githubParserErrors(doc: Document.Parsed, lines: LineCounter): Promise<ParserError[]> {
  const context = new TemplateContext(new TemplateValidationErrors(), workflowSchema(), new NoOperationTraceWriter());
  // One name for every file: errors are read without the parser's "file (Line: x, Col: y)" prefix,
  // and a fresh name per file would give the context's name table a new shape each time.
  const fileId = context.getFileId('workflow.yml');
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
