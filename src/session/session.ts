/**
 * @module session/session
 * Signed-in sessions as sealed cookies (iron-session's seal: AES-256-CBC + HMAC-SHA256),
 * with idle and absolute timeouts and a server-side revocation check on every request.
 *
 * A stateless cookie alone cannot be revoked, so every read compares the cookie's issue
 * time with the user's revocation record, and its session id with the sessions ended one
 * by one (sign-out), both held in memory (refreshed from the store within
 * one second, see `session/revocations`). Unsealing costs about 30 µs of CPU (`session/unseal`;
 * 150 µs through iron-session's WebCrypto), more than half of a whole forwarded request, so
 * verified cookies are cached by a digest of their value; the timeouts and the revocation check
 * still run on every read.
 */
import { hash, randomBytes } from 'node:crypto';
import { sealData, unsealData } from 'iron-session';
import type { SessionConfig } from '../config/types.ts';
import { parseDuration } from '../config/duration.ts';
import { gatewayCookieNames, serializeCookie } from './cookies.ts';
import { seal as sealCookie, unseal } from './unseal.ts';
import { createCookieCache } from './cookie-cache.ts';

/** What a session cookie carries. Times are epoch milliseconds. */
export interface SessionData {
  v: 1;
  /**
   * Random id, the same for the session's whole life (password step, second factor, method
   * changes): the session index, sign-out and "end this session" go by it, so a copy of the
   * cookie from any level is ended with the session.
   */
  sid: string;
  /**
   * Random per cookie issue (every change of level): what must rotate against fixation. The
   * sealed value changes with it, so a cookie planted before sign-in is never the one in use.
   * Absent from cookies issued before it existed (they stay valid until their timeouts).
   */
  n?: string;
  /** Canonical user name from the users file. */
  user: string;
  /** 1 = password done, 2 = second factor done (or a remembered browser let it skip). */
  level: 1 | 2;
  /** How the user authenticated: `pwd`, `totp`, `oath_token`, `remembered`, `oidc`. */
  amr: string[];
  /** Federated sign-in whose verified ID token carried the intranet claim. */
  ic: boolean;
  /** When this cookie was issued; a revocation at or after this time ends it. */
  iat: number;
  /** When the user signed in; the absolute timeout counts from here. */
  auth: number;
  /** Last refresh; the idle timeout counts from here. */
  seen: number;
  /**
   * When a second-factor code was last entered in this session; absent when none was (a
   * remembered browser, a trusted network, cookies from before this field). Changing
   * sign-in methods asks for a code when this is missing or old.
   */
  mfaAt?: number;
  /**
   * The user had no active second-factor method when this session was issued: a trusted
   * network does not skip the second factor for it, so the user is led into first enrollment
   * instead of into the app with the password alone.
   */
  enroll?: true;
  /** When a temporary access pass was accepted in this session; it opens first enrollment for a while. */
  tapAt?: number;
  /**
   * Step-up grant: the rule (`CompiledRule.key`) whose `mfa_max_age: 0` the code entered at
   * `mfaAt` was asked for. It opens that rule alone, for the rule's `step_up_grant`.
   */
  su?: string;
}

export type NewSession = Pick<SessionData, 'user' | 'level' | 'amr' | 'ic' | 'auth' | 'mfaAt' | 'enroll' | 'tapAt' | 'su'> & {
  /** The session's stable id when it changes level; a new one is drawn when absent. */
  sid?: string;
};

/** The revocation records as the session layer sees them. */
export interface RevocationView {
  /** Epoch ms of the user's last "end all sessions", if any. */
  sessionsRevokedAt(user: string): number | undefined;
  /** Whether this one session was ended on the server (sign-out) and has not expired yet. */
  sessionRevoked(sid: string): boolean;
  /** Epoch ms of the user's last "forget remembered browsers", if any. */
  devicesRevokedAt(user: string): number | undefined;
  /** False when the view could not refresh from the store recently enough to be trusted. */
  current(): boolean;
}

export type SessionRead =
  | { state: 'none' }
  | { state: 'invalid'; reason: 'unreadable' | 'expired' | 'idle' | 'revoked' }
  | { state: 'unavailable' }
  | {
      state: 'valid';
      data: SessionData;
      /** Re-issue the cookie: the idle clock needs moving. */
      refresh: boolean;
      /** When this session stops working unless used again: the earlier of the idle and absolute timeouts (counting a refresh made now). */
      expiresAt: number;
    };

