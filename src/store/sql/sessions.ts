/**
 * @module store/sql/sessions
 * Sessions ended one by one (sign-out): the record (and the session's row in the index goes) is stamped with a bump of `change_seq`,
 * taken first in its transaction (see `store/sql/db`), so records commit in counter order
 * and other gateways see the end within a poll; a read takes the counter and the records in
 * one statement (one snapshot), so a poller never sees the counter move without the record.
 */

import type { SessionRevocationStore, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import { bumpSeq, purge, type Db } from './db.ts';

interface Row {
  seq: number;
  sid: string | null;
  user_key: string;
  revoked_at: number;
  expires_at: number;
}

export function sessionQueries(db: Db, deps: StoreDeps): SessionRevocationStore {
  return {
    revokeSession: ({ sid, user, expiresAt }) =>
      db.tx('revokeSession', async (c) => {
        await c.query(
          'INSERT INTO revoked_sessions (sid, user_key, revoked_at, expires_at, changed_seq) VALUES (?, ?, ?, ?, ?) ON CONFLICT (sid) ' +
            'DO NOTHING',
          [sid, userKey(user), deps.clock(), expiresAt, await bumpSeq(c)],
        );
        await c.query('DELETE FROM sessions WHERE sid = ?', [sid]);
      }),
    async revokedSessionsSince(seq) {
      const { rows } = await db.query<Row>(
        `SELECT c.seq, r.sid, r.user_key, r.revoked_at, r.expires_at
         FROM change_seq c LEFT JOIN revoked_sessions r ON r.changed_seq > ? AND r.expires_at > ?
         WHERE c.id = 1 ORDER BY r.changed_seq`,
        [seq, deps.clock()],
      );
      return {
        seq: rows[0]!.seq,
        entries: rows.flatMap((r) =>
          r.sid === null ? [] : [{ sid: r.sid, user: r.user_key, revokedAt: r.revoked_at, expiresAt: r.expires_at }],
        ),
      };
    },
    pruneRevokedSessions: (now) => purge(db, 'revoked_sessions', 'sid', 'expires_at <= ?', now),
  };
}
