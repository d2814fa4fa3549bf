/**
 * Safe YAML reading for untrusted files (module.yaml, compose files): size cap, strict UTF-8,
 * exactly one document, unique keys, bounded aliases, and source positions for every node so each
 * problem can be reported as `path:line:col: message`.
 */
import { readFileSync, statSync } from 'node:fs';
import {
  Document,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Node,
} from 'yaml';

export const MAX_YAML_BYTES = 1024 * 1024;
/** Aliases are legitimate in YAML, but an alias bomb expands exponentially: cap the expansion. */
export const MAX_ALIAS_COUNT = 50;

export interface Position {
  line: number;
  column: number;
}

export interface SourceProblem extends Position {
  file: string;
  message: string;
  /**
   * Set when the declaration is sound but the module cannot be acted on in this environment (a
   * service in a profile that is not enabled): commands refuse that module and go on with the others.
   */
  refusal?: 'inactive-profile';
  /** the module a refusal is about */
  module?: string;
  /**
   * A consequence of another problem reported on its own (a reference to a module.yaml that failed,
   * a compose file compose refused): printed after every root cause (docs/architecture.md §2).
   */
  knockOn?: true;
}

export type PathSegment = string | number;

export class YamlSource {
  constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  private pos(offset: number | undefined): Position {
    if (offset === undefined) return { line: 1, column: 1 };
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  /** Position of the value at `path`, or of the deepest existing ancestor. */
  positionOf(path: readonly PathSegment[], which: 'value' | 'key' = 'value'): Position {
    let node: unknown = this.doc.contents;
    let best: Position = this.pos((node as Node | null)?.range?.[0]);
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return best;
        const keyNode = pair.key as Node;
        const last = i === path.length - 1;
        if (last && (which === 'key' || pair.value === null)) return this.pos(keyNode.range?.[0]);
        node = pair.value;
        best = this.pos((node as Node | null)?.range?.[0] ?? keyNode.range?.[0]);
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        if (!node) return best;
        best = this.pos((node as Node).range?.[0]);
      } else {
        return best;
      }
    }
    return best;
  }

  /** Line and column of a character offset in the file (1:1 when a node has none). */
  positionAtOffset(offset: number | undefined): Position {
    return this.pos(offset);
  }

  /** Whether every key of `path` is written in the file (mappings only). */
  has(path: readonly PathSegment[]): boolean {
    let node: unknown = this.doc.contents;
    for (const seg of path) {
      if (!isMap(node)) return false;
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return false;
      node = pair.value;
    }
    return true;
  }

  problem(path: readonly PathSegment[], message: string, which: 'value' | 'key' = 'value'): SourceProblem {
    return { file: this.file, ...this.positionOf(path, which), message };
  }
}

export type ReadResult = { ok: true; source: YamlSource; value: unknown } | { ok: false; problems: SourceProblem[] };

/** Read and parse one YAML file. Never throws for bad content: problems carry positions. */
export function readYamlFile(file: string, displayName = file, dialect: YamlDialect = 'module'): ReadResult {
  const fail = (message: string, line = 1, column = 1): ReadResult => ({
    ok: false,
    problems: [{ file: displayName, line, column, message }],
  });
  let bytes: Buffer;
  try {
    const st = statSync(file);
    if (!st.isFile()) return fail('not a regular file');
    if (st.size > MAX_YAML_BYTES) return fail(`file is ${st.size} bytes; the limit is ${MAX_YAML_BYTES} (1 MiB)`);
    bytes = readFileSync(file);
  } catch (err) {
    return fail(readFailure(err, displayName));
  }
  return parseYamlText(bytes, displayName, dialect);
}

