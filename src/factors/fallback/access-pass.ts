/**
 * @module factors/fallback/access-pass
 * Issuing a temporary access pass, for the `users access-pass` command and the admin user
 * page alike: a new random pass replaces the user's earlier one, is valid for a while and a
 * few uses, is shown once and recorded in the sign-in log (without the pass). A pass only
 * opens first enrollment; see `factors/second-factor`.
 */

import type { AccessPassInfo, AccessPassStore, AuditStore } from '../../store/types.ts';
import type { AuditContext } from '../totp/verify.ts';
import { newAccessPass } from './codes.ts';

/** Bounds of `--valid` and `--uses`: a pass is a short bridge, not a second password. */
const ACCESS_PASS_MAX_VALID_MS = 30 * 86_400_000;
const ACCESS_PASS_MAX_USES = 10;
export const ACCESS_PASS_DEFAULT_VALID_MS = 8 * 3_600_000;

export class AccessPassInputError extends Error {}

/**
 * Issues a pass for `user` (the canonical name). Throws {@link AccessPassInputError} for a
 * validity outside 1 minute to 30 days or uses outside 1 to 10; then nothing changes.
 *
 * @example
 * const { pass, info } = await issueAccessPass({ store, clock: Date.now }, 'bob', { validMs: 8 * 3_600_000, uses: 1, actor: 'root', context
 * });
 */
export async function issueAccessPass(
  deps: { store: Pick<AccessPassStore, 'issueAccessPass'> & Pick<AuditStore, 'record'>; clock: () => number },
  user: string,
  input: { validMs: number; uses: number; actor: string; context: AuditContext },
): Promise<{ pass: string; info: AccessPassInfo }> {
  if (!Number.isFinite(input.validMs) || input.validMs < 60_000 || input.validMs > ACCESS_PASS_MAX_VALID_MS) {
    throw new AccessPassInputError('an access pass is valid for 1 minute to 30 days');
  }
  if (!Number.isSafeInteger(input.uses) || input.uses < 1 || input.uses > ACCESS_PASS_MAX_USES) {
    throw new AccessPassInputError(`an access pass has 1 to ${ACCESS_PASS_MAX_USES} uses`);
  }
  const { pass, hash } = newAccessPass(user);
  const info = await deps.store.issueAccessPass({
    user,
    hash,
    expiresAt: deps.clock() + input.validMs,
    uses: input.uses,
    actor: input.actor,
  });
  await deps.store.record({
    kind: 'admin',
    user,
    ...input.context,
    outcome: 'success',
    detail:
      `temporary access pass issued by ${input.actor}: valid until ${new Date(info.expiresAt).toISOString()}, ${input.uses} ` +
      `use${input.uses === 1 ? '' : 's'}; any earlier pass is void`,
  });
  return { pass, info };
}
