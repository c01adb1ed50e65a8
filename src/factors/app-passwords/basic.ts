/**
 * @module factors/app-passwords/basic
 * HTTP Basic (RFC 7617) on rules with `app_passwords: true`, for legacy clients that cannot
 * show a sign-in page. A user name with an app password counts as both factors (the app
 * password was created behind the second factor). Until the user has created an app
 * password, the account password is accepted too, as with Azure, but only as what it is: the
 * first factor, so it passes `one_factor` rules, and `two_factor` rules only where a
 * password is enough (trusted networks). Once an app password exists, the account password
 * is refused over Basic for good.
 *
 * Each verification costs an argon2 hash, far too much per request, so successful ones are
 * cached in memory under a SHA-256 of the Authorization value (never the value itself), for
 * at most a minute. A cache hit is re-checked every time: the user must still exist, not be
 * disabled or blocked (the in-memory block list), the account password must be unchanged,
 * and the user's app passwords must not have changed since the entry was made. The last is
 * a per-user stamp from the store's change feed, polled like the revocations, so a revoked
 * app password, or the first one created, takes effect within a second on every gateway.
 *
 * Misses go through the one regulated password check (`factors/password/regulated`: source
 * throttle, lockout counted before the check, lockout notice) and are written to the
 * sign-in log (kind `app_password`); hits are neither, so a mail client polling every few
 * seconds costs one log entry and one argon2 hash a minute.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Addr } from '../../client-ip/cidr.ts';
import type { AppPasswordStore, AuditEvent, AuditStore } from '../../store/types.ts';
import type { ChangeFeed } from '../../store/change-feed.ts';
import { userKey } from '../../store/types.ts';
import type { RegulatedPasswordCheck, UserDirectory, UserRecord } from '../password/index.ts';
import { errors } from '../../errors/errors.ts';
import { HINT_LENGTH, normalizeAppPassword } from './app-password.ts';

/** How long a verified Authorization value is trusted without a new argon2 check. */
const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 10_000;
/** Longest Authorization value looked at; longer ones are refused without any work. */
const MAX_AUTHORIZATION = 1024;

type BasicStore = Pick<
  AppPasswordStore,
  'appPasswordCandidates' | 'hasCreatedAppPassword' | 'touchAppPassword' | 'appPasswordChangesSince'
> &
  Pick<AuditStore, 'record'>;

export interface BasicDeps {
  store: BasicStore;
  users: Pick<UserDirectory, 'get' | 'passwordStamp'>;
  /** The in-memory block list (`LiveRevocationView.blocked`). */
  blocked: (user: string) => boolean;
  /** The regulated password check (`factors/password/regulated`), shared with the sign-in page. */
  passwordCheck: RegulatedPasswordCheck;
  clock: () => number;
  /**
   * The process's change feed (the revocation view's): it tells which users' app passwords
   * changed, and while it is not current cache hits are not trusted.
   */
  feed: ChangeFeed;
}

/** Where a Basic attempt came from, for the sign-in log. */
interface BasicContext {
  clientIp: string;
  /** The resolved client address, the source the throttle counts. */
  clientAddr: Addr;
  userAgent: string;
  /** The rule's name, or `rule N`. */
  rule: string;
}

type BasicResult =
  | { ok: true; user: UserRecord; level: 1 | 2; via: 'app_password' | 'password'; cached: boolean }
  /**
   * `throttled`: the source failed too often lately, or the typed name is locked (answer 429,
   * retry after `retryAfter` seconds).
   */
  | { ok: false; throttled?: { retryAfter: number; source: string; close?: true } };

export interface BasicVerifier {
  /** Checks the value of an `Authorization: Basic ...` header. */
  verify(authorization: string, context: BasicContext): Promise<BasicResult>;
  /** Polls the change feed now (after this process changed a user's app passwords). */
  refresh(): Promise<void>;
}

interface Entry {
  user: string;
  level: 1 | 2;
  via: 'app_password' | 'password';
  /** The change counter value before the verification started. */
  seq: number;
  /** For `password`: the hash the password was verified against (a changed password ends the entry). */
  hash: string | null;
}

const DENIED: BasicResult = { ok: false };

/** The user name and password of a Basic Authorization value, or null when it is not one. */
function parseBasic(authorization: string): { user: string; password: string } | null {
  if (authorization.length > MAX_AUTHORIZATION) return null;
  const m = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(authorization);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(decoded)) return null;
  return { user: decoded.slice(0, colon).normalize('NFC'), password: decoded.slice(colon + 1) };
}

