/**
 * @module regulation/lockout
 * Account lockout with Azure MFA's three numbers (`mfa.lockout` for second-factor codes,
 * `mfa.password_lockout` for passwords): `denials` within the counter window lock the
 * account for `auto_unblock_minutes`. A pure decision over a stored counter; the store runs
 * it inside the transaction that counts the attempt, so counting is atomic.
 *
 * The window slides: each denial stops counting `counter_reset_minutes` after it happened
 * (a fixed window would let an attacker spend almost twice the denials across a window
 * boundary). When a lock lifts by itself, the denials that led to it no longer count.
 *
 * An attempt is counted as a denial *before* it is evaluated (a reservation) and the caller
 * clears the counter on success, so parallel attempts can never evaluate more codes than
 * the attempts left. The attempt that uses the last one sets the lock at once; if it
 * succeeds, clearing lifts it again.
 */
import type { LockoutCounter, LockoutPolicy, LockoutRules, Regulation } from '../store/types.ts';

export type { LockoutCounter, LockoutFactor, LockoutPolicy, Regulation } from '../store/types.ts';

/** A counter with no denials and no lock. */
export const EMPTY_COUNTER: LockoutCounter = Object.freeze({ denials: Object.freeze([]) as readonly number[], lockedUntil: null });

const MINUTE_MS = 60_000;

/** The policy in milliseconds from a config section (`mfa.lockout` or `mfa.password_lockout`). */
export function lockoutPolicy(section: { denials: number; counter_reset_minutes: number; auto_unblock_minutes: number }): LockoutPolicy {
  return {
    denials: section.denials,
    counterResetMs: section.counter_reset_minutes * MINUTE_MS,
    autoUnblockMs: section.auto_unblock_minutes * MINUTE_MS,
  };
}

/**
 * Decides an attempt at time `now`: `{ allowed: false, until }` while the account is locked,
 * otherwise `{ allowed: true, next }` where `next` is the counter with this attempt counted
 * (older, no longer counting denials dropped) and `next.lockedUntil` set when this attempt
 * uses the last one.
 *
 * @example
 * const policy = { denials: 3, counterResetMs: 600_000, autoUnblockMs: 900_000 };
 * regulate({ denials: [t0, t0 + 1000], lockedUntil: null }, policy, t0 + 2000);
 * // -> { allowed: true, next: { denials: [t0, t0 + 1000, t0 + 2000], lockedUntil: t0 + 2000 + 900_000 } }
 */
export function regulate(counter: LockoutCounter, policy: LockoutPolicy, now: number): Regulation {
  if (counter.lockedUntil !== null && now < counter.lockedUntil) return { allowed: false, until: counter.lockedUntil };
  const floor = Math.max(now - policy.counterResetMs, counter.lockedUntil ?? -Infinity);
  let counting = counter.denials.filter((at) => at > floor);
  if (counting.length >= policy.denials) {
    // Only after `denials` was lowered in the config: lock as if the newest denial had locked.
    const until = counting.at(-1)! + policy.autoUnblockMs;
    if (now < until) return { allowed: false, until };
    counting = [];
  }
  const denials = [...counting, now];
  return { allowed: true, next: { denials, lockedUntil: denials.length >= policy.denials ? now + policy.autoUnblockMs : null } };
}

/** When the account's lock for this counter ends, or null when it is not locked at `now`. */
export function lockedUntil(counter: LockoutCounter, policy: LockoutPolicy, now: number): number | null {
  const r = regulate(counter, policy, now);
  return r.allowed ? null : r.until;
}

/** When a stored counter no longer matters and may be deleted: its lock is over and no denial counts any more. */
export function counterExpiresAt(counter: LockoutCounter, policy: LockoutPolicy): number {
  return Math.max(counter.lockedUntil ?? 0, (counter.denials.at(-1) ?? 0) + Math.max(policy.counterResetMs, policy.autoUnblockMs));
}

/** The decision the store runs when it counts an attempt (`StoreDeps.lockout`). */
export const lockoutRules: LockoutRules = { regulate, expiresAt: counterExpiresAt };
