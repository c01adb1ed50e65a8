/**
 * @module factors/second-factor
 * The one regulated second-factor check that every path uses: the code page, the code asked
 * before a method change, the admin pages' fresh code, recovery codes and temporary access
 * passes. One function, so every path has the same block check, the same lockout (the
 * attempt is counted before anything is evaluated), the same sign-in log entries and the
 * same lockout notification (sent once, by the denial that locks).
 *
 * What a caller accepts is explicit: TOTP/OATH codes everywhere, recovery codes where a
 * code would sign in, an access pass only on the first-enrollment page of a user without a
 * method. A value of a kind the caller does not accept is a wrong code like any other (and
 * counts). A security key or passkey answers with a WebAuthn assertion instead of a typed
 * value; it is regulated the same way. Authentication method references (RFC 8176 section 2
 * where it has a value): `totp` / `oath_token` for codes (the method kind, as before), `hwk`
 * (proof of possession of a hardware-secured key) for WebAuthn, `rc` for a recovery code and
 * `tap` for an access pass (RFC 8176 defines neither; both are registered-style short names
 * as RFC 8176 section 6.1 allows). A passkey sign-in ({@link checkPasskeySignIn}) replaces
 * the password as well: `hwk` and `mfa`.
 *
 * I/O goes through the narrow store interface, the clock and the `onLockout` callback, so
 * it tests without a server.
 */

import type {
  AccessPassStore,
  AuditStore,
  BlockStore,
  LockoutPolicy,
  LockoutStore,
  MethodInfo,
  RecoveryCodeStore,
  WebAuthnCredentialInfo,
} from '../store/types.ts';
import { verifyAssertion, type CeremonyDeps } from './webauthn/ceremony.ts';
import type { AuditContext, TotpMethodSource } from './totp/verify.ts';
import { verifyTotpForUser } from './totp/verify.ts';
import { fallbackHash, typedKind } from './fallback/codes.ts';

export interface SecondFactorDeps {
  store: TotpMethodSource &
    Pick<LockoutStore, 'regulateAttempt' | 'clearLockout'> &
    Pick<BlockStore, 'blockOf'> &
    Pick<RecoveryCodeStore, 'useRecoveryCode'> &
    Pick<AccessPassStore, 'accessPassOf' | 'useAccessPass'> &
    Pick<AuditStore, 'record'>;
  /** `mfa.lockout` in milliseconds (`lockoutPolicy`). */
  policy: LockoutPolicy;
  /** `mfa.totp.skew_steps`. */
  skewSteps: number;
  clock: () => number;
  /** Security keys and passkeys; absent when `mfa.methods` does not list webauthn. */
  webauthn?: CeremonyDeps;
  /** Called once when a denial locks the account. Must not throw. */
  onLockout?: (user: string, until: number, details: { factor: 'second_factor'; clientIp: string }) => void;
}

/** Which kinds the caller accepts here. */
export interface SecondFactorAccept {
  /** TOTP/OATH codes of the user's active methods. */
  codes: boolean;
  recoveryCode: boolean;
  /** Only for enrolling a first method. */
  accessPass: boolean;
  /** A WebAuthn assertion of one of the user's security keys or passkeys. */
  webauthn?: boolean;
}

export interface SecondFactorInput {
  user: string;
  /** As typed; ignored when `assertion` is given. */
  code: string;
  /** A WebAuthn assertion (`PublicKeyCredential.toJSON()` of `navigator.credentials.get()`), as the browser sent it. */
  assertion?: unknown;
  accept: SecondFactorAccept;
  /** Names the path in the sign-in log, e.g. `method change confirmation`, `admin pages`; empty for the code page. */
  purpose: string;
  /** Appended to the success entry, e.g. `browser remembered for 14 days`. */
  successNote?: string;
  context: AuditContext;
}

type SecondFactorVia = 'totp' | 'oath_token' | 'webauthn' | 'recovery_code' | 'access_pass';

type SecondFactorFailure = 'no_method' | 'malformed' | 'wrong' | 'replayed' | 'expired' | 'used_up';

export type SecondFactorResult =
  | { ok: true; via: SecondFactorVia; amr: string; method?: MethodInfo; credential?: WebAuthnCredentialInfo }
  | { ok: false; reason: 'blocked'; until: number }
  | { ok: false; reason: 'locked'; until: number }
  | { ok: false; reason: SecondFactorFailure; lockedUntil: number | null };

