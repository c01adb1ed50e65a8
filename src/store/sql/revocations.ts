/**
 * @module store/sql/revocations
 * "Sign out everywhere" and "forget remembered browsers" as one time per user, and the change
 * feed's source: the `change_seq` counter every change other gateways must notice bumps,
 * and the `user_state` rows stamped with it, read with the counter in one statement (one
 * snapshot), so a poller never misses a change.
 */

import type { RevocationStore, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import { bumpSeq, type Db } from './db.ts';

type Column = 'sessions_revoked_at' | 'devices_revoked_at';

interface ChangeRow {
  seq: number;
  user_key: string | null;
  sessions_revoked_at: number | null;
  devices_revoked_at: number | null;
  blocked_until: number | null;
}

export function revocationQueries(db: Db, deps: StoreDeps): RevocationStore {
  async function revokedAt(column: Column, user: string): Promise<number | null> {
    return (
      (await db.query<{ v: number | null }>(`SELECT ${column} AS v FROM user_state WHERE user_key = ?`, [userKey(user)])).rows[0]?.v ?? null
    );
  }

  /** Sets one revocation column to now; bumping the counter first takes its row lock (see `store/sql/db`). */
  const revoke = (column: Column, user: string): Promise<number> =>
    db.tx('revoke', async (c) => {
      const now = deps.clock();
      await c.query(
        `INSERT INTO user_state (user_key, ${column}, changed_seq) VALUES (?, ?, ?)
         ON CONFLICT (user_key) DO UPDATE SET ${column} = excluded.${column}, changed_seq = excluded.changed_seq`,
        [userKey(user), now, await bumpSeq(c)],
      );
      // Every session issued until now is over: the index stops listing them.
      if (column === 'sessions_revoked_at')
        await c.query('DELETE FROM sessions WHERE user_key = ? AND created_at <= ?', [userKey(user), now]);
      return now;
    });

  return {
    sessionsRevokedAt: (user) => revokedAt('sessions_revoked_at', user),
    devicesRevokedAt: (user) => revokedAt('devices_revoked_at', user),
    revokeSessions: (user) => revoke('sessions_revoked_at', user),
    revokeDevices: (user) => revoke('devices_revoked_at', user),
    // What every gateway polls every 250 ms: one primary-key read.
    async changeSeq() {
      return (await db.query<{ seq: number }>('SELECT seq FROM change_seq WHERE id = 1')).rows[0]!.seq;
    },
    async revocationsSince(seq) {
      const { rows } = await db.query<ChangeRow>(
        `SELECT c.seq, u.user_key, u.sessions_revoked_at, u.devices_revoked_at, u.blocked_until
         FROM change_seq c LEFT JOIN user_state u ON u.changed_seq > ?
         WHERE c.id = 1 ORDER BY u.changed_seq`,
        [seq],
      );
      return {
        seq: rows[0]!.seq,
        entries: rows.flatMap((r) =>
          r.user_key === null
            ? []
            : [
                {
                  user: r.user_key,
                  sessionsRevokedAt: r.sessions_revoked_at,
                  devicesRevokedAt: r.devices_revoked_at,
                  blockedUntil: r.blocked_until,
                },
              ],
        ),
      };
    },
  };
}
