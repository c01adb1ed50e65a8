/**
 * @module factors/password/users-file
 * Reads and validates the users file, the gateway's own user list for the first factor:
 *
 * ```yaml
 * users:
 *   alice:
 *     password: $argon2id$v=19$m=19456,t=2,p=1$...   # only argon2id hashes, never plain text
 *     email: alice@example.com
 *     name: Alice Example
 *     groups: [admins, staff]
 *     disabled: false
 * ```
 *
 * Every problem is collected with its line and column, so an operator fixes a bad edit in
 * one pass. User names are matched case-insensitively; two names differing only in case are
 * an error.
 */

import { readFile } from 'node:fs/promises';
import { parseOptions } from '@node-rs/argon2';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Node } from 'yaml';
import type { ConfigProblem } from '../../config/types.ts';
import { userKey } from '../../store/types.ts';

/** A user as the rest of the gateway sees it; the password hash stays inside this folder. */
export interface UserRecord {
  /** The canonical name, spelled as in the users file. */
  readonly name: string;
  readonly email?: string;
  /** The `name` field of the file: the person's display name. */
  readonly displayName?: string;
  readonly groups: readonly string[];
  readonly disabled: boolean;
}

/** A parsed entry: the record and its argon2id PHC hash. */
export interface UserEntry {
  record: UserRecord;
  passwordHash: string;
}

/**
 * User names: ASCII letters, digits and `. _ @ + -` (so e-mail style names work), 1 to 128
 * characters. They travel in `Remote-User` headers, so no spaces, commas or controls.
 */
export const USER_NAME_PATTERN = /^[A-Za-z0-9._@+-]{1,128}$/;
/** Group names may contain inner spaces ("Domain Admins") but no commas (the header separator) or controls. */
export const GROUP_NAME_PATTERN = /^[^\s,\p{C}](?:[^,\p{C}]{0,126}[^\s,\p{C}])?$/u;
const EMAIL_PATTERN = /^[^\s@,<>"]+@[^\s@,<>"]+$/;
const KNOWN_FIELDS = new Set(['password', 'email', 'name', 'groups', 'disabled']);

