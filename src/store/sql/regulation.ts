/**
 * @module store/sql/regulation
 * Account lockout and the block list. An attempt is decided (by the pure decision passed in
 * as `deps.lockout`) and counted in one transaction that holds the counter's row, created
 * empty first when there is none, so parallel attempts from any number of gateways are
 * counted one after the other and never more are allowed than the attempts left. A block
 * change takes the `change_seq` row lock first, updates `user_state` and appends to
 * `block_history`, so every gateway's revocation view sees it in counter order.
 */

import type { BlockHistoryEntry, BlockRecord, BlockStore, LockoutCounter, LockoutStore, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import { bumpSeq, fromJson, purge, rollback, type Conn, type Db } from './db.ts';

interface CounterRow {
  denials: unknown;
  locked_until: number | null;
}

interface BlockRow {
  user_key: string;
  blocked_at: number;
  blocked_until: number;
  block_reason: string;
  blocked_by: string;
}

type HistoryRow = Omit<BlockHistoryEntry, 'user'> & { user_key: string };

const toCounter = (row: CounterRow | undefined): LockoutCounter =>
  row === undefined ? { denials: [], lockedUntil: null } : { denials: fromJson(row.denials) as number[], lockedUntil: row.locked_until };

async function appendHistory(c: Conn, e: Omit<BlockHistoryEntry, 'id'>): Promise<void> {
  await c.query('INSERT INTO block_history (user_key, action, at, until, reason, actor) VALUES (?, ?, ?, ?, ?, ?)', [
    e.user,
    e.action,
    e.at,
    e.until,
    e.reason,
    e.actor,
  ]);
}

export function regulationQueries(db: Db, deps: StoreDeps): LockoutStore & BlockStore {
  const counterSql = 'SELECT denials, locked_until FROM lockout_counters WHERE user_key = ? AND factor = ?';
  return {
    async regulateAttempt(user, factor, policy) {
      const key = userKey(user);
      // Counters of names that were only ever mistyped would otherwise pile up.
      await purge(db, 'lockout_counters', 'user_key, factor', 'expires_at <= ?', deps.clock());
      return db.tx('regulateAttempt', async (c) => {
        const now = deps.clock();
        // The empty row exists only inside this transaction: the first attempt always counts,
        // so it is overwritten below. It gives the row lock something to hold.
        await c.query(
          "INSERT INTO lockout_counters (user_key, factor, denials, locked_until, expires_at) VALUES (?, ?, '[]', NULL, ?) ON CONFLICT " +
            'DO NOTHING',
          [key, factor, now],
        );
        const verdict = deps.lockout.regulate(
          toCounter((await c.query<CounterRow>(counterSql + db.dialect.forUpdate, [key, factor])).rows[0]),
          policy,
          now,
        );
        if (verdict.allowed) {
          await c.query(
            `UPDATE lockout_counters SET denials = ${db.dialect.json}, locked_until = ?, expires_at = ? WHERE user_key = ? AND factor = ?`,
            [JSON.stringify(verdict.next.denials), verdict.next.lockedUntil, deps.lockout.expiresAt(verdict.next, policy), key, factor],
          );
        }
        return verdict;
      });
    },
    async clearLockout(user, factor) {
      await db.query('DELETE FROM lockout_counters WHERE user_key = ? AND factor = ?', [userKey(user), factor]);
    },
    async lockoutCounter(user, factor) {
      return toCounter((await db.query<CounterRow>(counterSql, [userKey(user), factor])).rows[0]);
    },

    block: (input) =>
      db.tx<BlockRecord>('block', async (c) => {
        const key = userKey(input.user);
        const at = deps.clock();
        const until = at + input.durationMs;
        await c.query(
          `INSERT INTO user_state (user_key, blocked_until, blocked_at, block_reason, blocked_by, changed_seq) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (user_key) DO UPDATE SET blocked_until = excluded.blocked_until, blocked_at = excluded.blocked_at,
             block_reason = excluded.block_reason, blocked_by = excluded.blocked_by, changed_seq = excluded.changed_seq`,
          [key, until, at, input.reason, input.actor, await bumpSeq(c)],
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
          `UPDATE user_state SET blocked_until = NULL, blocked_at = NULL, block_reason = NULL, blocked_by = NULL, changed_seq = ?
           WHERE user_key = ? AND blocked_until > ?`,
          [seq, key, at],
        );
        if (r.rowCount === 0) return rollback(false);
        await appendHistory(c, { user: key, action: 'unblock', at, until: null, reason: input.reason, actor: input.actor });
        return true;
      }),
    async blockOf(user) {
      const { rows } = await db.query<BlockRow>(
        'SELECT user_key, blocked_at, blocked_until, block_reason, blocked_by FROM user_state WHERE user_key = ? AND blocked_until > ?',
        [userKey(user), deps.clock()],
      );
      const r = rows[0];
      return r === undefined
        ? null
        : { user: r.user_key, blockedAt: r.blocked_at, until: r.blocked_until, reason: r.block_reason, actor: r.blocked_by };
    },
    async blockHistory(user) {
      const { rows } = await db.query<HistoryRow>('SELECT * FROM block_history WHERE user_key = ? ORDER BY at DESC, id DESC', [
        userKey(user),
      ]);
      return rows.map(({ user_key, ...r }) => ({ ...r, user: user_key }));
    },
  };
}
