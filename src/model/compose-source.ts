/**
 * The compose file as written, beside what compose renders (docs/architecture.md §2, "Reading compose
 * files"). Compose's rendering is the truth for every check; the source is read (safely, as compose
 * reads YAML: merge keys, aliases bounded by size) only to point at where a key is written, to read
 * the file's own top-level `name:` (rendering with `-p` replaces it), and to refuse a hostile file
 * before it reaches compose.
 */
import { isMap, isPair, isScalar, type Node, type Pair } from 'yaml';
import { readYamlFile, type ReadResult, type YamlSource } from './yaml-source.js';

export function readComposeSource(abs: string, display: string): ReadResult {
  return readYamlFile(abs, display, 'compose');
}

function isMergeKey(p: Pair): boolean {
  return isScalar(p.key) && (typeof p.key.value === 'symbol' || p.key.value === '<<');
}

function serviceNode(source: YamlSource, service: string): Node | null {
  const top = source.doc.contents;
  if (!isMap(top)) return null;
  const services = top.items.find((p) => isScalar(p.key) && p.key.value === 'services')?.value;
  if (!isMap(services)) return null;
  const svc = services.items.find((p) => isScalar(p.key) && String(p.key.value) === service)?.value;
  return isMap(svc) ? svc : null;
}

/**
 * Where a service's key comes from in the source, for a message: `compose.yaml:12:5` when the key is
 * written in the service there; the merge key or `extends:` that brings it in otherwise; '' when the
 * service is not written in this file (an `include:`d file) or nothing says.
 */
export function whereWritten(source: YamlSource | null, service: string, key: string): string {
  if (!source) return '';
  const svc = serviceNode(source, service);
  if (!isMap(svc)) return '';
  const at = (node: Node): string => {
    const pos = source.positionAtOffset(node.range?.[0]);
    return `${source.file}:${pos.line}:${pos.column}`;
  };
  const own = svc.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
  if (own) return `written at ${at(own.key as Node)}`;
  const merge = svc.items.find((p) => isPair(p) && isMergeKey(p));
  if (merge) return `through the YAML merge key at ${at(merge.key as Node)}`;
  const ext = svc.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === 'extends');
  if (ext) return `through extends: at ${at(ext.key as Node)}`;
  return '';
}

/** The file's own top-level `name:` when it is a plain string (an interpolated one is compose's to read). */
export function sourceProjectName(value: unknown): string | null {
  const name = (value as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== '' && !name.includes('$') ? name : null;
}

/**
 * The position in the source of a dotted key path compose names in its error (`services.db.restart`),
 * when that key is written there; null otherwise.
 */
export function positionOfComposePath(
  source: YamlSource | null,
  message: string,
): { line: number; column: number } | null {
  if (!source) return null;
  const m = /\bservices\.([A-Za-z0-9_.-]+)/.exec(message);
  if (!m) return null;
  const segments = ['services', ...m[1]!.replace(/\.$/, '').split('.')];
  // The longest prefix of the path that is written in the file.
  for (let n = segments.length; n >= 2; n--) {
    const sub = segments.slice(0, n);
    if (source.has(sub)) return source.positionOf(sub, 'key');
  }
  return null;
}
