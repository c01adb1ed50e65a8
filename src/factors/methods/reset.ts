/**
 * @module factors/methods/reset
 * Azure MFA's "require re-register MFA": after a lost or replaced phone an admin removes all
 * of a user's second-factor methods. The sign-in log keeps what was removed; the user's
 * sessions and remembered browsers end (a stolen phone may still hold a "don't ask again"
 * cookie's browser), a half-done enrollment is dropped, the user's recovery codes and
 * temporary access pass are revoked (they may be in the same lost bag as the phone), and the
 * next sign-in enrolls again under `mfa.first_enrollment` (or with a newly issued pass).
 */

import type { AccessPassStore, AuditStore, RecoveryCodeStore, RevocationStore, TokenStore, WebAuthnStore } from '../../store/types.ts';
import type { AuditContext } from '../totp/verify.ts';

const COMMAND_LINE: AuditContext = Object.freeze({ clientIp: 'local', userAgent: 'mfa-gateway command line', rule: null });

export interface ResetMfaDeps {
  store: Pick<TokenStore, 'removeAllMethods'> &
    Pick<WebAuthnStore, 'removeAllCredentials'> &
    Pick<RevocationStore, 'revokeSessions' | 'revokeDevices'> &
    Pick<RecoveryCodeStore, 'removeRecoveryCodes'> &
    Pick<AccessPassStore, 'revokeAccessPass'> &
    Pick<AuditStore, 'record'>;
  clock: () => number;
}

/**
 * Removes every method of `user` (one `method_removed` log entry per method, naming it and
 * `actor`), then revokes their sessions and remembered browsers (one `revocation` entry).
 * Running gateways notice the revocation within their poll interval. `context` is the admin
 * page's request; the default is the command line.
 *
 * @example
 * const { removed } = await resetMfa({ store, clock: Date.now }, 'alice', 'root');
 */
export async function resetMfa(
  deps: ResetMfaDeps,
  user: string,
  actor: string,
  context: AuditContext = COMMAND_LINE,
): Promise<{ removed: number }> {
  const removed = await deps.store.removeAllMethods(user);
  for (const m of removed) {
    await deps.store.record({
      kind: 'method_removed',
      user,
      ...context,
      outcome: 'success',
      detail:
        `MFA reset by ${actor}: ${m.kind} method ${m.id} removed (${m.label}; added ` +
        `${new Date(m.createdAt).toISOString()}${m.active ? '' : '; never activated'})`,
    });
  }
  const keys = await deps.store.removeAllCredentials(user);
  for (const k of keys) {
    await deps.store.record({
      kind: 'method_removed',
      user,
      ...context,
      outcome: 'success',
      detail: `MFA reset by ${actor}: webauthn credential ${k.id} removed (${k.label}; added ${new Date(k.createdAt).toISOString()})`,
    });
  }
  const total = removed.length + keys.length;
  const codes = await deps.store.removeRecoveryCodes(user);
  const pass = await deps.store.revokeAccessPass(user);
  await deps.store.revokeSessions(user);
  await deps.store.revokeDevices(user);
  await deps.store.record({
    kind: 'revocation',
    user,
    ...context,
    outcome: 'success',
    detail:
      `MFA reset by ${actor}: ${total} method${total === 1 ? '' : 's'} removed; ${codes} recovery code${codes === 1 ? '' : 's'} and ` +
      `${pass ? 'the' : 'no'} temporary access pass revoked; sessions and remembered browsers revoked; the user enrolls again at the ` +
      `next sign-in`,
  });
  return { removed: total };
}
