/**
 * @module config/substitute
 * Keeps secrets out of the YAML: `${NAME}` in a string value is replaced from the
 * environment (`$${` writes a literal `${`), and a `<key>_file` key (for the keys the schema
 * offers it on) is replaced by `<key>` holding that file's content. Both run on the parsed
 * data before the schema, so the schema checks the values actually used.
 */

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileBackedKeys } from './schema.ts';
import { formatKeyPath, type Finding, type KeyPath } from './key-path.ts';

const TOKEN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{/g;

/**
 * Replaces `${NAME}` in one string. Returns the new text, or the reason it cannot be built
 * (an unset variable, or a `${` that is not a valid reference).
 */
function expandEnv(text: string, env: NodeJS.ProcessEnv): { ok: true; text: string } | { ok: false; message: string } {
  let problem: string | undefined;
  const out = text.replace(TOKEN, (match, name: string | undefined) => {
    if (match === '$${') return '${';
    if (name === undefined) {
      problem ??= 'has a "${" that is not a variable reference such as ${NAME} (write $${ for a literal ${)';
      return match;
    }
    const value = env[name];
    if (value === undefined) problem ??= `environment variable ${name} is not set`;
    return value ?? '';
  });
  return problem === undefined ? { ok: true, text: out } : { ok: false, message: problem };
}

/** Expands every string value in `data` in place; returns one finding per value that failed. */
export function substituteEnv(data: unknown, env: NodeJS.ProcessEnv): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<object>(); // YAML aliases share objects; expand each once
  const walk = (node: unknown, path: KeyPath): void => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    const entries: [string | number, unknown][] = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
    for (const [key, value] of entries) {
      if (typeof value === 'string') {
        const r = expandEnv(value, env);
        if (r.ok) (node as Record<string | number, unknown>)[key] = r.text;
        else findings.push({ path: [...path, key], at: 'value', message: r.message });
      } else {
        walk(value, [...path, key]);
      }
    }
  };
  walk(data, []);
  return findings;
}

/**
 * Replaces each `<key>_file` with `<key>` read from that file (relative paths against
 * `cwd`; trailing line breaks dropped). `moved` maps the dotted path of each filled key to
 * the path of the `_file` key it came from, so later findings can point at the right line.
 */
export async function readFileBackedSecrets(data: unknown, cwd: string): Promise<{ findings: Finding[]; moved: Map<string, KeyPath> }> {
  const findings: Finding[] = [];
  const moved = new Map<string, KeyPath>();
  for (const keyPath of fileBackedKeys()) {
    const parentPath = keyPath.slice(0, -1);
    const key = String(keyPath.at(-1));
    const fileKey = `${key}_file`;
    const parent = parentPath.reduce<unknown>((node, k) => (isMapping(node) ? node[k] : undefined), data);
    if (!isMapping(parent) || !Object.hasOwn(parent, fileKey)) continue;
    const filePath = [...parentPath, fileKey];
    if (Object.hasOwn(parent, key)) {
      findings.push({ path: filePath, at: 'key', message: `give either "${key}" or "${fileKey}", not both` });
      continue;
    }
    const name = parent[fileKey];
    if (typeof name !== 'string' || name === '') continue; // the schema reports it
    try {
      parent[key] = (await readFile(resolve(cwd, name), 'utf8')).replace(/[\r\n]+$/, '');
      delete parent[fileKey];
      moved.set(formatKeyPath(keyPath), filePath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      findings.push({ path: filePath, at: 'value', message: `cannot read ${resolve(cwd, name)}${code ? ` (${code})` : ''}` });
    }
  }
  return { findings, moved };
}

function isMapping(node: unknown): node is Record<string, unknown> {
  return node !== null && typeof node === 'object' && !Array.isArray(node);
}
