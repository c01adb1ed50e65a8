/**
 * @module factors/password/password
 * The first factor: argon2id password hashes (RFC 9106) made and checked with @node-rs/argon2
 * on threads of their own at the lowest CPU priority (argon2-threads), off the event loop. A wrong name and a wrong password cost the same
 * argon2 work and give the same answer to the caller; only the log learns which it was.
 */

import type { UserRecord } from './users-file.ts';
import { HASH_CONCURRENCY, hashSlots } from './hash-slots.ts';
import { createArgon2Threads } from './argon2-threads.ts';

/** One low-priority thread per hash slot. */
const argon2 = createArgon2Threads(HASH_CONCURRENCY);

/**
 * argon2id with 19 MiB, 2 passes, 1 lane: OWASP's recommended minimum, about 20-40 ms per
 * hash on the reference machines, small enough for several sign-ins at once.
 */
export const PASSWORD_HASH_OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1, outputLen: 32 } as const;

/** Hashes a password as an argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`), in a hash slot. */
export function hashPassword(password: string): Promise<string> {
  return hashSlots.run(() => argon2.hash(password, PASSWORD_HASH_OPTIONS));
}

/**
 * The argon2 verification; a parameter only so tests can count calls to the real one.
 * `source` is the client's source (see `regulation/source-throttle`), for the fair queue.
 */
export type PasswordVerifier = (phc: string, password: string, source?: string) => Promise<boolean>;

/** The real argon2 verification, in a hash slot (see `hash-slots`): every password check of the gateway goes through it. */
export const argon2Verify: PasswordVerifier = (phc, password, source) => hashSlots.run(() => argon2.verify(phc, password), source);

/** What the users file's password check needs: the user and the hash to verify against. */
export interface CredentialSource {
  credentialsOf(name: string): { user: UserRecord | undefined; hash: string };
}

/** Why a password check failed. Only the log learns it; the client sees one failure for all but `unavailable` and the password states. */
export type PasswordFailure =
  | 'unknown_user'
  | 'disabled'
  | 'wrong_password'
  /** The right password, but it has expired (directory). */
  | 'password_expired'
  /** The right password, but it must be changed before use (directory). */
  | 'must_change_password'
  /** The right password, but the account has expired (Active Directory). */
  | 'account_expired';

export type PasswordCheck =
  | { ok: true; user: UserRecord }
  | { ok: false; reason: PasswordFailure; user: UserRecord | undefined; detail?: string }
  /** The source cannot answer now (a directory that is down or slow): nobody is let in, and the page says sign-in is unavailable. */
  | { ok: false; reason: 'unavailable'; user: undefined; detail: string };

/**
 * A first-factor source: the users file, a directory, or both. `verify` costs the same for
 * every name (one argon2 verification, plus the directory's search and bind where one is
 * configured), so timing does not reveal which names exist.
 */
export interface FirstFactorSource {
  /** `verifier` runs the argon2 work; the regulated check passes one bound to the client's source (fair queueing). */
  verify(name: string, password: string, verifier?: PasswordVerifier): Promise<PasswordCheck>;
  /**
   * Changes whenever the user's password may have changed (the users file's hash; for a
   * directory user, the time their entry was read), so a cache of verified passwords can end.
   */
  passwordStamp(name: string): string | undefined;
}

/**
 * The users file's check of `password` for the user typed as `name` (any case). Exactly one
 * argon2 verification runs on every path: against the user's hash, or against a dummy of the
 * same cost when the user is unknown or disabled.
 */
export async function checkHash(
  dir: CredentialSource,
  name: string,
  password: string,
  verifier: PasswordVerifier = argon2Verify,
): Promise<PasswordCheck> {
  const { user, hash: phc } = dir.credentialsOf(name);
  const matches = await verifier(phc, password);
  if (user === undefined) return { ok: false, reason: 'unknown_user', user };
  if (user.disabled) return { ok: false, reason: 'disabled', user };
  return matches ? { ok: true, user } : { ok: false, reason: 'wrong_password', user };
}

/**
 * Checks `password` for the user typed as `name` against the configured source. The reason
 * is for the sign-in log; show every failure to the client the same way (except
 * `unavailable`, which is a 503 "sign-in is unavailable", and the password states, which
 * only the right password reaches).
 */
export function checkPassword(
  source: FirstFactorSource,
  name: string,
  password: string,
  verifier?: PasswordVerifier,
): Promise<PasswordCheck> {
  return source.verify(name, password, verifier);
}

/** {@link checkPassword} when the reason does not matter: the user, or null for any failure. */
export async function verifyPassword(
  source: FirstFactorSource,
  name: string,
  password: string,
  verifier?: PasswordVerifier,
): Promise<UserRecord | null> {
  const r = await checkPassword(source, name, password, verifier);
  return r.ok ? r.user : null;
}
