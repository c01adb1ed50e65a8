/**
 * @module regulation/fraud
 * Fraud alerts (Azure MFA's "fraud alert"): after a password step the user may get a sign-in
 * notice with a link to report it; reporting blocks the user (with `auto_block`), ends their
 * sessions and remembered browsers, tells the admins and records the attempt as denied with
 * `fraud reported`.
 *
 * "New browser" means: this browser's id cookie (random, long-lived, set by the portal's
 * fraud module) has not been seen with this user before. The store keeps only a SHA-256 of
 * the id per user, and forgets browsers unused for {@link BROWSER_MEMORY_MS}; a cleared
 * cookie or a private window is a new browser, which errs towards sending the notice.
 */
import { createHash } from 'node:crypto';
import type { MfaConfig } from '../config/types.ts';
import type { AuditStore, FraudReport, FraudStore, RevocationStore } from '../store/types.ts';

/** How long a report link works. */
export const REPORT_LINK_TTL_MS = 7 * 86_400_000;
/** Browsers not used for a user this long count as new again. */
export const BROWSER_MEMORY_MS = 400 * 86_400_000;
/** The sign-in log detail of a reported attempt. */
const FRAUD_DETAIL = 'fraud reported';

export type FraudAlertConfig = MfaConfig['fraud_alert'];

/** Whether a sign-in that passed the password step gets a notice (pure). */
export function wantsSignInNotice(config: FraudAlertConfig, facts: { hasEmail: boolean; newBrowser: boolean }): boolean {
  if (!config.enabled || !facts.hasEmail) return false;
  if (config.sign_in_notice === 'always') return true;
  return config.sign_in_notice === 'new_browser' && facts.newBrowser;
}

/** What the store keeps of a browser id cookie. */
export function browserIdHash(browserId: string): string {
  return createHash('sha256').update(browserId).digest('base64url');
}

/** Blocks a user from now for `days` (the block list's `blockUser`, injected). */
export type BlockUser = (
  user: string,
  opts: { reason: string; days: number; actor: string; context: { clientIp: string; userAgent: string } },
) => Promise<unknown>;

export interface ReportDeps {
  store: Pick<FraudStore, 'getFraudReport' | 'consumeFraudReport'> &
    Pick<RevocationStore, 'revokeSessions' | 'revokeDevices'> &
    Pick<AuditStore, 'record'>;
  blockUser: BlockUser;
  /** Makes the revocation take effect in this process at once (the live revocation view). */
  refreshRevocations: () => Promise<void>;
}

export type ReportResult =
  | { state: 'reported'; report: FraudReport; blockedUntil: number | null }
  | { state: 'already' | 'expired' | 'unknown' };

/**
 * Acts on a verified report link: consumes it (only the first use acts), records the attempt
 * as denied with `fraud reported` (with the reported sign-in's address and browser), blocks
 * the user when `autoBlock`, and ends their sessions and remembered browsers either way
 * (whoever signed in holds the password). A used, expired or unknown link changes nothing.
 */
export async function reportFraud(
  deps: ReportDeps,
  input: { id: string; now: number; autoBlock: boolean; blockDays: number },
): Promise<ReportResult> {
  const report = await deps.store.getFraudReport(input.id);
  if (!report) return { state: 'unknown' };
  if (!(await deps.store.consumeFraudReport(input.id, input.now))) {
    return { state: report.consumedAt === null && input.now >= report.expiresAt ? 'expired' : 'already' };
  }
  await deps.store.record({
    kind: 'fraud_report',
    user: report.user,
    clientIp: report.clientIp,
    userAgent: report.userAgent,
    rule: null,
    outcome: 'denied',
    detail: FRAUD_DETAIL,
  });
  // Ending the sessions comes first: it is what stops an intruder who is signed in right now.
  await deps.store.revokeSessions(report.user);
  await deps.store.revokeDevices(report.user);
  let blockedUntil: number | null = null;
  if (input.autoBlock) {
    const at = new Date(report.createdAt).toISOString();
    await deps.blockUser(report.user, {
      reason: `fraud reported by the user for the sign-in at ${at} from ${report.clientIp}`,
      days: input.blockDays,
      actor: 'fraud report',
      context: { clientIp: report.clientIp, userAgent: report.userAgent },
    });
    blockedUntil = input.now + input.blockDays * 86_400_000;
  }
  await deps.refreshRevocations();
  return { state: 'reported', report, blockedUntil };
}
