/**
 * @module regulation/source-throttle
 * Throttling of failed first-factor attempts per source address, against password spraying:
 * account lockout counts per user, so one wrong password for each of many users never locks
 * anyone. This counts per source instead, and refuses a source that failed `failures` times
 * within the sliding window, without touching any user's counter (the real user from
 * another address still signs in).
 *
 * A pure decision over the failure times the store keeps; the store runs it inside the
 * transaction that counts the attempt (a reservation, as with the lockout: counted before
 * the password is checked, forgiven when it was right), so parallel attempts from one
 * source, on any number of gateways, cannot outrun the count.
 *
 * A source is an address grouped by prefix: one host owns a whole IPv6 /64 and can pick a
 * new address in it for every request, so IPv6 sources are counted per /64 by default.
 */
import ipaddr from 'ipaddr.js';
import type { Addr } from '../client-ip/cidr.ts';
import type { SourceThrottlePolicy, SourceThrottleRules, SourceVerdict } from '../store/types.ts';

export type { SourceThrottlePolicy, SourceVerdict } from '../store/types.ts';

const MINUTE_MS = 60_000;

/** The `mfa.source_throttle` section as the check uses it. */
export interface SourceThrottleSettings {
  /** Null when the throttle is off. */
  policy: SourceThrottlePolicy | null;
  ipv4Prefix: number;
  ipv6Prefix: number;
}

export function sourceThrottleSettings(section: {
  enabled: boolean;
  failures: number;
  window_minutes: number;
  ipv4_prefix: number;
  ipv6_prefix: number;
}): SourceThrottleSettings {
  return {
    policy: section.enabled ? { failures: section.failures, windowMs: section.window_minutes * MINUTE_MS } : null,
    ipv4Prefix: section.ipv4_prefix,
    ipv6Prefix: section.ipv6_prefix,
  };
}

/**
 * The source an address counts under: the address itself at a full-length prefix, else its
 * network in CIDR notation.
 *
 * @example
 * sourceKey(parseAddress('2001:db8:1:2:a:b:c:d')!, 32, 64) // '2001:db8:1:2::/64'
 * sourceKey(parseAddress('192.0.2.7')!, 32, 64)            // '192.0.2.7'
 */
export function sourceKey(addr: Addr, ipv4Prefix: number, ipv6Prefix: number): string {
  const prefix = addr.kind() === 'ipv4' ? ipv4Prefix : ipv6Prefix;
  const bytes = addr.toByteArray();
  if (prefix >= bytes.length * 8) return addr.toString();
  for (let bit = prefix; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return `${ipaddr.fromByteArray(bytes).toString()}/${prefix}`;
}

/**
 * Decides an attempt from a source at `now`: refused until `retryAt` while `failures`
 * failures lie within the window, otherwise allowed with this attempt counted (`next`, the
 * failures still inside the window plus `now`; never more than `failures` entries).
 *
 * @example
 * const policy = { failures: 2, windowMs: 60_000 };
 * throttle([t0, t0 + 1000], policy, t0 + 2000); // { allowed: false, retryAt: t0 + 60_000 }
 * throttle([t0, t0 + 1000], policy, t0 + 60_000); // { allowed: true, next: [t0 + 1000, t0 + 60_000] }
 */
export function throttle(failures: readonly number[], policy: SourceThrottlePolicy, now: number): SourceVerdict {
  const counting = failures.filter((at) => at > now - policy.windowMs);
  if (counting.length >= policy.failures) {
    // The attempt may come back when enough of the oldest failures have left the window.
    return { allowed: false, retryAt: counting[counting.length - policy.failures]! + policy.windowMs };
  }
  return { allowed: true, next: [...counting, now] };
}

/** The failures list after forgiving one reservation made at `at` (a right password). */
export function forgive(failures: readonly number[], at: number): number[] {
  const i = failures.lastIndexOf(at);
  return i === -1 ? [...failures] : [...failures.slice(0, i), ...failures.slice(i + 1)];
}

/** When a stored failures list no longer matters and may be deleted. */
function failuresExpireAt(failures: readonly number[], policy: SourceThrottlePolicy): number {
  return (failures.at(-1) ?? 0) + policy.windowMs;
}

/** The decision the store runs inside the transaction that counts an attempt (`StoreDeps.sourceThrottle`). */
export const sourceThrottleRules: SourceThrottleRules = { throttle, forgive, expiresAt: failuresExpireAt };
