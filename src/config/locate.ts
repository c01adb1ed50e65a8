/**
 * @module config/locate
 * Turns a key path into a line and column of the YAML source, using the source ranges that
 * `yaml`'s parseDocument keeps. Where the exact node does not exist (a missing key, a
 * default), it points at the nearest enclosing node that does.
 */

import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { Finding, KeyPath } from './key-path.ts';

/** 1-based line and column. */
export interface Position {
  line: number;
  column: number;
}

/** Where a finding belongs in the source. */
export function locate(doc: Document, lines: LineCounter, finding: Pick<Finding, 'path' | 'at'>): Position {
  const target = finding.at === 'parent' ? finding.path.slice(0, -1) : finding.path;
  const { node, key, complete } = walk(doc, target);
  const pick = finding.at === 'key' && complete && key ? key : (nonEmpty(node) ?? key ?? node);
  const offset = pick?.range?.[0] ?? 0;
  const pos = lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

/** Follows the path as far as the document goes; `key` is the key node of the last step taken. */
function walk(doc: Document, path: KeyPath): { node: Node | undefined; key: Node | undefined; complete: boolean } {
  let node = (doc.contents ?? undefined) as Node | undefined;
  let key: Node | undefined;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc) as Node | undefined;
    let next: { node: Node | undefined; key: Node | undefined } | undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
      if (pair) next = { node: (pair.value ?? undefined) as Node | undefined, key: pair.key as Node };
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (item) next = { node: item, key: item };
    }
    if (!next) return { node: key && !nonEmpty(node) ? key : node, key, complete: false };
    ({ node, key } = next);
  }
  return { node, key, complete: true };
}

/** An empty value (`key:` with nothing after it) has no useful range; point at its key instead. */
function nonEmpty(node: Node | undefined): Node | undefined {
  if (node === undefined) return undefined;
  if (isScalar(node) && node.value === null && node.range && node.range[0] === node.range[1]) return undefined;
  return node;
}
