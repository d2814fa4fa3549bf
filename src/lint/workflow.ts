/**
 * One workflow file read for linting: its text, the safe YAML document (size cap, strict UTF-8,
 * one document, unique keys, bounded aliases — shared with module.yaml reading), its plain value,
 * and exact 1-based positions for any path or any offset — including a line inside a block scalar.
 */
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { parseYamlText, type PathSegment, type Position, type SourceProblem } from '../model/yaml-source.js';

export type Path = readonly PathSegment[];

export class WorkflowFile {
  private readonly lineStarts: number[];

  constructor(
    readonly file: string,
    readonly text: string,
    readonly doc: { contents: unknown },
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
    const re = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g');
    let k = 0;
    for (const m of raw.raw.matchAll(re)) {
      if (k === occurrence) return this.position(raw.start + m.index);
      k++;
    }
    return this.position(raw.start);
  }
}

export type LoadResult = { ok: true; workflow: WorkflowFile } | { ok: false; problems: SourceProblem[] };

/** Parse workflow bytes safely; never throws for hostile content. */
export function loadWorkflow(bytes: Buffer, displayName: string): LoadResult {
  const read = parseYamlText(bytes, displayName);
  if (!read.ok) return { ok: false, problems: read.problems };
  // parseYamlText has checked the bytes are valid UTF-8; offsets are relative to the text without a BOM.
  let text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { ok: true, workflow: new WorkflowFile(displayName, text, read.source.doc, read.value as Record<string, unknown>) };
}
