/**
 * @module session/registry
 * The session index as the rest of the gateway uses it: a record written when a session
 * starts or changes level, its "last seen" moved when its idle clock moves (at most once per
 * renewal interval, never per request), `session.max_per_user` applied when a new session
 * starts, and ending one session (or every session of a provider subject) on the server.
 * Requests never wait for the store here: the revocation view in memory decides, and an
 * ended session reaches every gateway through the change feed within a poll.
 */
import type { Logger } from 'pino';
import type { IndexedSession, RevalidationStart, SessionIndexStore, SessionSkip } from '../store/types.ts';
import type { SessionData } from './session.ts';
import { userKey } from '../store/types.ts';

/** Where a session was used from: client address and browser (User-Agent, cut to 512 characters). */
interface SeenFrom {
  ip: string;
  userAgent: string;
}

/** A federated session's handle at the identity provider (OpenID Connect `sub` and `sid`). */
export interface ProviderSession {
  sub: string;
  sid?: string | undefined;
  /** With `federation.oidc.revalidate_every`: the tokens the provider is asked with later, and when first. */
  revalidation?: RevalidationStart | undefined;
}

export interface SessionRegistryDeps {
  store: SessionIndexStore;
  /** Polls the change feed now, so this process refuses an ended session at once. */
  refreshRevocations: () => Promise<void>;
  /** When a session's cookie stops working at the latest (its absolute timeout). */
  absoluteExpiry: (data: SessionData) => number;
  /** `session.max_per_user`, read on every new session (0 = no limit). */
  maxPerUser: () => number;
  clock: () => number;
  log: Logger;
}

export interface SessionRegistry {
  /**
   * Records `data` (new, or the same sid at a new level). For a new session beyond
   * `session.max_per_user`, the user's oldest other sessions are ended; returns how many.
   */
  record(
    data: SessionData,
    from: SeenFrom,
    opts: { isNew: boolean; skip: SessionSkip | null; provider?: ProviderSession | undefined },
  ): Promise<number>;
  /** The idle clock moved: moves "last seen" in the background (a failure is logged). */
  renewed(sid: string, from: SeenFrom): void;
  list(user: string): Promise<IndexedSession[]>;
  /** Ends one session of `user`; false when there is no such live session. */
  end(user: string, sid: string): Promise<boolean>;
  /** Ends every live session of `user` except `keep`; returns how many. */
  endOthers(user: string, keep: string): Promise<number>;
  /** Ends the federated sessions matching the provider's `sid` and/or `sub`; returns them. */
  endProviderSessions(match: { sid?: string; sub?: string }): Promise<IndexedSession[]>;
}

/**
 * The gateway's own `amr` values as RFC 8176 values: a code from an app or a hardware token
 * is `otp` (`hwk` added for a hardware token), a recovery code or a temporary access pass is
 * knowledge (`kba`), a provider's sign-in is reported by what the provider said (`mfa` when
 * it did multi-factor). A remembered browser is not a factor: it is the session's `skip`.
 */
function rfc8176(amr: readonly string[]): string[] {
  const out = new Set<string>();
  for (const value of amr) {
    if (value === 'totp') out.add('otp');
    else if (value === 'oath_token') out.add('otp').add('hwk');
    else if (value === 'rc' || value === 'tap') out.add('kba');
    else if (value === 'pwd' || value === 'mfa' || value === 'hwk' || value === 'swk' || value === 'otp') out.add(value);
  }
  if (out.size > 1 || amr.includes('mfa')) out.add('mfa');
  return [...out];
}

export function createSessionRegistry(deps: SessionRegistryDeps): SessionRegistry {
  const { store, clock, log } = deps;

  async function endMany(sessions: readonly IndexedSession[]): Promise<IndexedSession[]> {
    const ended: IndexedSession[] = [];
    for (const s of sessions) if (await store.endSession(s.user, s.sid)) ended.push(s);
    if (ended.length > 0) await deps.refreshRevocations();
    return ended;
  }

  return {
    async record(data, from, opts) {
      const now = clock();
      await store.indexSession(
        {
          sid: data.sid,
          user: data.user,
          createdAt: now,
          lastSeen: now,
          expiresAt: deps.absoluteExpiry(data),
          createdIp: from.ip,
          createdUserAgent: from.userAgent,
          lastIp: from.ip,
          lastUserAgent: from.userAgent,
          amr: rfc8176(data.amr),
          skip: opts.skip,
          federated: data.amr.includes('oidc'),
          providerSid: opts.provider?.sid ?? null,
          providerSub: opts.provider?.sub ?? null,
        },
        opts.provider?.revalidation,
      );
      const max = deps.maxPerUser();
      if (!opts.isNew || max <= 0) return 0;
      const live = await store.listSessions(data.user);
      const others = live.filter((s) => s.sid !== data.sid);
      // Oldest first (the list's order); this new session itself is never ended here.
      const surplus = others.slice(0, Math.max(0, others.length - (max - 1)));
      const ended = await endMany(surplus);
      if (ended.length > 0) log.info({ user: data.user, ended: ended.length, max }, 'oldest sessions ended: session.max_per_user reached');
      return ended.length;
    },
    renewed(sid, from) {
      store
        .touchSession(sid, { at: clock(), ip: from.ip, userAgent: from.userAgent })
        .catch((err: unknown) => log.warn({ err }, 'could not record when a session was last seen'));
    },
    list: (user) => store.listSessions(user),
    async end(user, sid) {
      return (await endMany((await store.listSessions(user)).filter((s) => s.sid === sid))).length === 1;
    },
    async endOthers(user, keep) {
      return (await endMany((await store.listSessions(user)).filter((s) => s.sid !== keep && userKey(s.user) === userKey(user)))).length;
    },
    async endProviderSessions(match) {
      return endMany(await store.providerSessions(match));
    },
  };
}
