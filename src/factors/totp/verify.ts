/**
 * @module factors/totp/verify
 * The TOTP second factor against the store: checking a code for a user (every active
 * authenticator app or hardware token of theirs) with the accepted step claimed atomically,
 * and the two steps of enrolling an authenticator app. Failures carry the exact reason for
 * the sign-in log; what the user sees is the caller's single generic message.
 */

import type { AuditEvent, AuditStore, MethodInfo, MethodStore, PendingEnrollment, PendingEnrollmentStore } from '../../store/types.ts';
import { base32Encode, checkTotp, formatSecretForManualEntry, newTotpSecret, otpauthUri } from './totp.ts';

/** What code verification needs from the store. */
export type TotpMethodSource = Pick<MethodStore, 'listMethods' | 'secretOf' | 'claimStep'>;

type TotpFailure = 'no_method' | 'malformed' | 'wrong' | 'replayed';

export type TotpVerification = { ok: true; method: MethodInfo; step: number } | { ok: false; reason: TotpFailure };

/**
 * Verifies `code` against each active TOTP/OATH method of `user` and claims the matching step
 * with `MethodStore.claimStep`, so of two parallel requests with the same code exactly one
 * succeeds and the other gets `replayed`.
 *
 * Reasons: `no_method` (the user has no active method; send them to enrollment),
 * `malformed` (not a 6- or 8-digit code of any of their methods), `replayed` (the code's
 * step was already used, here or by a parallel request), `wrong` (anything else).
 */
export async function verifyTotpForUser(
  methods: TotpMethodSource,
  user: string,
  code: string,
  now: number,
  cfg: { skewSteps: number },
): Promise<TotpVerification> {
  const candidates = (await methods.listMethods(user)).filter((m) => m.active);
  if (candidates.length === 0) return { ok: false, reason: 'no_method' };
  const digitsTyped = code.replace(/\s+/g, '');
  if (!/^[0-9]+$/.test(digitsTyped) || !candidates.some((m) => m.digits === digitsTyped.length)) {
    return { ok: false, reason: 'malformed' };
  }
  let replayed = false;
  for (const m of candidates.filter((c) => c.digits === digitsTyped.length)) {
    const secret = await methods.secretOf(m.id);
    if (secret === null) continue; // removed between list and read
    const r = checkTotp({
      secret,
      code: digitsTyped,
      now,
      period: m.period,
      digits: m.digits,
      algorithm: m.algorithm,
      skewSteps: cfg.skewSteps,
      lastStep: m.lastStep,
    });
    if (r.ok) {
      if (await methods.claimStep(m.id, r.step)) return { ok: true, method: { ...m, lastStep: r.step, lastUsedAt: now }, step: r.step };
      replayed = true;
    } else if (r.reason === 'replayed') {
      replayed = true;
    }
  }
  return { ok: false, reason: replayed ? 'replayed' : 'wrong' };
}

export interface TotpEnrollmentView {
  pending: PendingEnrollment;
  /** For the QR code (`qrCodeSvg`). */
  uri: string;
  /** The secret in groups of four, for typing by hand. */
  manualKey: string;
}

/**
 * Step 1 of enrollment: the user's unexpired pending secret (so reloading the page keeps the
 * QR code they may already have scanned), or a new one valid for `ttlMs`.
 */
export async function startTotpEnrollment(
  pending: Pick<PendingEnrollmentStore, 'getPending' | 'createPending'>,
  input: { user: string; account: string; issuer: string; period: 30 | 60; ttlMs: number },
): Promise<TotpEnrollmentView> {
  const existing = await pending.getPending(input.user);
  const p =
    existing !== null && existing.period === input.period
      ? existing
      : await pending.createPending({
          user: input.user,
          secret: newTotpSecret(),
          period: input.period,
          digits: 6,
          algorithm: 'sha1',
          ttlMs: input.ttlMs,
        });
  return {
    pending: p,
    uri: otpauthUri({
      issuer: input.issuer,
      account: input.account,
      secret: p.secret,
      period: p.period,
      digits: p.digits,
      algorithm: p.algorithm,
    }),
    manualKey: formatSecretForManualEntry(base32Encode(p.secret)),
  };
}

export type EnrollmentFailure = 'expired' | 'malformed' | 'wrong' | 'limit_reached';

/** Where a request came from, for the sign-in log. */
export interface AuditContext {
  clientIp: string;
  userAgent: string;
  rule: string | null;
}

/**
 * Step 2 of enrollment: checks the code the user's app shows for pending enrollment
 * `pendingId` and, if right, stores the method with that code's step already used (so the
 * confirmation code cannot sign in again). Every attempt, successful or not, is recorded in
 * the sign-in log as an `enrollment` entry.
 */
export async function confirmTotpEnrollment(
  deps: { pending: Pick<PendingEnrollmentStore, 'getPending' | 'completeEnrollment'>; audit: Pick<AuditStore, 'record'> },
  input: {
    user: string;
    pendingId: string;
    code: string;
    label: string;
    now: number;
    skewSteps: number;
    maxPerUser: number;
    context: AuditContext;
  },
): Promise<{ ok: true; method: MethodInfo } | { ok: false; reason: EnrollmentFailure }> {
  const log = (outcome: AuditEvent['outcome'], detail: string) =>
    deps.audit.record({ kind: 'enrollment', user: input.user, ...input.context, outcome, detail });

  const p = await deps.pending.getPending(input.user);
  if (p === null || p.id !== input.pendingId) {
    await log('denied', 'totp enrollment expired or replaced');
    return { ok: false, reason: 'expired' };
  }
  const r = checkTotp({
    secret: p.secret,
    code: input.code,
    now: input.now,
    period: p.period,
    digits: p.digits,
    algorithm: p.algorithm,
    skewSteps: input.skewSteps,
    lastStep: null,
  });
  if (!r.ok) {
    // lastStep is null, so a failed check is never 'replayed'.
    const reason = r.reason === 'malformed' ? 'malformed' : 'wrong';
    await log('denied', `totp enrollment: ${reason} code`);
    return { ok: false, reason };
  }
  const done = await deps.pending.completeEnrollment({
    user: input.user,
    pendingId: p.id,
    label: input.label,
    step: r.step,
    maxPerUser: input.maxPerUser,
  });
  if (!done.ok) {
    await log('denied', `totp enrollment: ${done.reason}`);
    return done;
  }
  await log('success', `totp method ${done.method.id} enrolled (${done.method.label})`);
  return done;
}
