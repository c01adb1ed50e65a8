/**
 * @module factors/password/regulated
 * The one regulated password check. Every path that takes a password (the sign-in page,
 * HTTP Basic with app passwords) goes through {@link createRegulatedPasswordCheck}, so they
 * cannot drift apart: the same per-source throttle, the same per-user lockout, the same
 * sign-in log entries and the same lockout notification.
 *
 * In order:
 * 1. The source (the resolved client address, grouped by prefix) is throttled: a source that
 *    failed too often lately is refused at once, before any argon2 work, and without
 *    counting against any user, so a spray costs nothing and locks nobody out.
 * 2. The attempt is counted against the user's lockout before the password is evaluated,
 *    so parallel guesses cannot outrun the counter.
 * 3. Exactly one argon2 check of the account password runs (a dummy one for an unknown or
 *    disabled name, so it does not show in the timing), after the caller's alternative
 *    secrets (app passwords) if any, in the source's hash queue. A locked name gets exactly
 *    one check of the account password (or the dummy), alternatives skipped, and its result
 *    is ignored: every attempt on a locked name, right or wrong, known or made up, costs the
 *    same and answers `locked` with the same time, so it reveals neither password nor account.
 * 4. A right password takes back the source's and the user's reservations; a blocked user
 *    is refused only then, so only someone who knows the password learns of the block.
 *
 * The user source is a {@link FirstFactorSource}: the users file, a directory, or both. A
 * directory that cannot answer fails closed (`unavailable`, a 503 "sign-in is unavailable"):
 * the attempt then costs the source nothing, since no password was judged. A right password
 * that the directory will not accept as it is (expired, must change, account expired) is
 * told to the user as such: only the right password reaches those states.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Addr } from '../../client-ip/cidr.ts';
import type { AuditEvent, AuditStore, BlockStore, LockoutPolicy, LockoutStore, SourceThrottleStore } from '../../store/types.ts';
import { sourceKey, type SourceThrottleSettings } from '../../regulation/source-throttle.ts';
import { argon2Verify, checkPassword, type FirstFactorSource, type PasswordFailure, type PasswordVerifier } from './password.ts';
import { createRefusedSources, type RefusalSummary } from './refused-sources.ts';
import type { UserRecord } from './users-file.ts';

type RegulatedPasswordStore = Pick<LockoutStore, 'regulateAttempt' | 'clearLockout'> &
  Pick<SourceThrottleStore, 'throttleSource' | 'forgiveSourceFailure'> &
  Pick<BlockStore, 'blockOf'> &
  Pick<AuditStore, 'record'>;

export interface RegulatedPasswordDeps {
  store: RegulatedPasswordStore;
  /** Where passwords are checked; `lookup` finds the user when an app password matched instead. */
  users: FirstFactorSource & { lookup(name: string): Promise<UserRecord | undefined> };
  /** `mfa.password_lockout` now (a getter: a reload may change it). */
  lockout: () => LockoutPolicy;
  /** `mfa.source_throttle` now. */
  throttle: () => SourceThrottleSettings;
  /** Tests count argon2 runs through this. */
  verifier?: PasswordVerifier;
  /**
   * Told once when a denial locks an existing user's account (a spray of made-up names does
   * not reach it). Must not throw; may send mail later.
   */
  onLockout?: (user: string, until: number, details: { factor: 'password'; clientIp: string }) => void;
  /** Told of every attempt refused by the source throttle (a metric), including those refused from memory. */
  onThrottled?: () => void;
  /** Epoch milliseconds (tests freeze it); the store's own clock still stamps what it records. */
  clock?: () => number;
  log?: Pick<Logger, 'warn' | 'error'>;
}

export interface PasswordAttempt {
  /** The user name as typed. */
  name: string;
  password: string;
  /** The sign-in log's kind for this path. */
  kind: Extract<AuditEvent['kind'], 'password' | 'app_password'>;
  clientIp: string;
  /** The resolved client address (never a trusted proxy's own). */
  clientAddr: Addr;
  userAgent: string;
  /** The rule that led here, or null on the gateway's own pages. */
  rule: string | null;
  /**
   * Secrets accepted in place of the account password (app passwords), tried first with
   * the given verifier (which runs in the source's hash queue); null when none matched.
   */
  alternative?: (verify: (phc: string, password: string) => Promise<boolean>) => Promise<{ id: string; label: string } | null>;
}

