/**
 * @module store/sql/session-index
 * The session index (one row per live session, by its stable id) and the logout tokens already
 * used. Ending a session inserts its id into `revoked_sessions` stamped with a bump of
 * `change_seq` (taken first, see `store/sql/db`) and deletes its row in the same transaction,
 * so the change feed carries the end to every gateway and the lists never show it again.
 * A logout token's `jti` is spent by one INSERT: of two gateways given the same token, the
 * primary key lets exactly one through. A federated session's revalidation state lives in the
 * same row (see `store/sql/revalidation`), so it goes with the session.
 */

import type { SecretBox } from '../secret-box.ts';
import type { IndexedSession, SessionIndexStore, SessionSkip, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import { bumpSeq, fromJson, purge, type Db } from './db.ts';
import { sealedTokens } from './revalidation.ts';

interface Row {
  sid: string;
  user_name: string;
  created_at: number;
  last_seen: number;
  expires_at: number;
  created_ip: string;
  created_ua: string;
  last_ip: string;
  last_ua: string;
  amr: unknown;
  skip: string | null;
  /** SQLite stores 0/1, PostgreSQL a boolean. */
  federated: boolean | number;
  provider_sid: string | null;
  provider_sub: string | null;
}

const COLUMNS =
  'sid, user_name, created_at, last_seen, expires_at, created_ip, created_ua, last_ip, last_ua, amr, skip, federated, provider_sid, ' +
  'provider_sub';

const toSession = (r: Row): IndexedSession => ({
  sid: r.sid,
  user: r.user_name,
  createdAt: Number(r.created_at),
  lastSeen: Number(r.last_seen),
  expiresAt: Number(r.expires_at),
  createdIp: r.created_ip,
  createdUserAgent: r.created_ua,
  lastIp: r.last_ip,
  lastUserAgent: r.last_ua,
  amr: fromJson(r.amr) as string[],
  skip: r.skip as SessionSkip | null,
  federated: Boolean(r.federated),
  providerSid: r.provider_sid,
  providerSub: r.provider_sub,
});

export function sessionIndexQueries(db: Db, box: SecretBox, deps: StoreDeps): SessionIndexStore {
  return {
    async indexSession(s, revalidation) {
      const sealed = revalidation ? sealedTokens(box, s.sid, revalidation.tokens) : null;
      // A change of level carries no revalidation: the session keeps what it had.
      await db.query(
        `INSERT INTO sessions (sid, user_key, ${COLUMNS.slice(5)}, revalidate_at, revalidated_at, refresh_token_sealed,
           access_token_sealed, access_expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${db.dialect.json}, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (sid) DO UPDATE SET last_seen = excluded.last_seen, expires_at = excluded.expires_at, last_ip = excluded.last_ip,
           last_ua = excluded.last_ua, amr = excluded.amr, skip = excluded.skip, federated = excluded.federated,
           provider_sid = COALESCE(excluded.provider_sid, sessions.provider_sid),
           provider_sub = COALESCE(excluded.provider_sub, sessions.provider_sub),
           revalidate_at = COALESCE(excluded.revalidate_at, sessions.revalidate_at),
           revalidated_at = COALESCE(excluded.revalidated_at, sessions.revalidated_at),
           refresh_token_sealed = COALESCE(excluded.refresh_token_sealed, sessions.refresh_token_sealed),
           access_token_sealed = COALESCE(excluded.access_token_sealed, sessions.access_token_sealed),
           access_expires_at = COALESCE(excluded.access_expires_at, sessions.access_expires_at)
         WHERE sessions.user_key = excluded.user_key`,
        [
          s.sid,
          userKey(s.user),
          s.user,
          s.createdAt,
          s.lastSeen,
          s.expiresAt,
          s.createdIp,
          s.createdUserAgent,
          s.lastIp,
          s.lastUserAgent,
          JSON.stringify(s.amr),
          s.skip,
          s.federated,
          s.providerSid,
          s.providerSub,
          revalidation?.dueAt ?? null,
          revalidation ? s.createdAt : null,
          sealed?.refresh ?? null,
          sealed?.access ?? null,
          revalidation?.tokens.accessExpiresAt ?? null,
        ],
      );
    },
    async touchSession(sid, seen) {
      await db.query('UPDATE sessions SET last_seen = ?, last_ip = ?, last_ua = ? WHERE sid = ? AND last_seen < ?', [
        seen.at,
        seen.ip,
        seen.userAgent,
        sid,
        seen.at,
      ]);
    },
    async listSessions(user) {
      const { rows } = await db.query<Row>(
        `SELECT ${COLUMNS} FROM sessions WHERE user_key = ? AND expires_at > ? ORDER BY created_at, sid`,
        [userKey(user), deps.clock()],
      );
      return rows.map(toSession);
    },
    async providerSessions(match) {
      if (match.sid === undefined && match.sub === undefined) return [];
      // Back-Channel Logout 1.0 section 2.4: with both claims, the session must match both.
      const conditions: string[] = [];
      const params: unknown[] = [];
      if (match.sid !== undefined) {
        conditions.push('provider_sid = ?');
        params.push(match.sid);
      }
      if (match.sub !== undefined) {
        conditions.push('provider_sub = ?');
        params.push(match.sub);
      }
      const { rows } = await db.query<Row>(
        `SELECT ${COLUMNS} FROM sessions WHERE federated = ? AND ${conditions.join(' AND ')} AND expires_at > ? ORDER BY created_at, sid`,
        [true, ...params, deps.clock()],
      );
      return rows.map(toSession);
    },
    endSession: (user, sid) =>
      db.tx('endSession', async (c) => {
        const seq = await bumpSeq(c);
        const { rows } = await c.query<{ user_key: string; expires_at: number }>(
          `SELECT user_key, expires_at FROM sessions WHERE sid = ? AND user_key = ?${db.dialect.forUpdate}`,
          [sid, userKey(user)],
        );
        const row = rows[0];
        if (!row) return false;
        await c.query(
          'INSERT INTO revoked_sessions (sid, user_key, revoked_at, expires_at, changed_seq) VALUES (?, ?, ?, ?, ?) ON CONFLICT (sid) ' +
            'DO NOTHING',
          [sid, row.user_key, deps.clock(), Number(row.expires_at), seq],
        );
        await c.query('DELETE FROM sessions WHERE sid = ?', [sid]);
        return true;
      }),
    async useLogoutToken(jti, expiresAt) {
      const { rowCount } = await db.query('INSERT INTO logout_token_jtis (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING', [
        jti,
        expiresAt,
      ]);
      return rowCount === 1;
    },
    async pruneSessionIndex(now) {
      return (
        (await purge(db, 'sessions', 'sid', 'expires_at <= ?', now)) + (await purge(db, 'logout_token_jtis', 'jti', 'expires_at <= ?', now))
      );
    },
  };
}
