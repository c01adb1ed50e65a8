/**
 * @module cli/admin-store
 * What the admin commands (`block`, `unblock`, `revoke`) share: the config's store opened
 * from a separate process (running gateways notice the change within their poll interval),
 * the canonical spelling of a user name from the users file, and who is acting.
 */
import { userInfo } from 'node:os';
import type { GatewayConfig } from '../config/types.ts';
import type { Store } from '../store/types.ts';
import type { CommandIo } from './io.ts';
import { openStore } from '../store/index.ts';
import { lockoutRules } from '../regulation/lockout.ts';
import { sourceThrottleRules } from '../regulation/source-throttle.ts';
import { loadUserDirectory } from '../factors/password/index.ts';

/** The OS user running the command, as recorded in the block history and the sign-in log. */
export function operator(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? env.LOGNAME ?? 'unknown';
  }
}

/**
 * The users file's spelling of `name`, or `name` as given when the file does not list it
 * (a federated user); in that case a note goes to stderr so a typo does not pass unseen.
 */
export async function canonicalName(config: Readonly<GatewayConfig>, name: string, io: CommandIo): Promise<string> {
  const users = await loadUserDirectory(config.users.file);
  const record = users.get(name);
  users.close();
  if (record) return record.name;
  io.stderr.write(`note: ${JSON.stringify(name)} is not in ${config.users.file} (a federated user?); applying it anyway\n`);
  return name;
}

/** Opens the store, runs `fn`, and always closes the store. */
export async function withStore<T>(config: Readonly<GatewayConfig>, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(config.store, { clock: Date.now, lockout: lockoutRules, sourceThrottle: sourceThrottleRules });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
