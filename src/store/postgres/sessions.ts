/**
 * @module store/postgres/sessions
 * The PostgreSQL side of sessions ended one by one (sign-out): bumping `change_seq` first
 * takes its row lock (see `pg-store`), so records commit in counter order; a read is one
 * statement, one snapshot. Spread into the store by `openPostgresStore`.
 */

import type { SessionRevocationStore, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import { purge } from './db.ts';
import type { Db } from './db.ts';

export function pgSessionRevocationStore(db: Db, deps: StoreDeps): SessionRevocationStore {
  return {
    async revokeSession({ sid, user, expiresAt }) {
      await db.query(
        `WITH s AS (UPDATE change_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq)
         INSERT INTO revoked_sessions (sid, user_key, revoked_at, expires_at, changed_seq) SELECT $1, $2, $3, $4, seq FROM s
         ON CONFLICT (sid) DO NOTHING`,
        [sid, userKey(user), deps.clock(), expiresAt],
      );
    },
    async revokedSessionsSince(seq) {
      const { rows } = await db.query<{ seq: number; sid: string | null; user_key: string | null; revoked_at: number | null; expires_at: number | null }>(
        `SELECT c.seq, r.sid, r.user_key, r.revoked_at, r.expires_at
         FROM change_seq c LEFT JOIN revoked_sessions r ON r.changed_seq > $1 AND r.expires_at > $2
         WHERE c.id = 1 ORDER BY r.changed_seq`,
        [seq, deps.clock()],
      );
      return {
        seq: rows[0]!.seq,
        entries: rows
          .filter((r) => r.sid !== null)
          .map((r) => ({ sid: r.sid!, user: r.user_key!, revokedAt: r.revoked_at!, expiresAt: r.expires_at! })),
      };
    },
    pruneRevokedSessions: (now) => purge(db, 'revoked_sessions', 'sid', 'expires_at <= $1', now),
  };
}