type RegulatedPassword =
  | { ok: true; user: UserRecord; via: { kind: 'password' } | { kind: 'alternative'; id: string; label: string } }
  /**
   * The source failed too often lately: answer 429 with Retry-After, nothing was checked.
   * `close`: the source is paced and has more answers waiting than the bound, so close the
   * connection with this one (see refused-sources).
   */
  | { ok: false; reason: 'throttled'; retryAt: number; source: string; close?: true }
  /** Wrong, unknown or disabled: answer exactly like a wrong password. */
  | { ok: false; reason: 'failed' }
  /**
   * The typed name is locked (known or not, right password or not): answer 429 "try again
   * after" with Retry-After. Nothing here depends on the password or on the account existing.
   */
  | { ok: false; reason: 'locked'; until: number; source: string }
  /** Right password of a blocked user. */
  | { ok: false; reason: 'blocked'; user: UserRecord; until: number }
  /** Right password that the directory refuses as it is: expired, must be changed, account expired. */
  | {
      ok: false;
      reason: 'password_state';
      state: Extract<PasswordFailure, 'password_expired' | 'must_change_password' | 'account_expired'>;
      user: UserRecord | undefined;
    }
  /** The directory cannot answer: nobody is let in (503 with Retry-After). */
  | { ok: false; reason: 'unavailable'; detail: string };

export type RegulatedPasswordCheck = (attempt: PasswordAttempt) => Promise<RegulatedPassword>;

/** The check as the gateway owns it: `flush` writes the pending refusal counts to the sign-in log (`all`: every one, at close). */
export type RegulatedPasswordChecker = RegulatedPasswordCheck & { flush(all?: boolean): Promise<void>; close(): Promise<void> };

/** How often pending refusal counts are looked at (each source's line comes at most once a minute). */
const SUMMARY_TICK_MS = 10_000;

const iso = (ms: number) => new Date(ms).toISOString();

