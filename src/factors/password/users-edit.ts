/**
 * @module factors/password/users-edit
 * Changes to one user's entry in the users file made by the gateway itself (the admin pages'
 * make admin and remove admin, and `users make-admin`). Like `users add`, it edits through
 * yaml's Document API so comments and layout survive, refuses to write a file the gateway
 * could not load, and replaces the file atomically so a running gateway never reads half of it.
 */

import { randomInt } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, YAMLMap } from 'yaml';
import { userKey } from '../../store/types.ts';
import { GROUP_NAME_PATTERN, parseUsersFile } from './users-file.ts';

/** Thrown when the user is not in the file or the group name is not valid; the message is for the operator. */
export class UserEditError extends Error {
  override name = 'UserEditError';
}

/**
 * Adds `adminGroup` to the groups of `user` (any letter case) in `usersFile`. Returns true
 * when the file changed, false when the user already was in the group. Throws
 * {@link UserEditError} for an unknown user, `UsersFileError` for a file with problems.
 * Running gateways pick the change up like any edit of the file.
 *
 * @example
 * if (await makeAdmin(config.users.file, 'bob', config.users.admin_group)) console.log('bob is now an admin');
 */
export async function makeAdmin(usersFile: string, user: string, adminGroup: string): Promise<boolean> {
  const { doc, entry } = await entryOf(usersFile, user, adminGroup);
  const groups = entry.get('groups', true);
  if (isSeq(groups)) {
    if (groups.items.some((g) => isScalar(g) && String(g.value) === adminGroup)) return false;
    groups.add(doc.createNode(adminGroup));
  } else {
    const seq = doc.createNode([adminGroup]);
    seq.flow = true;
    entry.set('groups', seq);
  }
  await save(usersFile, doc);
  return true;
}

/**
 * Takes `adminGroup` out of the groups of `user` (any letter case) in `usersFile`, keeping
 * the other groups. Returns true when the file changed, false when the user was not in the
 * group. Throws like {@link makeAdmin}.
 *
 * @example
 * if (await removeAdmin(config.users.file, 'bob', config.users.admin_group)) console.log('bob is no longer an admin');
 */
export async function removeAdmin(usersFile: string, user: string, adminGroup: string): Promise<boolean> {
  const { doc, entry } = await entryOf(usersFile, user, adminGroup);
  const groups = entry.get('groups', true);
  if (!isSeq(groups)) return false;
  const at = groups.items.findIndex((g) => isScalar(g) && String(g.value) === adminGroup);
  if (at < 0) return false;
  groups.items.splice(at, 1);
  await save(usersFile, doc);
  return true;
}

/** The users file as a yaml Document and the entry of `user` in it; a file with problems is not edited. */
async function entryOf(usersFile: string, user: string, adminGroup: string): Promise<{ doc: Document; entry: YAMLMap }> {
  if (!GROUP_NAME_PATTERN.test(adminGroup)) throw new UserEditError(`"${adminGroup}" is not a valid group name`);
  const text = await readFile(usersFile, 'utf8');
  parseUsersFile(text, usersFile);
  const doc = parseDocument(text);
  const users = doc.get('users', true);
  const pair = isMap(users) ? users.items.find((p) => isScalar(p.key) && userKey(String(p.key.value)) === userKey(user)) : undefined;
  if (pair === undefined || !isMap(pair.value)) throw new UserEditError(`no user "${user}" in ${usersFile}`);
  return { doc, entry: pair.value as YAMLMap };
}

/** Writes the edited Document back, only if the result is a users file the gateway can load. */
async function save(usersFile: string, doc: Document): Promise<void> {
  const next = doc.toString({ flowCollectionPadding: false, lineWidth: 0 });
  parseUsersFile(next, usersFile);
  await writeAtomically(usersFile, next);
}

/**
 * Writes the users file through a temp file in the same directory and a rename: readers (a
 * running gateway's watcher) see the old or the new file, never a mix. Keeps the file's
 * mode; a new file gets 0600, since it holds password hashes.
 */
export async function writeAtomically(file: string, text: string): Promise<void> {
  const mode = await stat(file).then(
    (s) => s.mode & 0o777,
    () => 0o600,
  );
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomInt(1e9)}.tmp`);
  await writeFile(tmp, text, { mode, flag: 'wx' });
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
