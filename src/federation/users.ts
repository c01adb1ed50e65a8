/**
 * @module federation/users
 * One user directory over two sources: the users file first, then the users recorded on
 * their first federated sign-in (`federation.oidc.create_users`). The per-request session
 * check and the portal look users up here, so a federated user holds methods, is blocked,
 * revoked and logged like anyone else. Lookups are synchronous Map reads: the recorded
 * users are held in memory, updated at once by this process's own sign-ins and polled
 * from the store (one cheap version query) so another process's sign-ins arrive too.
 */
import type { UserDirectory, UserRecord } from '../factors/password/index.ts';
import type { FederatedUser, FederationStore } from '../store/types.ts';
import { userKey } from '../store/types.ts';

export interface CombinedDirectory extends UserDirectory {
  /** Puts a user just saved by this process into the cache (no wait for the next poll). */
  remember(user: FederatedUser): void;
  /** The recorded federated user (not a users-file user) of that name, if any. */
  federated(name: string): UserRecord | undefined;
  /** Reloads the recorded users from the store now if they changed. */
  refresh(): Promise<void>;
}

export interface CombinedDirectoryOptions {
  /** How often to ask the store whether recorded users changed. Default 1000. */
  pollMs?: number;
  onError?: (err: unknown) => void;
}

function toRecord(u: FederatedUser): UserRecord {
  return {
    name: u.name,
    ...(u.email ? { email: u.email } : {}),
    ...(u.displayName ? { displayName: u.displayName } : {}),
    groups: Object.freeze([...u.groups]),
    disabled: false,
  };
}

/**
 * @example
 *   const users = await createCombinedDirectory(fileUsers, store);
 *   users.get('Carol'); // from users.yaml if she is there, else her federated record
 */
export async function createCombinedDirectory(
  file: UserDirectory,
  store: Pick<FederationStore, 'listFederatedUsers' | 'federatedUsersVersion'>,
  options: CombinedDirectoryOptions = {},
): Promise<CombinedDirectory> {
  let byKey = new Map<string, UserRecord>();
  let version = '';

  async function refresh(): Promise<void> {
    const v = await store.federatedUsersVersion();
    if (v === version) return;
    const next = new Map<string, UserRecord>();
    for (const u of await store.listFederatedUsers()) next.set(userKey(u.name), toRecord(u));
    byKey = next;
    version = v;
  }
  await refresh();

  let polling = false;
  const poll = setInterval(() => {
    if (polling) return;
    polling = true;
    refresh()
      .catch((err: unknown) => options.onError?.(err))
      .finally(() => {
        polling = false;
      });
  }, options.pollMs ?? 1000);
  poll.unref();

  return {
    get: (name) => file.get(name) ?? byKey.get(userKey(name)),
    list: () => [...file.list(), ...[...byKey.values()].filter((u) => file.get(u.name) === undefined)],
    // Federated users have no password here: unknown to the password check, at equal cost.
    credentialsOf: (name) => file.credentialsOf(name),
    verify: (name, password, verifier) => file.verify(name, password, verifier),
    passwordStamp: (name) => file.passwordStamp(name),
    lookup: async (name) => (await file.lookup(name)) ?? byKey.get(userKey(name)),
    reload: () => file.reload(),
    federated: (name) => byKey.get(userKey(name)),
    remember(user) {
      byKey.set(userKey(user.name), toRecord(user));
    },
    refresh,
    close() {
      clearInterval(poll);
      file.close();
    },
  };
}
