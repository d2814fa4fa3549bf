/**
 * lint-workflows hands GitHub's parser its reader's events built from the document stateguard
 * already parsed (src/lint/github-parser.ts readerEvents). They must be exactly the events the
 * reader's own generator yields for the same text, or the parser would judge another document.
 */
import { expect, it } from '@jest/globals';
import { YamlObjectReader } from '@actions/workflow-parser/workflows/yaml-object-reader';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { readerEvents, type Range } from '../../../src/lint/github-parser.js';

interface ReaderInternals {
  doc: Document.Parsed;
  lineCounter: LineCounter;
  getNodes(node: unknown, stack: Set<unknown>): Iterable<unknown>;
  getRange: (node: unknown) => Range | undefined;
}

function both(text: string): { ours: unknown[]; theirs: unknown[] } {
  const reader = new YamlObjectReader(7, text) as unknown as ReaderInternals;
  const theirs = [...reader.getNodes(reader.doc, new Set())];
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: true, uniqueKeys: false });
  const ranges = { lineCounter: lines } as unknown as ReaderInternals;
  const getRange = (YamlObjectReader.prototype as unknown as ReaderInternals).getRange;
  const ours = readerEvents(doc, 7, (n) => getRange.call(ranges, n));
  return { ours, theirs };
}

it.each([
  [
    'a workflow',
    'on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          echo "${{ github.sha }}"\n      - uses: actions/checkout@v4\n        with: {fetch-depth: 0}\n',
  ],
  [
    'scalars of every type',
    'a: 1\nb: 2.5\nc: true\nd: null\ne: ~\nf: "q"\ng: \'s\'\nh: >-\n  folded\n  text\ni: |+\n  kept\n\n',
  ],
  ['nested flow and block collections', 'x: [1, [2, {y: [3]}], {}]\nz:\n  - - a\n    - b\n  - {k: v}\n  - []\n'],
  ['an anchor used through aliases', 'base: &b {runs-on: x, env: {A: 1}}\njobs:\n  one: *b\n  two: *b\n'],
  ['a merge key', 'base: &b {a: 1}\nj:\n  <<: *b\n  c: 2\n'],
  ['an alias of its own ancestor', 'a: &x\n  b: *x\n  c: 1\n'],
  ['an empty document', ''],
  ['a document that is only a scalar', 'just text\n'],
  ['an empty value and a numeric key', 'a:\n1: one\n'],
])('%s: the same events as the reader', (_name, text) => {
  const { ours, theirs } = both(text);
  expect(theirs.length).toBeGreaterThan(0);
  expect(ours).toEqual(theirs);
});

it.each([
  ['a key that is a collection', '? [a, b]\n: value\n'],
  ['an empty key', '? \n: value\n'],
])('%s: what the reader does, events or failure', (_name, text) => {
  const outcome = (f: () => unknown[]): unknown => {
    try {
      return { events: f() };
    } catch (err) {
      return { threw: (err as Error).constructor.name };
    }
  };
  const reader = new YamlObjectReader(7, text) as unknown as ReaderInternals;
  const theirs = outcome(() => [...reader.getNodes(reader.doc, new Set())]);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: true, uniqueKeys: false });
  const getRange = (YamlObjectReader.prototype as unknown as ReaderInternals).getRange;
  const ours = outcome(() => readerEvents(doc, 7, (n) => getRange.call({ lineCounter: lines }, n)));
  expect(ours).toEqual(theirs);
});
