/**
 * @module regulation/block
 * Azure MFA's block list: an admin (the CLI, later the admin pages) or a fraud report blocks
 * a user for `mfa.block.days` with a reason; every attempt of a blocked user is denied and
 * their live sessions stop working on the next request. A block lifts by itself when its
 * time is up, or earlier by `unblock`, again with a reason.
 *
 * Blocking also ends the user's sessions (a revocation), so lifting the block later never
 * revives a session from before it; remembered browsers are left alone (a fraud report
 * forgets them separately). Who did what, and why, is kept in the block history and the
 * sign-in log.
 */
import type { AuditStore, BlockRecord, BlockStore, RevocationStore } from '../store/types.ts';

const DAY_MS = 86_400_000;
/** The largest `--days` the config schema allows for `mfa.block.days`. */
export const MAX_BLOCK_DAYS = 3650;

/** Where a block came from, for the sign-in log. */
export interface BlockContext {
  clientIp: string;
  userAgent: string;
}

/** What `onBlock` listeners (e-mail to the admins) receive. */
export interface BlockEvent {
  /** The name as given. */
  user: string;
  block: BlockRecord;
}

/** The CLI's context: there is no client address, the log shows where the change came from instead. */
export const COMMAND_LINE: BlockContext = Object.freeze({ clientIp: 'local', userAgent: 'mfa-gateway command line' });

export type BlockDeps = Pick<BlockStore, 'block' | 'unblock'> & Pick<RevocationStore, 'revokeSessions'> & Pick<AuditStore, 'record'>;

/** Thrown for a bad reason or duration; the message is meant for the operator. */
export class BlockInputError extends Error {
  override name = 'BlockInputError';
}

/**
 * The reason as {@link blockUser} and {@link unblockUser} record it (trimmed), or a
 * {@link BlockInputError}; also for a page that shows what a block will do before it is done.
 */
export function blockReason(reason: string): string {
  const trimmed = reason.trim();
  if (trimmed === '') throw new BlockInputError('a reason is required');
  if (trimmed.length > 500) throw new BlockInputError('the reason is longer than 500 characters');
  return trimmed;
}

/** Whether `days` is a block duration {@link blockUser} takes: a whole number from 1 to {@link MAX_BLOCK_DAYS}. */
export const validBlockDays = (days: number): boolean => Number.isInteger(days) && days >= 1 && days <= MAX_BLOCK_DAYS;

/**
 * Blocks `user` for `days` days from now (replacing a current block), ends their sessions
 * and records it, then tells `onBlock` (whose failure is reported to `onHookError`, never
 * undoing the block). Running gateways refuse the user's sessions within their poll interval
 * (under a second) and close the user's WebSocket connections.
 *
 * @example
 * await blockUser(store, 'jdoe', { reason: 'laptop stolen', days: 90, actor: 'root' });
 */
export async function blockUser(
  store: BlockDeps,
  user: string,
  opts: {
    reason: string;
    days: number;
    actor: string;
    context?: BlockContext;
    onBlock?: (event: BlockEvent) => unknown;
    onHookError?: (err: unknown) => void;
  },
): Promise<BlockRecord> {
  const reason = blockReason(opts.reason);
  if (!validBlockDays(opts.days)) throw new BlockInputError(`days must be a whole number from 1 to ${MAX_BLOCK_DAYS}`);
  const block = await store.block({ user, durationMs: opts.days * DAY_MS, reason, actor: opts.actor });
  await store.revokeSessions(user);
  const context = opts.context ?? COMMAND_LINE;
  await store.record({
    kind: 'block',
    user,
    ...context,
    rule: null,
    outcome: 'success',
    detail: `blocked by ${opts.actor} until ${new Date(block.until).toISOString()}: ${reason}`,
  });
  if (opts.onBlock) {
    try {
      await opts.onBlock({ user, block });
    } catch (err) {
      opts.onHookError?.(err);
    }
  }
  return block;
}

/** Lifts a current block early; false when the user was not blocked (nothing recorded then). */
export async function unblockUser(
  store: BlockDeps,
  user: string,
  opts: { reason: string; actor: string; context?: BlockContext },
): Promise<boolean> {
  const reason = blockReason(opts.reason);
  if (!(await store.unblock({ user, reason, actor: opts.actor }))) return false;
  await store.record({
    kind: 'unblock',
    user,
    ...(opts.context ?? COMMAND_LINE),
    rule: null,
    outcome: 'success',
    detail: `unblocked by ${opts.actor}: ${reason}`,
  });
  return true;
}
