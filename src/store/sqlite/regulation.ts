/**
 * @module store/sqlite/regulation
 * The SQLite side of account lockout and the block list. An attempt is decided and counted
 * in one `BEGIN IMMEDIATE` transaction (the write lock is taken before the counter is read),
 * so parallel attempts, from this process or another one on the same file, are counted one
 * after the other and never more are allowed than the attempts left. A block change updates
 * the user's `user_state` row, appends to `block_history` and bumps the change counter, so
 * the revocation view of every gateway sees it within its poll interval. Spread into the
 * store by `openSqliteStore`.
 */

import type Database from 'better-sqlite3';
import type { BlockRecord, BlockStore, LockoutCounter, LockoutFactor, LockoutPolicy, LockoutStore, Regulation, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import { toBlockHistoryEntry, type BlockRow, type HistoryRow } from '../rows.ts';
import { counterExpiresAt, EMPTY_COUNTER, regulate } from '../../regulation/lockout.ts';

/** Runs a statement and turns SQLite failures into the store's 503 (see `guard` in sqlite-store). */
type Guard = <T>(what: string, fn: () => T) => Promise<T>;

interface CounterRow {
  denials: string;
  locked_until: number | null;
}

function toCounter(row: CounterRow | undefined): LockoutCounter {
  if (row === undefined) return EMPTY_COUNTER;
  return { denials: JSON.parse(row.denials) as number[], lockedUntil: row.locked_until };
}

export function sqliteRegulationStore(db: Database.Database, deps: StoreDeps, guard: Guard): LockoutStore & BlockStore {
  const q = {
    counter: db.prepare<[string, string], CounterRow>('SELECT denials, locked_until FROM lockout_counters WHERE user_key = ? AND factor = ?'),
    saveCounter: db.prepare(
      `INSERT INTO lockout_counters (user_key, factor, denials, locked_until, expires_at) VALUES (@user_key, @factor, @denials, @locked_until, @expires_at)
       ON CONFLICT (user_key, factor) DO UPDATE SET denials = excluded.denials, locked_until = excluded.locked_until, expires_at = excluded.expires_at`,
    ),
    clearCounter: db.prepare('DELETE FROM lockout_counters WHERE user_key = ? AND factor = ?'),
    // Counters of names that were only ever mistyped would otherwise pile up.
    purgeCounters: db.prepare('DELETE FROM lockout_counters WHERE expires_at <= ?'),

    block: db.prepare(
      `INSERT INTO user_state (user_key, blocked_until, blocked_at, block_reason, blocked_by, changed_seq) VALUES (@user_key, @until, @at, @reason, @actor, @seq)
       ON CONFLICT (user_key) DO UPDATE SET blocked_until = excluded.blocked_until, blocked_at = excluded.blocked_at,
         block_reason = excluded.block_reason, blocked_by = excluded.blocked_by, changed_seq = excluded.changed_seq`,
    ),
    unblock: db.prepare(
      `UPDATE user_state SET blocked_until = NULL, blocked_at = NULL, block_reason = NULL, blocked_by = NULL, changed_seq = ?
       WHERE user_key = ? AND blocked_until > ?`,
    ),
    blockOf: db.prepare<[string, number], BlockRow>(
      'SELECT user_key, blocked_at, blocked_until, block_reason, blocked_by FROM user_state WHERE user_key = ? AND blocked_until > ?',
    ),
    history: db.prepare(
      'INSERT INTO block_history (user_key, action, at, until, reason, actor) VALUES (@user_key, @action, @at, @until, @reason, @actor)',
    ),
    historyOf: db.prepare<[string], HistoryRow>('SELECT * FROM block_history WHERE user_key = ? ORDER BY at DESC, id DESC'),
    bumpSeq: db.prepare<[], { seq: number }>('UPDATE change_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq'),
  };

  const regulateTx = db.transaction((key: string, factor: LockoutFactor, policy: LockoutPolicy): Regulation => {
    const now = deps.clock();
    q.purgeCounters.run(now);
    const verdict = regulate(toCounter(q.counter.get(key, factor)), policy, now);
    if (verdict.allowed) {
      q.saveCounter.run({
        user_key: key,
        factor,
        denials: JSON.stringify(verdict.next.denials),
        locked_until: verdict.next.lockedUntil,
        expires_at: counterExpiresAt(verdict.next, policy),
      });
    }
    return verdict;
  });

  const blockTx = db.transaction((input: { user: string; durationMs: number; reason: string; actor: string }): BlockRecord => {
    const key = userKey(input.user);
    const at = deps.clock();
    const until = at + input.durationMs;
    const { seq } = q.bumpSeq.get()!;
    q.block.run({ user_key: key, until, at, reason: input.reason, actor: input.actor, seq });
    q.history.run({ user_key: key, action: 'block', at, until, reason: input.reason, actor: input.actor });
    return { user: key, blockedAt: at, until, reason: input.reason, actor: input.actor };
  });

  const unblockTx = db.transaction((input: { user: string; reason: string; actor: string }): boolean => {
    const key = userKey(input.user);
    const at = deps.clock();
    if (q.blockOf.get(key, at) === undefined) return false;
    const { seq } = q.bumpSeq.get()!;
    q.unblock.run(seq, key, at);
    q.history.run({ user_key: key, action: 'unblock', at, until: null, reason: input.reason, actor: input.actor });
    return true;
  });

  return {
    regulateAttempt: (user, factor, policy) => guard('regulateAttempt', () => regulateTx.immediate(userKey(user), factor, policy)),
    clearLockout: (user, factor) =>
      guard('clearLockout', () => {
        q.clearCounter.run(userKey(user), factor);
      }),
    lockoutCounter: (user, factor) => guard('lockoutCounter', () => toCounter(q.counter.get(userKey(user), factor))),

    block: (input) => guard('block', () => blockTx.immediate(input)),
    unblock: (input) => guard('unblock', () => unblockTx.immediate(input)),
    blockOf: (user) =>
      guard('blockOf', () => {
        const r = q.blockOf.get(userKey(user), deps.clock());
        return r === undefined ? null : { user: r.user_key, blockedAt: r.blocked_at, until: r.blocked_until, reason: r.block_reason, actor: r.blocked_by };
      }),
    blockHistory: (user) =>
      guard('blockHistory', () => q.historyOf.all(userKey(user)).map(toBlockHistoryEntry)),
  };
}
