/**
 * @module factors/password/directory
 * The users file held in memory and kept current: `users add` or an editor changes the file,
 * the running gateway picks it up without a restart. A bad edit never locks everyone out:
 * the previous users stay in force and the problem goes to `onError`.
 */

import { randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { hash, parseOptions } from '@node-rs/argon2';
import { userKey } from '../../store/types.ts';
import { parseUsersFile } from './users-file.ts';
import type { UserEntry, UserRecord } from './users-file.ts';
import { checkHash, PASSWORD_HASH_OPTIONS } from './password.ts';
import type { FirstFactorSource } from './password.ts';

/** What most consumers need: find a user (case-insensitively) and list them. */
export interface UserLookup {
  /** The user named `name` in any letter case, with the canonical name from the file. */
  get(name: string): UserRecord | undefined;
  /** All users in file order. */
  list(): readonly UserRecord[];
}

export interface UserDirectory extends UserLookup, FirstFactorSource {
  /**
   * The users file's part of the password check: the user (undefined when unknown) and the
   * hash to verify against, which is a dummy of the same cost when the user is unknown or disabled.
   */
  credentialsOf(name: string): { user: UserRecord | undefined; hash: string };
  /**
   * `get`, and where `get` does not know the name, the sources that are asked off the hot path
   * (a directory user this process has not seen yet, or whose entry is too old). Rejects with
   * a 503 GatewayError when such a source cannot answer.
   */
  lookup(name: string): Promise<UserRecord | undefined>;
  /** Re-reads the file now; true when new users took effect, false when unchanged or invalid. */
  reload(): Promise<boolean>;
  /** Stops watching the file. */
  close(): void;
}

export interface UserDirectoryOptions {
  /** Called when a changed file cannot be used; the previous users stay. Default: a process warning. */
  onError?: (err: Error) => void;
  /** Called after a changed file took effect. */
  onReload?: (users: readonly UserRecord[]) => void;
  /** Interval of the stat check that backs up fs.watch (which can miss events on some file systems). Default 2000. */
  pollIntervalMs?: number;
}

interface Snapshot {
  text: string;
  byKey: Map<string, UserEntry>;
  list: readonly UserRecord[];
  dummyHash: string;
}

/** The argon2 cost parameters of a PHC string, as a comparable key. */
function costOf(phc: string): string {
  const o = parseOptions(phc);
  return `${o.memoryCost},${o.timeCost},${o.parallelism},${o.outputLen}`;
}

/**
 * A hash of a random password with the cost most users' hashes have, so verifying a wrong
 * name costs what verifying a wrong password costs and response times do not reveal which
 * names exist.
 */
async function dummyHashFor(entries: readonly UserEntry[], previous: Snapshot | undefined): Promise<string> {
  const counts = new Map<string, number>();
  for (const e of entries) {
    const c = costOf(e.passwordHash);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const common = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (previous !== undefined && (common === undefined || costOf(previous.dummyHash) === common)) return previous.dummyHash;
  const [memoryCost, timeCost, parallelism, outputLen] =
    common === undefined
      ? [
          PASSWORD_HASH_OPTIONS.memoryCost,
          PASSWORD_HASH_OPTIONS.timeCost,
          PASSWORD_HASH_OPTIONS.parallelism,
          PASSWORD_HASH_OPTIONS.outputLen,
        ]
      : common.split(',').map(Number);
  return hash(randomBytes(32).toString('base64url'), { memoryCost, timeCost, parallelism, outputLen });
}

async function snapshotOf(text: string, file: string, previous: Snapshot | undefined): Promise<Snapshot> {
  const entries = parseUsersFile(text, file);
  return {
    text,
    byKey: new Map(entries.map((e) => [userKey(e.record.name), e])),
    list: Object.freeze(entries.map((e) => e.record)),
    dummyHash: await dummyHashFor(entries, previous),
  };
}

/**
 * Loads the users file and watches it (fs.watch on its directory, so editors that save by
 * renaming are seen, plus a periodic stat check). Throws `UsersFileError` (every problem with
 * line and column) or the fs error when the file cannot be used at start.
 *
 * @example
 * const users = await loadUserDirectory(config.users.file, { onError: (e) => log.error(e) });
 * const alice = users.get('ALICE'); // { name: 'alice', groups: [...], ... }
 */
export async function loadUserDirectory(file: string, options: UserDirectoryOptions = {}): Promise<UserDirectory> {
  const onError = options.onError ?? ((err: Error) => process.emitWarning(`users file ${file}: ${err.message}`));
  let current = await snapshotOf(await readFile(file, 'utf8'), file, undefined);
  let lastStat = await statKey(file);
  let pending: Promise<boolean> = Promise.resolve(false);
  let debounce: NodeJS.Timeout | undefined;
  let closed = false;

  async function doReload(): Promise<boolean> {
    try {
      const text = await readFile(file, 'utf8');
      lastStat = await statKey(file);
      if (text === current.text) return false;
      current = await snapshotOf(text, file, current);
      options.onReload?.(current.list);
      return true;
    } catch (err) {
      onError(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }
  // Reloads run one after another, so a slow one never overwrites a newer one.
  const reload = () => (pending = pending.then(doReload));
  const schedule = () => {
    if (closed) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => void reload(), 30);
    debounce.unref();
  };

  const name = basename(file);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
      if (changed === null || changed === name) schedule();
    });
    watcher.on('error', (err) => onError(err));
  } catch (err) {
    onError(new Error(`cannot watch ${file}, relying on the stat check: ${(err as Error).message}`));
  }
  const poll = setInterval(() => {
    statKey(file).then(
      (s) => {
        if (s !== lastStat) schedule();
      },
      () => schedule(),
    );
  }, options.pollIntervalMs ?? 2000);
  poll.unref();

  function credentialsOf(n: string): { user: UserRecord | undefined; hash: string } {
    const entry = current.byKey.get(userKey(n));
    return { user: entry?.record, hash: entry === undefined || entry.record.disabled ? current.dummyHash : entry.passwordHash };
  }

  return {
    get: (n) => current.byKey.get(userKey(n))?.record,
    list: () => current.list,
    credentialsOf,
    verify: (n, password, verifier) => checkHash({ credentialsOf }, n, password, verifier),
    passwordStamp: (n) => current.byKey.get(userKey(n))?.passwordHash,
    lookup: (n) => Promise.resolve(current.byKey.get(userKey(n))?.record),
    reload,
    close() {
      closed = true;
      clearTimeout(debounce);
      clearInterval(poll);
      watcher?.close();
    },
  };
}

async function statKey(file: string): Promise<string> {
  const s = await stat(file, { bigint: true });
  return `${s.ino}:${s.size}:${s.mtimeNs}`;
}