export interface SessionManager {
  readonly cookieName: string;
  readonly deviceCookieName: string;
  /** Binds signed-out forms' CSRF tokens to the browser (see `session/csrf`). */
  readonly csrfCookieName: string;
  /** Every cookie the gateway sets; none of them is passed to an upstream app. */
  readonly allCookieNames: readonly string[];
  read(cookieValue: string | undefined): Promise<SessionRead> | SessionRead;
  /** Seals a session cookie (a new sid unless `session.sid` carries one over, always a new nonce) and returns its Set-Cookie value. */
  issue(session: NewSession): Promise<{ data: SessionData; setCookie: string }>;
  /**
   * Re-seals the session of cookie `value` with the idle clock moved to now. The same old
   * cookie gets the same new one for the next `refreshAfter` interval: a client that never
   * stores Set-Cookie (a script), or a page loading its assets in parallel, costs one seal.
   * `onRenewed` runs once per such seal (the session index's coarse "last seen").
   */
  refresh(value: string, data: SessionData, onRenewed?: () => void): Promise<string>;
  clearCookie(): string;
  /** When the session stops working at the latest (its absolute timeout): how long a record of ending it must be kept. */
  absoluteExpiry(data: SessionData): number;
  /** Whether the remember-device cookie is valid for this user. */
  rememberedDevice(cookieValue: string | undefined, user: string): Promise<boolean>;
  rememberDeviceCookie(user: string, days: number): Promise<string>;
  clearDeviceCookie(): string;
}

export interface SessionDeps {
  config: SessionConfig;
  publicUrl: URL;
  revocations: RevocationView;
  clock: () => number;
  /**
   * How many verified cookies in use always stay unsealed (about 230 bytes each; up to twice
   * as many are held, see `session/cookie-cache`). Keep it above the number of sessions in use:
   * beyond it, a client rotating through more cookies than fit (a load test, a busy day) misses
   * on every request, and a miss (an unseal, about 30 µs of CPU) costs more than half of what
   * the rest of the request does. Only cookies that unsealed are kept, so nobody can fill it with made-up values.
   */
  cacheMax?: number;
}

/** iron-session password map: the current secret gets the highest id and seals; all unseal. */
export function passwordMap(config: SessionConfig): Record<number, string> {
  const map: Record<number, string> = {};
  const previous = config.previous_secrets;
  previous.forEach((secret, i) => {
    map[previous.length - i] = secret;
  });
  map[previous.length + 1] = config.secret;
  return map;
}

/** Room for 250,000 sessions in use (about 60 MB; 120 MB when both generations are full). */
const DEFAULT_CACHE_MAX = 250_000;

