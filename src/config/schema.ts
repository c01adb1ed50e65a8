/**
 * @module config/schema
 * Runs `config/schema.json` (the single source of truth for keys, defaults and limits) over
 * the parsed file and turns ajv's errors into plain-language findings that point at the
 * right key. Also reads two facts off the schema so they are not repeated in code: which
 * keys may be given as `<key>_file`, and which keys hold durations.
 */

import type { ErrorObject, ValidateFunction } from 'ajv';
import schema from '../../config/schema.json' with { type: 'json' };
import type { Finding, KeyPath } from './key-path.ts';
import { loadValidator } from './schema-compile.ts';

type SchemaNode = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  patternErrorMessage?: string;
  errorMessage?: string;
  propertyNames?: SchemaNode;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  required?: string[];
  [k: string]: unknown;
};

/** The schema document as shipped, for callers that want to read descriptions or defaults. */
export const configSchema: SchemaNode = schema as SchemaNode;

const validate: ValidateFunction = await loadValidator();

/**
 * Validates `data` in place: defaults from the schema are filled in (also where there are
 * errors). Returns every error found, already in plain language.
 */
export function validateAgainstSchema(data: unknown): Finding[] {
  if (validate(data)) return [];
  return describeErrors(validate.errors ?? [], data);
}

/**
 * Paths (through mappings only) of the keys that have a `<key>_file` sibling in the
 * schema, such as `['session', 'secret']`.
 */
export function fileBackedKeys(): KeyPath[] {
  return collectPaths((props, key) => props[`${key}_file`] !== undefined && !key.endsWith('_file'));
}

/** Paths (through mappings only) of the keys whose value is a duration string. */
export function durationKeys(): KeyPath[] {
  return collectPaths((props, key) => props[key]?.$ref === '#/definitions/duration');
}

/** The duration keys whose schema names a smallest value (`minDuration`, such as `1m`), with that value. */
export function durationMinimums(): Array<{ path: KeyPath; min: string }> {
  const out: Array<{ path: KeyPath; min: string }> = [];
  walkProperties((props, key, path) => {
    const min = props[key]?.minDuration;
    if (typeof min === 'string') out.push({ path, min });
  });
  return out;
}

function collectPaths(pick: (props: Record<string, SchemaNode>, key: string) => boolean): KeyPath[] {
  const out: KeyPath[] = [];
  walkProperties((props, key, path) => {
    if (pick(props, key)) out.push(path);
  });
  return out;
}

/** Calls `visit` for every key of the schema reached through mappings, with its path. */
function walkProperties(visit: (props: Record<string, SchemaNode>, key: string, path: KeyPath) => void): void {
  const walk = (node: SchemaNode, path: string[]): void => {
    const props = resolve(node).properties ?? {};
    for (const key of Object.keys(props)) {
      visit(props, key, [...path, key]);
      walk(props[key] as SchemaNode, [...path, key]);
    }
  };
  walk(configSchema, []);
}

function resolve(node: SchemaNode): SchemaNode {
  const name = node.$ref?.replace('#/definitions/', '');
  const defs = configSchema.definitions as Record<string, SchemaNode>;
  return name === undefined ? node : (defs[name] ?? node);
}

/** Turns ajv errors into findings; exported for tests of the wording. */
function describeErrors(errors: readonly ErrorObject[], data: unknown): Finding[] {
  // Errors inside anyOf/oneOf branches and the like are summed up by their parent error.
  const summarized = errors
    .filter((e) => ['anyOf', 'oneOf', 'propertyNames', 'contains'].includes(e.keyword))
    .map((e) => `${e.schemaPath}/`);
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (summarized.some((p) => e.schemaPath.startsWith(p))) continue;
    const f = describe(e, pointerToPath(e.instancePath, data));
    const id = JSON.stringify(f);
    if (!seen.has(id)) {
      seen.add(id);
      findings.push(f);
    }
  }
  return findings;
}

