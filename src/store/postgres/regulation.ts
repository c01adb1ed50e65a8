/**
 * @module store/postgres/regulation
 * The PostgreSQL side of account lockout and the block list. An attempt is decided and
 * counted in one transaction that holds the counter's row lock (`SELECT ... FOR UPDATE`,
 * after creating an empty row when there is none), so parallel attempts from any number of
 * gateways are counted one after the other and never more are allowed than the attempts
 * left. A block change takes the `change_seq` row lock first, updates `user_state` and
 * appends to `block_history`, so every gateway's revocation view sees it in counter order.
 * Spread into the store by `openPostgresStore`.
 */

import type { BlockHistoryEntry, BlockRecord, BlockStore, LockoutCounter, LockoutStore, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import { toBlockHistoryEntry, type BlockRow, type HistoryRow } from '../rows.ts';
import { counterExpiresAt, EMPTY_COUNTER, regulate } from '../../regulation/lockout.ts';
import { purge, rollback } from './db.ts';
import type { Db, Queryable } from './db.ts';
import { bumpSeq } from './rows.ts';

interface CounterRow {
  denials: number[];
  locked_until: number | null;
}

const toCounter = (row: CounterRow | undefined): LockoutCounter =>
  row === undefined ? EMPTY_COUNTER : { denials: row.denials, lockedUntil: row.locked_until };

async function appendHistory(c: Queryable, e: Omit<BlockHistoryEntry, 'id'>): Promise<void> {
  await c.query('INSERT INTO block_history (user_key, action, at, until, reason, actor) VALUES ($1, $2, $3, $4, $5, $6)', [e.user, e.action, e.at, e.until, e.reason, e.actor]);
}

export function pgRegulationStore(db: Db, deps: StoreDeps): LockoutStore & BlockStore {
  return {
    async regulateAttempt(user, factor, policy) {
      const key = userKey(user);
      // Counters of names that were only ever mistyped would otherwise pile up.
      await purge(db, 'lockout_counters', 'user_key, factor', 'expires_at <= $1', deps.clock());
      return db.tx('regulateAttempt', async (c) => {
        const now = deps.clock();
        // The empty row exists only inside this transaction: the first attempt always counts,
        // so it is overwritten below. It gives the row lock something to hold.
        await c.query(
          "INSERT INTO lockout_counters (user_key, factor, denials, locked_until, expires_at) VALUES ($1, $2, '[]', NULL, $3) ON CONFLICT DO NOTHING",
          [key, factor, now],
        );
        const { rows } = await c.query<CounterRow>('SELECT denials, locked_until FROM lockout_counters WHERE user_key = $1 AND factor = $2 FOR UPDATE', [key, factor]);
        const verdict = regulate(toCounter(rows[0]), policy, now);
        if (verdict.allowed) {
          await c.query('UPDATE lockout_counters SET denials = $3::jsonb, locked_until = $4, expires_at = $5 WHERE user_key = $1 AND factor = $2', [
            key,
            factor,
            JSON.stringify(verdict.next.denials),
            verdict.next.lockedUntil,
            counterExpiresAt(verdict.next, policy),
          ]);
        }
        return verdict;
      });
    },
    async clearLockout(user, factor) {
      await db.query('DELETE FROM lockout_counters WHERE user_key = $1 AND factor = $2', [userKey(user), factor]);
    },
    async lockoutCounter(user, factor) {
      const { rows } = await db.query<CounterRow>('SELECT denials, locked_until FROM lockout_counters WHERE user_key = $1 AND factor = $2', [userKey(user), factor]);
      return toCounter(rows[0]);
    },

    block: (input) =>
      db.tx<BlockRecord>('block', async (c) => {
        const key = userKey(input.user);
        const at = deps.clock();
        const until = at + input.durationMs;
        const seq = await bumpSeq(c);
        await c.query(
          `INSERT INTO user_state (user_key, blocked_until, blocked_at, block_reason, blocked_by, changed_seq) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (user_key) DO UPDATE SET blocked_until = excluded.blocked_until, blocked_at = excluded.blocked_at,
             block_reason = excluded.block_reason, blocked_by = excluded.blocked_by, changed_seq = excluded.changed_seq`,
          [key, until, at, input.reason, input.actor, seq],
        );
        await appendHistory(c, { user: key, action: 'block', at, until, reason: input.reason, actor: input.actor });
        return { user: key, blockedAt: at, until, reason: input.reason, actor: input.actor };
      }),
    // The counter is bumped first (lock order), and rolled back when there was nothing to unblock.
    unblock: (input) =>
      db.tx<boolean>('unblock', async (c) => {
        const key = userKey(input.user);
        const at = deps.clock();
        const seq = await bumpSeq(c);
        const r = await c.query(
          `UPDATE user_state SET blocked_until = NULL, blocked_at = NULL, block_reason = NULL, blocked_by = NULL, changed_seq = $1
           WHERE user_key = $2 AND blocked_until > $3`,
          [seq, key, at],
        );
        if (r.rowCount === 0) return rollback(false);
        await appendHistory(c, { user: key, action: 'unblock', at, until: null, reason: input.reason, actor: input.actor });
        return true;
      }),
    async blockOf(user) {
      const { rows } = await db.query<BlockRow>(
        'SELECT user_key, blocked_at, blocked_until, block_reason, blocked_by FROM user_state WHERE user_key = $1 AND blocked_until > $2',
        [userKey(user), deps.clock()],
      );
      const r = rows[0];
      return r === undefined ? null : { user: r.user_key, blockedAt: r.blocked_at, until: r.blocked_until, reason: r.block_reason, actor: r.blocked_by };
    },
    async blockHistory(user) {
      const { rows } = await db.query<HistoryRow>('SELECT * FROM block_history WHERE user_key = $1 ORDER BY at DESC, id DESC', [userKey(user)]);
      return rows.map(toBlockHistoryEntry);
    },
  };
}
