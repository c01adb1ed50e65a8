/**
 * @module session/authenticate
 * Who is asking: the session cookie, checked (timeouts, revocation) on every request, and
 * the user's current record from the users file (or the directory's, held in memory, see
 * `factors/ldap/users`), so a user removed or disabled there, or moved out of a group, loses
 * that access on the next request (within `users.ldap.cache_ttl` for directory users). A blocked user's sessions
 * stop working the same way: the block list is held in memory next to the revocations.
 * On rules with `app_passwords: true`, HTTP Basic credentials take the session's place
 * (see `factors/app-passwords/basic` for what they are worth and how they are cached).
 */
import type { Authentication, Authenticator, BasicAuthenticator, RequestScope } from '../contracts/request.ts';
import type { Identity } from '../proxy/headers.ts';
import type { BasicVerifier } from '../factors/app-passwords/index.ts';
import type { SessionData, SessionManager, SessionRead } from './session.ts';
import { errors } from '../errors/errors.ts';
import { sessionFactors, type Subject } from '../policy/access.ts';
import { readCookie } from './cookies.ts';

type SessionUser = {
  name: string;
  email?: string | undefined;
  displayName?: string | undefined;
  groups: readonly string[];
  disabled?: boolean | undefined;
};

/** The users (file, directory, federated) as the session check sees them. */
export interface UserLookup {
  /** In memory, on every request. */
  get(name: string): SessionUser | undefined;
  /**
   * Only when `get` does not know the name: asks the sources that are not held in memory (a
   * directory user this process has not seen). Rejects with a 503 GatewayError when they
   * cannot answer, so a session is never taken on trust.
   */
  lookup?(name: string): Promise<SessionUser | undefined>;
}

/** The block list as the session check sees it (in memory, see `session/revocations`). */
export interface BlockLookup {
  blocked(user: string): boolean;
}

const anonymous: Authentication = { subject: null, identity: null };

/**
 * Who a valid session stands for, as the access decision sees it: its level and factors, with
 * the groups from the user's current record. The chain asks this on every request, and the portal
 * to foresee where a browser that has just signed in goes next.
 */
export function sessionSubject(data: SessionData, user: Pick<SessionUser, 'name' | 'groups'>): Subject {
  // Built in place rather than from conditional spreads: this runs on every signed-in request.
  const subject: Subject = {
    user: user.name,
    groups: user.groups,
    level: data.level,
    intranetClaim: data.ic,
    factors: sessionFactors(data.amr),
  };
  if (data.enroll === true) subject.mustEnroll = true;
  if (data.mfaAt !== undefined) {
    subject.mfaAt = data.mfaAt;
    if (data.su !== undefined) subject.stepUp = { rule: data.su, at: data.mfaAt };
  }
  return subject;
}

/**
 * HTTP Basic for the chain: the verifier's answer as a subject (level 2 for an app password,
 * 1 for the account password), or anonymous for anything else, which the chain answers
 * with `challenge`.
 */
export function createBasicAuthenticator(verifier: BasicVerifier, realm: string): BasicAuthenticator {
  return {
    challenge: `Basic realm="${realm.replace(/["\\]/g, '')}", charset="UTF-8"`,
    async authenticate(scope, authorization, rule) {
      const result = await verifier.verify(authorization, {
        clientIp: scope.clientIp,
        clientAddr: scope.clientAddr,
        userAgent: String(scope.req.headers['user-agent'] ?? '').slice(0, 512),
        rule: rule.name ?? `rule ${rule.index + 1}`,
      });
      if (!result.ok) {
        if (result.throttled) {
          const { retryAfter, source, close } = result.throttled;
          throw errors.tooManySignIns(`HTTP Basic from ${source}: source throttled`, retryAfter, close === true);
        }
        return anonymous;
      }
      const user = result.user;
      return {
        subject: { user: user.name, groups: user.groups, level: result.level, intranetClaim: false },
        identity: { user: user.name, groups: user.groups, email: user.email, name: user.displayName },
      };
    },
  };
}

/**
 * Told when a session's idle clock moves (at most once per renewal interval per session, not
 * per request): the session index's "last seen", address and browser. Must not throw; the
 * request does not wait for it.
 */
export type SessionRenewed = (sid: string, scope: RequestScope) => void;

export function createAuthenticator(
  sessions: SessionManager,
  users: UserLookup,
  blocks: BlockLookup,
  basic?: BasicAuthenticator,
  onRenewed?: SessionRenewed,
): Authenticator {
  // One identity per frozen user record (the users file's and the directory's), shared by its
  // requests: a reloaded users file or a re-read directory entry is a new record, and so gets a
  // new identity. A record that is not frozen (federated users) gets a fresh one each time, so an
  // edit in place could never leave a stale identity behind.
  const identities = new WeakMap<SessionUser, Identity>();
  function identityOf(user: SessionUser): Identity {
    let identity = identities.get(user);
    if (identity === undefined) {
      identity = Object.freeze({ user: user.name, groups: user.groups, email: user.email, name: user.displayName });
      if (Object.isFrozen(user) && Object.isFrozen(user.groups)) identities.set(user, identity);
    }
    return identity;
  }

  function fromRead(read: SessionRead, value: string, scope: RequestScope): Authentication | Promise<Authentication> {
    if (read.state === 'unavailable') throw errors.storeUnavailable('revocation records are not current; refusing signed-in requests');
    if (read.state !== 'valid') return anonymous;
    const known = users.get(read.data.user);
    if (known === undefined && users.lookup !== undefined)
      return users.lookup(read.data.user).then((user) => withUser(read, value, user, scope));
    return withUser(read, value, known, scope);
  }

  function withUser(
    read: SessionRead & { state: 'valid' },
    value: string,
    user: SessionUser | undefined,
    scope: RequestScope,
  ): Authentication | Promise<Authentication> {
    if (!user || user.disabled || blocks.blocked(user.name)) return anonymous;
    const auth: Authentication = {
      subject: sessionSubject(read.data, user),
      identity: identityOf(user),
      session: { id: read.data.sid, expiresAt: read.expiresAt, amr: read.data.amr, auth: read.data.auth },
    };
    if (!read.refresh) return auth;
    const renewed = onRenewed && (() => onRenewed(read.data.sid, scope));
    return sessions.refresh(value, read.data, renewed).then((setCookie) => ({ ...auth, setCookie }));
  }

  return {
    cookieNames: sessions.allCookieNames,
    ...(basic ? { basic } : {}),
    authenticate(scope: RequestScope) {
      const value = readCookie(scope.req.headers.cookie, sessions.cookieName) ?? '';
      const read = sessions.read(value);
      return read instanceof Promise ? read.then((r) => fromRead(r, value, scope)) : fromRead(read, value, scope);
    },
  };
}