function describe(e: ErrorObject, path: KeyPath): Finding {
  const parent = (e.parentSchema ?? {}) as SchemaNode;
  const p = e.params as Record<string, unknown>;
  const value = (message: string): Finding => ({ path, at: 'value', message });
  switch (e.keyword) {
    case 'required':
      return {
        path: [...path, String(p.missingProperty)],
        at: 'parent',
        message: `required key "${String(p.missingProperty)}" is missing`,
      };
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      return { path: [...path, key], at: 'key', message: unknownKeyMessage(key, Object.keys(parent.properties ?? {})) };
    }
    case 'propertyNames': {
      const name = String(p.propertyName);
      const why = parent.propertyNames?.patternErrorMessage ?? 'is not allowed here';
      return { path: [...path, name], at: 'key', message: `name "${name}" ${why}` };
    }
    case 'type':
      return value(`must be ${typeWords(p.type)}${e.data === null ? ' (it is empty)' : ''}`);
    case 'enum':
      return value(`must be one of: ${(p.allowedValues as unknown[]).map(String).join(', ')}`);
    case 'const':
      return value(`must be ${JSON.stringify(p.allowedValue)}`);
    case 'pattern':
      return value(parent.patternErrorMessage ?? `must match the pattern ${String(p.pattern)}`);
    case 'format':
      return value(p.format === 'email' ? 'must be an e-mail address such as admin@example.com' : `must be a valid ${String(p.format)}`);
    case 'minimum':
      return value(`must be at least ${String(p.limit)}`);
    case 'maximum':
      return value(`must be at most ${String(p.limit)}`);
    case 'minLength':
      return value(p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters long`);
    case 'maxLength':
      return value(`must be at most ${String(p.limit)} characters long`);
    case 'minItems':
      return value(p.limit === 1 ? 'must list at least one item' : `must list at least ${String(p.limit)} items`);
    case 'maxItems':
      return value(`must list at most ${String(p.limit)} items`);
    case 'uniqueItems': {
      // ajv's order of i and j depends on the item type; the later one is the repeat.
      const [first, repeat] = [Number(p.i), Number(p.j)].sort((a, b) => a - b);
      return { path: [...path, repeat ?? 0], at: 'value', message: `repeats item [${String(first)}]; each value may appear once` };
    }
    case 'contains': {
      const wanted = (e.schema as SchemaNode | undefined)?.const;
      return value(wanted === undefined ? 'lacks a required item' : `must include ${JSON.stringify(wanted)}`);
    }
    case 'anyOf':
    case 'oneOf':
      return alternativesFinding(e, parent, path);
    default:
      return value(e.message ?? 'is not allowed here');
  }
}

/** anyOf/oneOf: a custom `errorMessage`, or "one of these keys" when the branches are `required` lists. */
function alternativesFinding(e: ErrorObject, parent: SchemaNode, path: KeyPath): Finding {
  if (parent.errorMessage !== undefined) return { path, at: 'value', message: parent.errorMessage };
  const branches = (e.keyword === 'anyOf' ? parent.anyOf : parent.oneOf) ?? [];
  const keys = branches.map((b) => b.required?.[0]);
  if (keys.some((k) => k === undefined)) return { path, at: 'value', message: 'does not match any allowed form' };
  const list = keys.map((k) => `"${String(k)}"`).join(' or ');
  const passing = (e.params as { passingSchemas?: unknown }).passingSchemas;
  if (Array.isArray(passing)) return { path, at: 'value', message: `give only one of ${list}` };
  if (e.keyword === 'anyOf' && keys.length === 2 && keys[1] === `${String(keys[0])}_file`) {
    return {
      path: [...path, String(keys[0])],
      at: 'parent',
      message: `required key "${String(keys[0])}" is missing (or give "${String(keys[1])}")`,
    };
  }
  return { path, at: 'value', message: `needs one of ${list}` };
}

function unknownKeyMessage(key: string, allowed: string[]): string {
  const close = allowed
    .map((a) => ({ a, d: editDistance(key.toLowerCase(), a.toLowerCase()) }))
    .filter(({ a, d }) => d <= Math.max(1, Math.floor(a.length / 3)))
    .sort((x, y) => x.d - y.d)[0];
  const hint = close ? `; did you mean "${close.a}"?` : '';
  return allowed.length === 0
    ? `unknown key "${key}" (no keys are allowed here)`
    : `unknown key "${key}"${hint} (allowed here: ${allowed.join(', ')})`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping of keys to values',
  null: 'empty',
};

function typeWords(type: unknown): string {
  const types = String(type).split(',');
  return types.map((t) => TYPE_WORDS[t] ?? t).join(' or ');
}

/** JSON pointer → key path, with list indexes as numbers (decided by the data's shape). */
function pointerToPath(pointer: string, data: unknown): KeyPath {
  const path: (string | number)[] = [];
  let node = data;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) {
      path.push(Number(seg));
      node = node[Number(seg)];
    } else {
      path.push(seg);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
    }
  }
  return path;
}
