/**
 * @module factors/ldap/users
 * The users file and the directory as one user directory. The users file wins: a name in
 * the file is that file user, whatever the directory holds (local break-glass accounts that
 * work while the directory is down). Directory users are kept in memory as they were read at
 * sign-in, so `get` on the hot path never waits for the directory:
 *
 * - younger than `cache_ttl`: used as is;
 * - older: still used, and read again in the background (a group change, a disabled or a
 *   removed account applies within `cache_ttl` plus one request);
 * - older than `cache_ttl + outage_grace` (the directory has not answered for that long):
 *   not used; the request asks the directory itself (`lookup`) and fails closed with 503
 *   while it cannot answer.
 *
 * A directory user this process has not seen (after a restart, or signed in on another
 * instance) is looked up once by the service account (`lookup`, used by the session check
 * on a miss); names the directory does not know are remembered as unknown for `cache_ttl`,
 * so a stale session does not cost a search per request.
 */
import { LRUCache } from 'lru-cache';
import { userKey } from '../../store/types.ts';
import { errors } from '../../errors/errors.ts';
import type { UserDirectory, UserRecord } from '../password/index.ts';
import type { DirectoryAuth, DirectoryUser, LdapDirectory } from './directory.ts';
import { DirectoryUnavailableError } from './connection.ts';

export interface DirectoryUsers extends UserDirectory {
  /** The directory user of that name as last read (not a users-file user), for the admin pages. */
  directoryUser(name: string): DirectoryUser | undefined;
}

export interface DirectoryUsersOptions {
  ttlMs: number;
  graceMs: number;
  clock: () => number;
  /** Called when a background read fails (the directory is down); the entry stays until its grace ends. */
  onError?: (err: unknown, user: string) => void;
  /** Most users held in memory (and unknown names remembered). Default 100,000. */
  max?: number;
}

interface Cached {
  /** null: the directory does not know this name. */
  user: DirectoryUser | null;
  /** When the directory last answered for this name. */
  readAt: number;
}

export function createDirectoryUsers(file: UserDirectory, ldap: LdapDirectory, options: DirectoryUsersOptions): DirectoryUsers {
  const { ttlMs, graceMs, clock } = options;
  const cache = new LRUCache<string, Cached>({ max: options.max ?? 100_000 });
  const reading = new Map<string, Promise<DirectoryUser | null>>();

  /** Reads the user from the directory (one read per name at a time) and caches the answer. */
  function read(name: string): Promise<DirectoryUser | null> {
    const key = userKey(name);
    const running = reading.get(key);
    if (running) return running;
    const p = ldap
      .find(name)
      .then((user) => {
        cache.set(key, { user, readAt: clock() });
        return user;
      })
      .finally(() => reading.delete(key));
    reading.set(key, p);
    return p;
  }

  function cached(name: string): Cached | undefined {
    const key = userKey(name);
    const entry = cache.get(key);
    if (entry === undefined) return undefined;
    const age = clock() - entry.readAt;
    if (age < ttlMs) return entry;
    if (!reading.has(key)) read(name).catch((err: unknown) => options.onError?.(err, name));
    return age < ttlMs + graceMs ? entry : undefined;
  }

  const get = (name: string): UserRecord | undefined => file.get(name) ?? cached(name)?.user?.record;

  return {
    get,
    list: () => [
      ...file.list(),
      ...[...cache.values()].flatMap((c) => (c.user !== null && file.get(c.user.record.name) === undefined ? [c.user.record] : [])),
    ],
    credentialsOf: (name) => file.credentialsOf(name),
    directoryUser: (name) => (file.get(name) === undefined ? (cache.get(userKey(name))?.user ?? undefined) : undefined),
    passwordStamp(name) {
      if (file.get(name) !== undefined) return file.passwordStamp(name);
      const entry = cache.get(userKey(name));
      return entry?.user ? `ldap:${entry.readAt}` : undefined;
    },
    async lookup(name) {
      const known = file.get(name);
      if (known !== undefined) return known;
      const entry = cached(name);
      if (entry !== undefined) return entry.user?.record;
      try {
        return (await read(name))?.record;
      } catch (err) {
        if (err instanceof DirectoryUnavailableError)
          throw errors.signInUnavailable(`directory user ${JSON.stringify(name.slice(0, 256))}: ${err.message}`, err);
        throw err;
      }
    },
    async verify(name, password, verifier) {
      if (file.get(name) !== undefined) return file.verify(name, password, verifier);
      // The file's check of an unknown name runs its dummy argon2 hash: a directory sign-in
      // costs what a file sign-in costs, and both run side by side.
      const dummy = file.verify(name, password, verifier);
      let auth: DirectoryAuth;
      try {
        auth = await ldap.authenticate(name, password);
      } catch (err) {
        await dummy;
        if (err instanceof DirectoryUnavailableError) return { ok: false, reason: 'unavailable', user: undefined, detail: err.message };
        throw err;
      }
      await dummy;
      if (auth.user !== undefined) cache.set(userKey(auth.user.record.name), { user: auth.user, readAt: clock() });
      if (auth.ok) return { ok: true, user: auth.user.record };
      if (auth.reason === 'unknown_user') return { ok: false, reason: 'unknown_user', user: undefined, detail: auth.detail };
      const reason = auth.reason === 'locked' || auth.reason === 'ok' ? 'disabled' : auth.reason;
      return { ok: false, reason, user: auth.user.record, detail: auth.detail };
    },
    reload: () => file.reload(),
    close() {
      file.close();
      void ldap.close();
    },
  };
}