const AMR: Readonly<Record<SecondFactorVia, string>> = {
  totp: 'totp',
  oath_token: 'oath_token',
  webauthn: 'hwk',
  recovery_code: 'rc',
  access_pass: 'tap',
};

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Checks one typed second factor of `user` under `mfa.lockout`; see the module comment.
 *
 * @example
 * const r = await checkSecondFactor(deps, { user: 'alice', code: '123456', accept: { codes: true, recoveryCode: true, accessPass: false },
 * purpose: 'sign-in', context });
 * if (r.ok) issueSession({ level: 2, amr: ['pwd', r.amr] });
 */
export async function checkSecondFactor(deps: SecondFactorDeps, input: SecondFactorInput): Promise<SecondFactorResult> {
  const { store } = deps;
  const { user, purpose } = input;
  const log = (outcome: 'success' | 'denied', detail: string) =>
    store.record({ kind: 'second_factor', user, ...input.context, outcome, detail: purpose ? `${purpose}: ${detail}` : detail });

  const block = await store.blockOf(user);
  if (block) {
    await log('denied', `blocked until ${iso(block.until)}`);
    return { ok: false, reason: 'blocked', until: block.until };
  }
  // Counted before anything is evaluated: parallel guesses cannot outrun the counter.
  const attempt = await store.regulateAttempt(user, 'second_factor', deps.policy);
  if (!attempt.allowed) {
    await log('denied', `locked out until ${iso(attempt.until)}`);
    return { ok: false, reason: 'locked', until: attempt.until };
  }
  const now = deps.clock();
  const outcome = await evaluate(deps, input, now);
  if (!outcome.ok) {
    const locks = attempt.next.lockedUntil;
    await log('denied', `${outcome.detail}${locks === null ? '' : `; locked out until ${iso(locks)}`}`);
    if (locks !== null) {
      try {
        deps.onLockout?.(user, locks, { factor: 'second_factor', clientIp: input.context.clientIp });
      } catch {
        // The listener must not throw; a failing one must not turn a denial into an error page.
      }
    }
    return { ok: false, reason: outcome.reason, lockedUntil: locks };
  }
  await store.clearLockout(user, 'second_factor');
  await log('success', `${outcome.detail}${input.successNote ? `; ${input.successNote}` : ''}`);
  return {
    ok: true,
    via: outcome.via,
    amr: AMR[outcome.via],
    ...(outcome.method ? { method: outcome.method } : {}),
    ...(outcome.credential ? { credential: outcome.credential } : {}),
  };
}

type Evaluation =
  | { ok: true; via: SecondFactorVia; detail: string; method?: MethodInfo; credential?: WebAuthnCredentialInfo }
  | { ok: false; reason: SecondFactorFailure; detail: string };

async function evaluate(deps: SecondFactorDeps, input: SecondFactorInput, now: number): Promise<Evaluation> {
  const { store } = deps;
  if (input.assertion !== undefined) {
    if (!input.accept.webauthn || deps.webauthn === undefined)
      return { ok: false, reason: 'wrong', detail: 'security key not accepted here' };
    const r = await verifyAssertion(deps.webauthn, { user: input.user, response: input.assertion as never });
    if (!r.ok) return { ok: false, reason: r.reason === 'challenge' ? 'replayed' : 'wrong', detail: r.detail };
    const uv = r.userVerified ? ', user verified' : '';
    return { ok: true, via: 'webauthn', credential: r.credential, detail: `security key accepted ("${r.credential.label}"${uv})` };
  }
  const kind = typedKind(input.code);
  if (kind === 'code' && input.accept.codes) {
    const r = await verifyTotpForUser(store, input.user, input.code, now, { skewSteps: deps.skewSteps });
    if (r.ok) return { ok: true, via: r.method.kind, method: r.method, detail: `${r.method.kind} code accepted (${r.method.label})` };
    const detail = {
      no_method: 'no second-factor method',
      malformed: 'malformed code',
      wrong: 'wrong code',
      replayed: 'code already used',
    }[r.reason];
    return { ok: false, reason: r.reason, detail };
  }
  if (kind === 'recovery_code' && input.accept.recoveryCode) {
    if (await store.useRecoveryCode(input.user, fallbackHash('recovery_code', input.user, input.code), now)) {
      return { ok: true, via: 'recovery_code', detail: 'recovery code accepted (now used)' };
    }
    return { ok: false, reason: 'wrong', detail: 'wrong or already used recovery code' };
  }
  if (kind === 'access_pass' && input.accept.accessPass) {
    if (await store.useAccessPass(input.user, fallbackHash('access_pass', input.user, input.code), now)) {
      const left = (await store.accessPassOf(input.user))?.usesLeft ?? 0;
      return {
        ok: true,
        via: 'access_pass',
        detail: `temporary access pass accepted for first enrollment (${left} use${left === 1 ? '' : 's'} left)`,
      };
    }
    const pass = await store.accessPassOf(input.user);
    if (pass === null) return { ok: false, reason: 'wrong', detail: 'access pass refused: none issued' };
    if (pass.expiresAt <= now)
      return { ok: false, reason: 'expired', detail: `access pass refused: the pass expired at ${iso(pass.expiresAt)}` };
    if (pass.usesLeft === 0) return { ok: false, reason: 'used_up', detail: 'access pass refused: the pass is used up' };
    return { ok: false, reason: 'wrong', detail: 'access pass refused: wrong pass' };
  }
  // A shape the caller does not accept here (an access pass on the code page) is a wrong code.
  const shape = kind === 'malformed' ? 'malformed code' : `${kind.replace('_', ' ')} not accepted here`;
  return { ok: false, reason: kind === 'malformed' ? 'malformed' : 'wrong', detail: shape };
}