/** Why a file could not be read, in words (never a raw `ENOENT`). */
function readFailure(err: unknown, displayName: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return `file not found: ${displayName}`;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied reading ${displayName}`;
  if (code === 'ELOOP') return `${displayName} is a symbolic link loop`;
  return `cannot read ${displayName}: ${code ?? String(err)}`;
}

/**
 * How a file is read. `module` (module.yaml, the default): YAML 1.2, few aliases (a module needs a
 * handful). `compose`: as compose reads a compose file: YAML 1.1 merge keys (`<<: *x`), and aliases
 * bounded by the size they expand to, not by their count (real stacks reuse anchors a hundred times;
 * an alias bomb expands to millions of nodes).
 */
export type YamlDialect = 'module' | 'compose';

/** A compose file whose aliases expand past this many nodes is refused as a possible alias bomb. */
export const MAX_EXPANDED_NODES = 200_000;

export function parseYamlText(
  bytes: Buffer | string,
  displayName: string,
  dialect: YamlDialect = 'module',
): ReadResult {
  const fail = (message: string, line = 1, column = 1): ReadResult => ({
    ok: false,
    problems: [{ file: displayName, line, column, message }],
  });
  let text: string;
  if (typeof bytes === 'string') {
    text = bytes;
  } else {
    if (bytes.length > MAX_YAML_BYTES)
      return fail(`file is ${bytes.length} bytes; the limit is ${MAX_YAML_BYTES} (1 MiB)`);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      const bad = firstInvalidUtf8(bytes);
      return fail('file is not valid UTF-8', bad.line, bad.column);
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    uniqueKeys: true,
    prettyErrors: false,
    ...(dialect === 'compose' ? { version: '1.1' as const, merge: true } : { version: '1.2' as const }),
  });
  if (!Array.isArray(docs)) return fail('file contains no YAML document');
  const posOf = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (docs.length === 0) return fail('file is empty: expected a YAML mapping');
  if (docs.length > 1) {
    const second = docs[1]!;
    const p = posOf(second.range[0]);
    return fail(`file contains ${docs.length} YAML documents; expected exactly one`, p.line, p.column);
  }
  const doc = docs[0]!;
  // The yaml parser recurses per nesting level: a few thousand `[` exhaust the stack, which it
  // reports as an error of its own. Say what is wrong instead of echoing a crash.
  if (doc.errors.some((e) => STACK_OVERFLOW.test(e.message))) return fail(tooDeep());
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const p = posOf(e.pos[0]);
        const msg =
          e.code === 'DUPLICATE_KEY'
            ? 'duplicate key: each key may appear once in a mapping'
            : firstSentence(e.message);
        return {
          file: displayName,
          ...p,
          message: `YAML ${e.code === 'DUPLICATE_KEY' ? 'error' : 'syntax error'}: ${msg}`,
        };
      }),
    };
  }
  const depth = nestingDepth(doc.contents);
  if (depth > MAX_DEPTH) {
    return fail(tooDeep());
  }
  let expanded = 0;
  if (dialect === 'compose') {
    try {
      expanded = expandedSize(doc);
    } catch {
      expanded = Infinity; // a stack overflow on some pathological chain: refuse, never crash
    }
  }
  if (expanded > MAX_EXPANDED_NODES) {
    return fail(
      `YAML aliases expand to more than ${MAX_EXPANDED_NODES} nodes: refusing a possible alias bomb (compose ` +
        `files may use aliases freely; this one would expand beyond any real stack)`,
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: dialect === 'compose' ? -1 : MAX_ALIAS_COUNT });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (STACK_OVERFLOW.test(message) || err instanceof RangeError) return fail(tooDeep());
    if (/alias/i.test(message)) {
      return fail(`YAML aliases expand too much (limit ${MAX_ALIAS_COUNT}): refusing a possible alias bomb`);
    }
    return fail(`YAML error: ${firstSentence(message)}`);
  }
  if (value === null || value === undefined) return fail('file is empty: expected a YAML mapping');
  if (typeof value !== 'object' || Array.isArray(value)) {
    const p = posOf((doc.contents as Node | null)?.range?.[0] ?? 0);
    return fail(
      `expected a YAML mapping at the top level, found ${Array.isArray(value) ? 'a list' : typeof value}`,
      p.line,
      p.column,
    );
  }
  return { ok: true, source: new YamlSource(displayName, doc, lines), value };
}

/**
 * How many nodes the document expands to with every alias replaced by what it names, counted
 * without expanding (each anchored node's size is computed once). A cycle counts as unbounded.
 */
export function expandedSize(doc: Document.Parsed): number {
  const sizes = new Map<unknown, number>();
  const inProgress = new Set<unknown>();
  const size = (node: unknown): number => {
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (target === undefined) return 1;
      return size(target);
    }
    if (!isCollection(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (inProgress.has(node)) return Infinity;
    inProgress.add(node);
    let total = 1;
    for (const item of node.items) {
      total += isPair(item) ? size(item.key) + size(item.value) : size(item);
      if (total > MAX_EXPANDED_NODES) break;
    }
    inProgress.delete(node);
    sizes.set(node, total);
    return total;
  };
  return size(doc.contents);
}

/** No module.yaml needs more than a handful of levels; past this every later (recursive) reader is at risk. */
export const MAX_DEPTH = 64;
const STACK_OVERFLOW = /maximum call stack/i;

function tooDeep(): string {
  return (
    `YAML is nested too deeply (more than ` +
    `${MAX_DEPTH} levels of mappings or lists); a module.yaml needs only a few`
  );
}

/** Deepest nesting of collections under a node, walked without recursion (the input is untrusted). */
function nestingDepth(root: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [node, d] = stack.pop()!;
    if (isCollection(node)) {
      if (d > max) max = d;
      if (max > MAX_DEPTH) return max;
      for (const item of node.items) {
        if (isPair(item)) stack.push([item.key, d + 1], [item.value, d + 1]);
        else stack.push([item, d + 1]);
      }
    }
  }
  return max;
}

function firstSentence(message: string): string {
  return message
    .split('\n')[0]!
    .replace(/ at line \d+, column \d+:?$/, '')
    .trim();
}

/** Where the first invalid UTF-8 sequence starts (column counts characters, 1-based). */
function firstInvalidUtf8(b: Buffer): Position {
  let line = 1;
  let column = 1;
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : (c & 0xf0) === 0xe0 ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return { line, column };
    for (let k = 1; k <= n; k++) {
      if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return { line, column };
    }
    if (c === 0x0a) {
      line++;
      column = 1;
    } else {
      column++;
    }
    i += n + 1;
  }
  return { line, column };
}
