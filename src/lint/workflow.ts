/**
 * One workflow file read for linting: its text, the YAML document (size cap, strict UTF-8, one
 * document, bounded aliases, as for module.yaml), its plain value,
 * and exact 1-based positions for any path or any offset — including a line inside a block scalar.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import {
  MAX_ALIAS_COUNT,
  MAX_YAML_BYTES,
  parseYamlText,
  type PathSegment,
  type Position,
  type SourceProblem,
} from '../model/yaml-source.js';

export type Path = readonly PathSegment[];

export class WorkflowFile {
  private readonly lineStarts: number[];
  /** matches of positionInScalar's pattern visited so far: a test's measure that placing findings stays linear */
  scanned = 0;
  private readonly matchOffsets = new Map<string, number[]>();

  constructor(
    readonly file: string,
    readonly text: string,
    readonly doc: Document.Parsed,
    readonly lines: LineCounter,
    readonly value: Record<string, unknown>,
  ) {
    this.lineStarts = [0];
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  /** 1-based line and column (in characters) of a text offset. */
  position(offset: number): Position {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo]! + 1 };
  }

  /** The YAML node at `path` (a mapping value or sequence item), and the key node when in a mapping. */
  node(path: Path): { node: Node | null | undefined; key?: Node } {
    let node: unknown = this.doc.contents;
    let key: Node | undefined;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return { node: undefined };
        key = pair.key as Node;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        key = undefined;
        node = node.items[seg];
        if (node === undefined) return { node: undefined };
      } else {
        return { node: undefined };
      }
    }
    return { node: node as Node | null, key };
  }

  /** Position of the value at `path` ('value') or of its key ('key'); the deepest existing ancestor otherwise. */
  at(path: Path, which: 'value' | 'key' = 'value'): Position {
    for (let n = path.length; n >= 0; n--) {
      const { node, key } = this.node(path.slice(0, n));
      const chosen = which === 'key' && n === path.length ? (key ?? node) : (node ?? key);
      const start = chosen?.range?.[0];
      if (start !== undefined) return this.position(start);
    }
    return { line: 1, column: 1 };
  }

  /** The source text of the scalar at `path` and where it starts (for finding a line inside it). */
  rawScalar(path: Path): { raw: string; start: number } | undefined {
    const { node } = this.node(path);
    if (!node || !isScalar(node) || !node.range) return undefined;
    return { raw: this.text.slice(node.range[0], node.range[1]), start: node.range[0] };
  }

  /**
   * Position of the `occurrence`-th match of `pattern` inside the scalar at `path`, counted in its
   * source text. Block scalars keep their lines, so this is the exact line inside a `run: |`.
   * When the source spells the value differently (escapes), the scalar's start is returned.
   */
  positionInScalar(path: Path, pattern: RegExp, occurrence: number): Position {
    const raw = this.rawScalar(path);
    if (!raw) return this.at(path);
    // The match offsets are found once per scalar and pattern, so placing every finding of a long
    // script stays linear (docs/architecture.md §9).
    const cacheKey = `${JSON.stringify(path)}\u0000${pattern.source}\u0000${pattern.flags}`;
    let offsets = this.matchOffsets.get(cacheKey);
    if (!offsets) {
      const re = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g');
      offsets = [];
      for (const m of raw.raw.matchAll(re)) {
        this.scanned++;
        offsets.push(m.index);
      }
      this.matchOffsets.set(cacheKey, offsets);
    }
    const at = offsets[occurrence];
    return this.position(raw.start + (at ?? 0));
  }

  /**
   * Position of character `offset` of the scalar's VALUE (e.g. a word found by reading a `run:`
   * script). In a literal block scalar (`run: |`) value line k is source line k + 1 after the
   * header, shifted by the indentation; elsewhere a single-line scalar maps offset for offset
   * (after its opening quote), and anything else falls back to the first occurrence of `needle`
   * in the source, then to the scalar's start.
   */
  positionInValue(path: Path, offset: number, needle = ''): Position {
    const { node } = this.node(path);
    if (!node || !isScalar(node) || !node.range || typeof node.value !== 'string') return this.at(path);
    const value = node.value;
    const raw = this.text.slice(node.range[0], node.range[1]);
    const start = node.range[0];
    if (node.type === 'BLOCK_LITERAL') {
      const before = value.slice(0, offset);
      const k = before.split('\n').length - 1;
      const col = offset - (before.lastIndexOf('\n') + 1);
      const rawLines = raw.split('\n');
      const rawLine = rawLines[k + 1];
      if (rawLine !== undefined) {
        const valueLine = value.split('\n', k + 1)[k] ?? '';
        const indent = Math.max(0, rawLine.length - valueLine.length);
        let lineStart = start;
        for (let i = 0; i <= k; i++) lineStart += rawLines[i]!.length + 1;
        return this.position(lineStart + indent + col);
      }
    } else if (!raw.includes('\n')) {
      const quote = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' ? 1 : 0;
      return this.position(start + Math.min(raw.length - 1, quote + offset));
    }
    const at = needle ? raw.indexOf(needle) : -1;
    return this.position(at >= 0 ? start + at : start);
  }
}

export type LoadResult = { ok: true; workflow: WorkflowFile } | { ok: false; problems: SourceProblem[] };

/**
 * Parse workflow bytes safely, once: the same document feeds GitHub's parser and stateguard's rules.
 * The options match GitHub's own reader (source tokens kept for block scalars; duplicate keys are
 * left to its template reader, which reports them as schema errors). Never throws for hostile content.
 */
export function loadWorkflow(bytes: Buffer, displayName: string): LoadResult {
  const fail = (message: string, offset = 0, lines?: LineCounter): LoadResult => {
    const p = lines ? lines.linePos(offset) : { line: 1, col: 1 };
    return { ok: false, problems: [{ file: displayName, line: p.line, column: p.col, message }] };
  };
  if (bytes.length > MAX_YAML_BYTES)
    return fail(`file is ${bytes.length} bytes; the limit is ${MAX_YAML_BYTES} (1 MiB)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // The shared reader reports where the first invalid sequence is.
    const read = parseYamlText(bytes, displayName);
    return read.ok ? fail('file is not valid UTF-8') : { ok: false, problems: read.problems };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    keepSourceTokens: true,
    uniqueKeys: false,
    prettyErrors: false,
  });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const p = lines.linePos(e.pos[0]);
        const message =
          e.code === 'MULTIPLE_DOCS'
            ? 'file contains more than one YAML document; expected exactly one workflow'
            : `YAML syntax error: ${e.message
                .split('\n')[0]!
                .replace(/ at line \d+, column \d+:?$/, '')
                .trim()}`;
        return { file: displayName, line: p.line, column: p.col, message };
      }),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/alias/i.test(message))
      return fail(`YAML aliases expand too much (limit ${MAX_ALIAS_COUNT}): refusing a possible alias bomb`);
    return fail(`YAML error: ${message.split('\n')[0]}`);
  }
  if (value === null || value === undefined) return fail('file is empty: expected a YAML mapping');
  if (typeof value !== 'object' || Array.isArray(value)) {
    return fail(
      `expected a YAML mapping at the top level, found ${Array.isArray(value) ? 'a list' : typeof value}`,
      (doc.contents as Node | null)?.range?.[0] ?? 0,
      lines,
    );
  }
  return { ok: true, workflow: new WorkflowFile(displayName, text, doc, lines, value as Record<string, unknown>) };
}