export type PasskeySignInResult =
  | { ok: true; user: string; amr: string[]; credential: WebAuthnCredentialInfo }
  | { ok: false; reason: 'refused' | 'blocked' | 'locked'; user: string | null; until?: number };

/**
 * A passkey sign-in (`mfa.webauthn.passwordless`): a discoverable credential with user
 * verification stands for the password and the second factor. The user is known only from
 * the credential, so an assertion of an unknown credential is logged without a user; one of
 * a known credential is regulated like any second factor of its owner: a blocked or locked
 * owner is refused, and a refused assertion counts towards the owner's lockout.
 */
export async function checkPasskeySignIn(
  deps: SecondFactorDeps & { webauthn: CeremonyDeps },
  input: { assertion: unknown; context: AuditContext },
): Promise<PasskeySignInResult> {
  const { store } = deps;
  const log = (user: string, outcome: 'success' | 'denied', detail: string) =>
    store.record({ kind: 'second_factor', user, ...input.context, outcome, detail: `passkey sign-in: ${detail}` });
  const owner = await ownerOf(deps.webauthn, input.assertion);
  if (owner === null) {
    await log('', 'denied', 'unknown credential');
    return { ok: false, reason: 'refused', user: null };
  }
  const block = await store.blockOf(owner);
  if (block) {
    await log(owner, 'denied', `blocked until ${iso(block.until)}`);
    return { ok: false, reason: 'blocked', user: owner, until: block.until };
  }
  const attempt = await store.regulateAttempt(owner, 'second_factor', deps.policy);
  if (!attempt.allowed) {
    await log(owner, 'denied', `locked out until ${iso(attempt.until)}`);
    return { ok: false, reason: 'locked', user: owner, until: attempt.until };
  }
  const r = await verifyAssertion(deps.webauthn, { user: null, response: input.assertion as never });
  if (!r.ok) {
    const locks = attempt.next.lockedUntil;
    await log(owner, 'denied', `${r.detail}${locks === null ? '' : `; locked out until ${iso(locks)}`}`);
    if (locks !== null) {
      try {
        deps.onLockout?.(owner, locks, { factor: 'second_factor', clientIp: input.context.clientIp });
      } catch {
        // The listener must not throw; a failing one must not turn a denial into an error page.
      }
    }
    return { ok: false, reason: locks === null ? 'refused' : 'locked', user: owner, ...(locks === null ? {} : { until: locks }) };
  }
  await store.clearLockout(owner, 'second_factor');
  await log(owner, 'success', `passkey "${r.credential.label}" accepted (user verified)`);
  return { ok: true, user: owner, amr: ['hwk', 'mfa'], credential: r.credential };
}

async function ownerOf(deps: CeremonyDeps, assertion: unknown): Promise<string | null> {
  const id = (assertion as { id?: unknown } | null)?.id;
  if (typeof id !== 'string' || id === '') return null;
  return (await deps.store.credentialById(id))?.user ?? null;
}