/** A users file that cannot be used; `problems` lists every problem found. */
export class UsersFileError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`).join('\n'));
    this.name = 'UsersFileError';
    this.problems = problems;
  }
}

/** True when `hash` is an argon2id PHC string that argon2 can parse. */
function isArgon2idHash(hash: string): boolean {
  if (!hash.startsWith('$argon2id$')) return false;
  try {
    parseOptions(hash);
    return true;
  } catch {
    return false;
  }
}

/** Users per piece when a large file is parsed piece by piece (see {@link splitUsers}). */
const USERS_PER_PIECE = 2000;

/**
 * Splits a block-style users file (`users:` at the left margin, one entry per key under it,
 * comments and blank lines anywhere) into documents of {@link USERS_PER_PIECE} entries each,
 * so that yaml's syntax tree (about 4 KB per user, with positions) exists for one piece at a
 * time: parsed whole, a file of 100,000 users raised the process's memory by 400 MB, most of
 * which the heap kept. A line at the entries' indentation that starts a key is the start of
 * an entry: continuation lines of any value are indented deeper. Null when the file has
 * another shape; it is then parsed whole.
 */
function splitUsers(text: string): string[] | null {
  const lines = text.split('\n');
  const blank = (l: string) => /^\s*(#.*)?\r?$/.test(l);
  let head = 0;
  while (head < lines.length && blank(lines[head]!)) head++;
  if (head === lines.length || !/^users:[ \t]*(#.*)?\r?$/.test(lines[head]!)) return null;
  let indent = -1;
  const starts: number[] = [];
  for (let i = head + 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (blank(l)) continue;
    const lead = l.length - l.trimStart().length;
    if (lead === 0 || l[lead - 1] !== ' ' || l.slice(0, lead).includes('\t')) return null;
    if (indent === -1) indent = lead;
    if (lead === indent) {
      if (l[lead] === '-' || l[lead] === '?') return null;
      starts.push(i);
    } else if (lead < indent) return null;
  }
  if (starts.length <= USERS_PER_PIECE) return null;
  const pieces: string[] = [];
  for (let k = 0; k < starts.length; k += USERS_PER_PIECE) {
    const begin = k === 0 ? head + 1 : starts[k]!;
    const end = k + USERS_PER_PIECE < starts.length ? starts[k + USERS_PER_PIECE]! : lines.length;
    pieces.push(`users:\n${lines.slice(begin, end).join('\n')}`);
  }
  return pieces;
}

/**
 * Parses the text of a users file. Returns the entries, or throws {@link UsersFileError}
 * naming every problem (`file` is only used in the messages). A large file in the usual
 * block style is parsed piece by piece (see {@link splitUsers}); where a piece has a
 * problem, the file is parsed whole again, so the messages are exactly those of one parse.
 */
export function parseUsersFile(text: string, file: string): UserEntry[] {
  const pieces = splitUsers(text);
  if (pieces !== null) {
    const problems: ConfigProblem[] = [];
    const entries: UserEntry[] = [];
    const seen = new Map<string, string>();
    for (const piece of pieces) {
      parsePiece(piece, file, problems, entries, seen);
      if (problems.length > 0) break;
    }
    if (problems.length === 0) return entries;
  }
  const problems: ConfigProblem[] = [];
  const entries: UserEntry[] = [];
  parsePiece(text, file, problems, entries, new Map());
  if (problems.length > 0) throw new UsersFileError(problems);
  return entries;
}

/** Parses one document of users into `entries`, collecting `problems`; `seen` holds the names of earlier pieces. */
function parsePiece(text: string, file: string, problems: ConfigProblem[], entries: UserEntry[], seen: Map<string, string>): void {
  const lines = new LineCounter();
  // yaml's own duplicate-key check compares every key with every other (20,000 users took
  // 30 s); duplicates are found below with a Map instead, at every level of the file.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const at = (offset: number | undefined, path: string, message: string) => {
    const pos = offset === undefined ? { line: 0, col: 0 } : lines.linePos(offset);
    problems.push({ file, line: pos.line, column: pos.col, path, message });
  };
  const nodeAt = (node: Node | null | undefined, path: string, message: string) => at(node?.range?.[0], path, message);

  for (const e of doc.errors) at(e.pos[0], '', e.message.split('\n')[0] ?? e.message);
  if (problems.length > 0) return;

  const root = doc.contents;
  if (!isMap(root)) {
    nodeAt(root, '', 'expected a mapping with a `users:` key');
    return;
  }
  let usersNode: unknown = null;
  const rootKeys = new Set<string>();
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (rootKeys.has(key)) nodeAt(pair.key as Node, key, `"${key}" appears twice`);
    rootKeys.add(key);
    if (key === 'users') usersNode = pair.value;
    else nodeAt(pair.key as Node, key, 'unknown key (the file has only `users:`)');
  }

  if (usersNode !== null && !(isScalar(usersNode) && usersNode.value === null)) {
    if (!isMap(usersNode)) {
      nodeAt(usersNode as Node, 'users', 'expected a mapping of user names to their entries');
    } else {
      for (const pair of usersNode.items) {
        const keyNode = pair.key as Node;
        const name = isScalar(pair.key) ? String(pair.key.value) : '';
        const path = `users.${name}`;
        if (!USER_NAME_PATTERN.test(name)) {
          nodeAt(keyNode, path, 'a user name is 1 to 128 of the characters A-Z a-z 0-9 . _ @ + -');
          continue;
        }
        const other = seen.get(userKey(name));
        if (other === name) nodeAt(keyNode, path, `user "${name}" appears twice`);
        else if (other !== undefined) nodeAt(keyNode, path, `names are case-insensitive: "${name}" is the same user as "${other}"`);
        seen.set(userKey(name), name);
        const entry = parseEntry(name, pair.value as Node | null, keyNode, path, nodeAt);
        if (entry !== null) entries.push(entry);
      }
    }
  }
}

function parseEntry(
  name: string,
  value: Node | null,
  keyNode: Node,
  path: string,
  nodeAt: (node: Node | null | undefined, path: string, message: string) => void,
): UserEntry | null {
  if (!isMap(value)) {
    nodeAt(value ?? keyNode, path, 'expected a mapping with at least `password:`');
    return null;
  }
  let passwordHash: string | undefined;
  let email: string | undefined;
  let displayName: string | undefined;
  let groups: string[] = [];
  let disabled = false;
  let ok = true;
  const fail = (node: Node | null | undefined, p: string, message: string) => {
    ok = false;
    nodeAt(node, p, message);
  };
  const fields = new Set<string>();
  for (const pair of value.items) {
    const field = isScalar(pair.key) ? String(pair.key.value) : '';
    const p = `${path}.${field}`;
    if (fields.has(field)) fail(pair.key as Node, p, `"${field}" appears twice`);
    fields.add(field);
    const v = pair.value as Node | null;
    const text = isScalar(v) && typeof v.value === 'string' ? v.value : undefined;
    if (!KNOWN_FIELDS.has(field)) fail(pair.key as Node, p, 'unknown key (allowed: password, email, name, groups, disabled)');
    else if (field === 'password') {
      if (text === undefined || !isArgon2idHash(text)) {
        fail(
          v ?? (pair.key as Node),
          p,
          'must be an argon2id hash ($argon2id$v=19$m=...,t=...,p=...$salt$hash); create one with `mfa-gateway users add`',
        );
      } else passwordHash = text;
    } else if (field === 'email') {
      if (text === undefined || !EMAIL_PATTERN.test(text)) fail(v ?? (pair.key as Node), p, 'must be an e-mail address');
      else email = text;
    } else if (field === 'name') {
      if (text === undefined || text.trim() === '' || /\p{C}/u.test(text))
        fail(v ?? (pair.key as Node), p, 'must be a non-empty display name without control characters');
      else displayName = text;
    } else if (field === 'groups') {
      if (!isSeq(v)) fail(v ?? (pair.key as Node), p, 'must be a list of group names, e.g. [admins, staff]');
      else {
        groups = [];
        v.items.forEach((item, i) => {
          const g = isScalar(item) && typeof item.value === 'string' ? item.value : undefined;
          if (g === undefined || !GROUP_NAME_PATTERN.test(g))
            fail(item as Node, `${p}[${i}]`, 'a group name is text without commas or control characters');
          else groups.push(g);
        });
      }
    } else if (field === 'disabled') {
      if (!isScalar(v) || typeof v.value !== 'boolean') fail(v ?? (pair.key as Node), p, 'must be true or false');
      else disabled = v.value;
    }
  }
  if (passwordHash === undefined) {
    if (ok) fail(keyNode, `${path}.password`, 'missing: every user needs an argon2id password hash');
    return null;
  }
  if (!ok) return null;
  const record: UserRecord = {
    name,
    ...(email === undefined ? {} : { email }),
    ...(displayName === undefined ? {} : { displayName }),
    groups: Object.freeze(groups),
    disabled,
  };
  return { record: Object.freeze(record), passwordHash };
}

/** Reads and parses the users file at `file`; throws {@link UsersFileError} or the fs error. */
export async function readUsersFile(file: string): Promise<UserEntry[]> {
  return parseUsersFile(await readFile(file, 'utf8'), file);
}