export function createSessionManager(deps: SessionDeps): SessionManager {
  const { config, revocations, clock } = deps;
  const secure = deps.publicUrl.protocol === 'https:';
  const names = gatewayCookieNames(config.cookie_name, secure, config.domain);
  const { session: cookieName, device: deviceCookieName, csrf: csrfCookieName } = names;
  const password = passwordMap(config);
  const idleMs = parseDuration(config.idle_timeout);
  const absoluteMs = parseDuration(config.absolute_timeout);
  // Moving the idle clock re-seals the cookie (about 25 us of CPU, 150 through iron-session's
  // WebCrypto), so it moves once per quarter of the idle timeout: an idle session then ends
  // between 75% and 100% of idle_timeout after its last request. Once a minute cost a quarter of
  // a core at 100,000 active sessions when sealing took 150 us (the many-sessions bench found it).
  const refreshAfterMs = Math.floor(idleMs / 4);
  const ttlSeconds = Math.ceil(absoluteMs / 1000);
  const attrs = { secure, domain: config.domain };

  // A cookie value as a cache key: its SHA-256 as a 32-character string (one byte a character, 'binary').
  // The value itself (about 480 characters, and often a slice that keeps the whole Cookie header
  // alive) made the key most of an entry's memory, and 100,000 sessions are 100,000 entries.
  const keyOf = (value: string): string => hash('sha256', value, 'binary');
  // Verified cookie value (its key) -> its data. Entries are re-checked on every read, so the cache
  // only saves the unseal; a cookie nobody presents leaves it after two generations of 5 minutes.
  const verified = createCookieCache<SessionData>({ max: deps.cacheMax ?? DEFAULT_CACHE_MAX, ageMs: 5 * 60_000, clock });
  // Old cookie value (its key) -> its refreshed session's cookie value and when it was sealed (see
  // `refresh`). An entry is about 600 bytes, so half as many: a generation lasts one refresh
  // interval, in which each session in use is refreshed at most once.
  const refreshed = createCookieCache<{ at: number; value: Promise<string> }>({
    max: Math.ceil((deps.cacheMax ?? DEFAULT_CACHE_MAX) / 2),
    ageMs: refreshAfterMs,
    clock,
  });
  const shared = createSharedParts();

  function check(data: SessionData): SessionRead {
    const now = clock();
    if (now - data.auth >= absoluteMs) return { state: 'invalid', reason: 'expired' };
    if (now - data.seen >= idleMs) return { state: 'invalid', reason: 'idle' };
    if (!revocations.current()) return { state: 'unavailable' };
    const revokedAt = revocations.sessionsRevokedAt(data.user);
    if (revokedAt !== undefined && data.iat <= revokedAt) return { state: 'invalid', reason: 'revoked' };
    if (revocations.sessionRevoked(data.sid)) return { state: 'invalid', reason: 'revoked' };
    const refresh = now - data.seen >= refreshAfterMs;
    // A refreshed cookie is sent back with this answer, so its idle clock starts now.
    return { state: 'valid', data, refresh, expiresAt: Math.min(data.auth + absoluteMs, (refresh ? now : data.seen) + idleMs) };
  }

  function unsealSession(value: string): SessionRead {
    // The seal's own expiration is on the real clock: iron-session wrote it with Date.now().
    const data = unseal(value, password, Date.now());
    if (!isSessionData(data)) return { state: 'invalid', reason: 'unreadable' };
    data.user = shared.user(data.user);
    data.amr = shared.amr(data.amr);
    verified.set(keyOf(value), data);
    return check(data);
  }

  const setCookieOf = (value: string): string => serializeCookie(cookieName, value, attrs);

  // Synchronous node:crypto, as iron-session seals (session/unseal.ts); the expiration on the real
  // clock, as `unseal` reads it. Async so that a failure reaches callers as a rejection, as before.
  async function seal(data: SessionData): Promise<string> {
    return sealCookie(data, password, ttlSeconds, Date.now());
  }

  return {
    cookieName,
    deviceCookieName,
    csrfCookieName,
    allCookieNames: names.all,
    read(value) {
      if (!value) return { state: 'none' };
      const cached = verified.get(keyOf(value));
      return cached ? check(cached) : unsealSession(value);
    },
    async issue(session) {
      const now = clock();
      const { sid, ...rest } = session;
      const data: SessionData = {
        v: 1,
        sid: sid ?? randomBytes(16).toString('base64url'),
        n: randomBytes(12).toString('base64url'),
        ...rest,
        user: shared.user(rest.user),
        amr: shared.amr(rest.amr),
        iat: now,
        seen: now,
      };
      const value = await seal(data);
      verified.set(keyOf(value), data);
      return { data, setCookie: serializeCookie(cookieName, value, attrs) };
    },
    refresh(oldValue, data, onRenewed) {
      const oldKey = keyOf(oldValue);
      const now = clock();
      const known = refreshed.get(oldKey);
      if (known !== undefined && now - known.at < refreshAfterMs) return known.value.then(setCookieOf);
      onRenewed?.();
      const value = (async () => {
        const next: SessionData = { ...data, seen: now };
        const sealed = flat(await seal(next));
        verified.set(keyOf(sealed), next);
        return sealed;
      })();
      refreshed.set(oldKey, { at: now, value });
      // A failed seal is not remembered: the next request tries again.
      value.catch(() => refreshed.delete(oldKey));
      return value.then(setCookieOf);
    },
    clearCookie: () => serializeCookie(cookieName, '', { ...attrs, maxAge: 0 }),
    absoluteExpiry: (data) => data.auth + absoluteMs,
    async rememberedDevice(value, user) {
      if (!value) return false;
      const data = await unsealData<{ u?: unknown; iat?: unknown }>(value, { password, ttl: 366 * 86_400 });
      if (typeof data.u !== 'string' || typeof data.iat !== 'number') return false;
      if (data.u !== user) return false;
      if (!revocations.current()) return false;
      const revokedAt = revocations.devicesRevokedAt(user);
      return revokedAt === undefined || data.iat > revokedAt;
    },
    async rememberDeviceCookie(user, days) {
      const ttl = days * 86_400;
      const value = await sealData({ u: user, iat: clock() }, { password, ttl });
      return serializeCookie(deviceCookieName, value, { ...attrs, maxAge: ttl - 60 });
    },
    clearDeviceCookie: () => serializeCookie(deviceCookieName, '', { ...attrs, maxAge: 0 }),
  };
}

/**
 * A flat copy of a seal (ASCII). iron-session builds it from a dozen concatenations, and the rope
 * V8 keeps for them held about 760 bytes where the 480 characters need 500: a refreshed cookie
 * is kept for a whole refresh interval, one for each session in use.
 */
function flat(seal: string): string {
  return Buffer.from(seal, 'latin1').toString('latin1');
}

/**
 * One copy of the parts most sessions share. JSON.parse gives every unsealed cookie its own amr
 * list (there are a handful of different lists in all) and its own user name (V8 shares only
 * strings shorter than 10 characters), so 100,000 cached sessions held 100,000 of each. The lists
 * are frozen: every session holding one reads it. Each table starts over beyond 10,000 entries,
 * so neither grows without bound; entries made before keep their copies.
 */
function createSharedParts(): { user(name: string): string; amr(amr: string[]): string[] } {
  const users = new Map<string, string>();
  const amrs = new Map<string, string[]>();
  return {
    user(name) {
      const known = users.get(name);
      if (known !== undefined) return known;
      if (users.size >= 10_000) users.clear();
      users.set(name, name);
      return name;
    },
    amr(amr) {
      const key = JSON.stringify(amr);
      const known = amrs.get(key);
      if (known !== undefined) return known;
      if (amrs.size >= 10_000) amrs.clear();
      const list = Object.freeze([...amr]) as string[];
      amrs.set(key, list);
      return list;
    },
  };
}

function isSessionData(value: unknown): value is SessionData {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Partial<SessionData>;
  return (
    d.v === 1 &&
    typeof d.sid === 'string' &&
    typeof d.user === 'string' &&
    (d.level === 1 || d.level === 2) &&
    Array.isArray(d.amr) &&
    typeof d.ic === 'boolean' &&
    typeof d.iat === 'number' &&
    typeof d.auth === 'number' &&
    typeof d.seen === 'number'
  );
}