export function createRegulatedPasswordCheck(deps: RegulatedPasswordDeps): RegulatedPasswordChecker {
  const { store, users } = deps;
  const verifier = deps.verifier ?? argon2Verify;
  const clock = deps.clock ?? Date.now;
  // Sources the store refused lately: their next attempts are refused from memory (see refused-sources).
  const refused = createRefusedSources();

  const summaryLine = (s: RefusalSummary): string => {
    const names = s.names.length === 1 && !s.moreNames ? 'on one name' : `on ${s.names.length}${s.moreNames ? '+' : ''} names`;
    const attempts = `${s.count} more attempt${s.count === 1 ? '' : 's'}`;
    return `source ${s.source} throttled until ${iso(s.until)}: ${attempts} refused ${names} since ${iso(s.since)}`;
  };
  async function flush(all = false): Promise<void> {
    for (const s of refused.due(clock(), all)) {
      try {
        await store.record({
          kind: 'password',
          user: s.names.length === 1 && !s.moreNames ? s.names[0]! : '',
          clientIp: s.clientIp,
          userAgent: s.userAgent,
          rule: null,
          outcome: 'denied',
          detail: summaryLine(s),
        });
      } catch (err) {
        deps.log?.error({ err, source: s.source, refused: s.count }, 'could not log refused sign-in attempts');
      }
    }
  }
  const timer = setInterval(() => void flush(), SUMMARY_TICK_MS);
  timer.unref();

  function lockedOut(user: string, until: number, clientIp: string): void {
    deps.log?.warn({ user, factor: 'password', until: iso(until), ip: clientIp }, 'account locked out');
    try {
      deps.onLockout?.(user, until, { factor: 'password', clientIp });
    } catch (err) {
      deps.log?.error({ err }, 'lockout listener failed');
    }
  }

  const check: RegulatedPasswordCheck = async (attempt) => {
    const name = attempt.name;
    const log = (outcome: AuditEvent['outcome'], detail: string, user = name) =>
      store.record({
        kind: attempt.kind,
        user: user.slice(0, 256),
        clientIp: attempt.clientIp,
        userAgent: attempt.userAgent,
        rule: attempt.rule,
        outcome,
        detail,
      });
    const settings = deps.throttle();
    const source = sourceKey(attempt.clientAddr, settings.ipv4Prefix, settings.ipv6Prefix);

    let reserved: number | null = null;
    if (settings.policy !== null) {
      const refusal = refused.refusing(source, clock(), attempt);
      if (refusal !== undefined) {
        deps.onThrottled?.();
        // Paced: the answer waits its turn (a timer; the event loop goes on forwarding).
        if (refusal.pacing.delayMs > 0) await sleep(refusal.pacing.delayMs);
        return {
          ok: false,
          reason: 'throttled',
          retryAt: refusal.until,
          source,
          ...(refusal.pacing.close ? { close: true as const } : {}),
        };
      }
      const verdict = await store.throttleSource(source, settings.policy);
      if (!verdict.allowed) {
        refused.remember(source, verdict.retryAt, clock());
        deps.onThrottled?.();
        await log('denied', `source ${source} throttled until ${iso(verdict.retryAt)}: too many failed attempts`);
        return { ok: false, reason: 'throttled', retryAt: verdict.retryAt, source };
      }
      reserved = verdict.next.at(-1)!;
    }
    const regulation = await store.regulateAttempt(name, 'password', deps.lockout());
    const verify = (phc: string, password: string) => verifier(phc, password, source);
    // Locked: only the one account-password check below runs, so the cost is the same on every path.
    const viaAlternative = attempt.alternative && regulation.allowed ? await attempt.alternative(verify) : null;
    // A match of an alternative is only trusted for a known, enabled user (checked below).
    const check = viaAlternative === null ? await checkPassword(users, name, attempt.password, verify) : null;
    if (check !== null && !check.ok && check.reason === 'unavailable') {
      // No password was judged: the source is not charged for it (the user's counter was, which
      // bounds what retrying against a dead directory can cost; an admin can clear it).
      if (reserved !== null) await store.forgiveSourceFailure(source, reserved);
      deps.log?.warn({ user: name.slice(0, 256), detail: check.detail }, 'sign-in unavailable: the directory does not answer');
      await log('denied', 'directory unavailable');
      return { ok: false, reason: 'unavailable', detail: check.detail };
    }
    const user = check !== null ? check.user : await users.lookup(name);
    if (!regulation.allowed) {
      await log('denied', `locked out until ${iso(regulation.until)}`);
      return { ok: false, reason: 'locked', until: regulation.until, source };
    }
    const locks = regulation.next.lockedUntil;
    if (
      check !== null &&
      !check.ok &&
      (check.reason === 'password_expired' || check.reason === 'must_change_password' || check.reason === 'account_expired')
    ) {
      // The directory checked the password and it was right: not a guess.
      if (reserved !== null) await store.forgiveSourceFailure(source, reserved);
      await store.clearLockout(name, 'password');
      await log('denied', check.reason.replaceAll('_', ' '), user?.name ?? name);
      return { ok: false, reason: 'password_state', state: check.reason, user };
    }
    const wrong = attempt.alternative ? 'wrong password or app password' : 'wrong password';
    const why =
      user === undefined ? 'unknown user' : user.disabled ? 'user disabled' : viaAlternative === null && check?.ok !== true ? wrong : null;
    if (why !== null) {
      await log('denied', locks === null ? why : `${why}; locked out until ${iso(locks)}`, user?.name ?? name);
      if (locks === null) return { ok: false, reason: 'failed' };
      if (user !== undefined) lockedOut(user.name, locks, attempt.clientIp);
      // The denial that locks says so already, for any name: it only tells what a wrong password tells.
      return { ok: false, reason: 'locked', until: locks, source };
    }
    const known = user!;
    // The credentials were right: not a guess, so neither counter keeps this attempt.
    if (reserved !== null) await store.forgiveSourceFailure(source, reserved);
    await store.clearLockout(name, 'password');
    const block = await store.blockOf(known.name);
    if (block) {
      await log('denied', `blocked until ${iso(block.until)}`, known.name);
      return { ok: false, reason: 'blocked', user: known, until: block.until };
    }
    return { ok: true, user: known, via: viaAlternative === null ? { kind: 'password' } : { kind: 'alternative', ...viaAlternative } };
  };
  return Object.assign(check, {
    flush,
    async close() {
      clearInterval(timer);
      await flush(true);
    },
  });
}