export function createBasicVerifier(deps: BasicDeps): BasicVerifier {
  const { store, users, clock, feed } = deps;
  const cache = new LRUCache<string, Entry>({ max: CACHE_MAX, ttl: CACHE_TTL_MS, updateAgeOnGet: false });
  /** User key -> change counter value at which their app passwords last changed. */
  const changed = new Map<string, number>();
  /** The change counter this verifier has caught up with. */
  let seq = 0;
  feed.subscribe(async (since) => {
    const changes = await store.appPasswordChangesSince(since);
    for (const user of changes.users) changed.set(user, changes.seq);
    seq = changes.seq;
    return seq;
  });

  /** A cached verification that still holds, re-checked against everything that can end it. */
  function fromCache(key: string): BasicResult | null {
    const entry = cache.get(key);
    if (entry === undefined) return null;
    const user = users.get(entry.user);
    const still =
      feed.current() &&
      user !== undefined &&
      !user.disabled &&
      !deps.blocked(user.name) &&
      (changed.get(userKey(user.name)) ?? 0) <= entry.seq &&
      (entry.hash === null || users.passwordStamp(user.name) === entry.hash);
    if (!still) {
      cache.delete(key);
      return null;
    }
    return { ok: true, user, level: entry.level, via: entry.via, cached: true };
  }

  async function verify(authorization: string, context: BasicContext): Promise<BasicResult> {
    const key = createHash('sha256').update(authorization).digest('base64url');
    const hit = fromCache(key);
    if (hit) return hit;

    const credentials = parseBasic(authorization);
    const log = (user: string, outcome: AuditEvent['outcome'], detail: string) =>
      store.record({
        kind: 'app_password',
        user: user.slice(0, 256),
        clientIp: context.clientIp,
        userAgent: context.userAgent,
        rule: context.rule,
        outcome,
        detail,
      });
    if (credentials === null) {
      await log('', 'denied', 'malformed Basic credentials');
      return DENIED;
    }
    const name = credentials.user;
    const seqBefore = seq;
    // One argon2 check against the app password the hint names, else the account password
    // (or the dummy hash of an unknown name); throttle, lockout and log as on the sign-in page.
    const plain = normalizeAppPassword(credentials.password);
    const check = await deps.passwordCheck({
      name,
      password: credentials.password,
      kind: 'app_password',
      clientIp: context.clientIp,
      clientAddr: context.clientAddr,
      userAgent: context.userAgent,
      rule: context.rule,
      alternative: async (verify) => {
        if (plain === null) return null;
        for (const c of await store.appPasswordCandidates(name, plain.slice(0, HINT_LENGTH))) {
          if (await verify(c.hash, plain)) return { id: c.id, label: c.name };
        }
        return null;
      },
    });
    if (!check.ok) {
      if (check.reason === 'throttled')
        return {
          ok: false,
          throttled: {
            retryAfter: (check.retryAt - clock()) / 1000,
            source: check.source,
            ...(check.close ? { close: true as const } : {}),
          },
        };
      // A locked name answers 429 with Retry-After like a throttled source, whatever the password:
      // the client learns when to try again, and nothing about the account (the sign-in log says why).
      if (check.reason === 'locked') return { ok: false, throttled: { retryAfter: (check.until - clock()) / 1000, source: check.source } };
      // A directory that cannot answer lets nobody in, and says so (503) rather than "wrong password".
      if (check.reason === 'unavailable') throw errors.signInUnavailable(check.detail);
      return DENIED;
    }
    const user = check.user;
    const viaApp = check.via.kind === 'alternative' ? { id: check.via.id, name: check.via.label } : null;
    const denied = async (why: string) => {
      await log(name, 'denied', why);
      return DENIED;
    };

    let entry: Entry;
    if (viaApp !== null) {
      await store.touchAppPassword(viaApp.id, clock());
      entry = { user: user.name, level: 2, via: 'app_password', seq: seqBefore, hash: null };
      await log(user.name, 'success', `app password "${viaApp.name}" accepted`);
    } else {
      if (await store.hasCreatedAppPassword(user.name)) return denied('account password refused: the user has created app passwords');
      entry = { user: user.name, level: 1, via: 'password', seq: seqBefore, hash: users.passwordStamp(user.name) ?? null };
      await log(user.name, 'success', 'account password accepted over HTTP Basic (the user has no app password yet)');
    }
    cache.set(key, entry);
    return { ok: true, user, level: entry.level, via: entry.via, cached: false };
  }

  return { verify, refresh: () => feed.refresh() };
}
