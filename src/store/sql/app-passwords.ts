/**
 * @module store/sql/app-passwords
 * App passwords. Every change takes the `change_seq` row lock first and stamps its rows with
 * the new value, so each gateway's cache of verified app passwords learns within its poll
 * interval whose to drop; the same lock serializes additions, so the per-user limit is
 * counted exactly across processes (a refused addition rolls the counter back).
 */

import { randomUUID } from 'node:crypto';
import type { AddAppPasswordResult, AppPasswordCredential, AppPasswordInfo, AppPasswordStore, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import { bumpSeq, rollback, type Db } from './db.ts';

interface AppPasswordRow {
  id: string;
  user_key: string;
  name: string;
  hint: string;
  hash: string;
  created_at: number;
  last_used_at: number | null;
}

const toInfo = (r: AppPasswordRow): AppPasswordInfo => ({
  id: r.id,
  user: r.user_key,
  name: r.name,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

/** Insertion order, the tiebreak of equal `created_at`: SQLite's rowid, PostgreSQL's identity column. */
const ADDED_ORDER = { sqlite: 'rowid', postgres: 'added_order' } as const;

export function appPasswordQueries(db: Db, deps: StoreDeps): AppPasswordStore {
  /** Revokes the user's active app passwords matching `condition`; the counter moves even when none matched. */
  const revoke = (what: string, user: string, condition: string, params: unknown[]) =>
    db.tx(what, async (c) => {
      const sql = `UPDATE app_passwords SET revoked_at = ?, changed_seq = ? WHERE user_key = ? AND revoked_at IS NULL${condition}`;
      return (await c.query(sql, [deps.clock(), await bumpSeq(c), userKey(user), ...params])).rowCount;
    });

  return {
    addAppPassword: (input, maxPerUser) =>
      db.tx<AddAppPasswordResult>('addAppPassword', async (c) => {
        const key = userKey(input.user);
        const seq = await bumpSeq(c);
        const { rows } = await c.query<{ n: number }>('SELECT COUNT(*) AS n FROM app_passwords WHERE user_key = ? AND revoked_at IS NULL', [
          key,
        ]);
        if (rows[0]!.n >= maxPerUser) return rollback({ ok: false, reason: 'limit_reached' });
        const row: AppPasswordRow = {
          id: randomUUID(),
          user_key: key,
          name: input.name,
          hint: input.hint,
          hash: input.hash,
          created_at: deps.clock(),
          last_used_at: null,
        };
        await c.query(
          'INSERT INTO app_passwords (id, user_key, name, hint, hash, created_at, last_used_at, revoked_at, changed_seq) VALUES (?, ?, ' +
            '?, ?, ?, ?, NULL, NULL, ?)',
          [row.id, row.user_key, row.name, row.hint, row.hash, row.created_at, seq],
        );
        return { ok: true, appPassword: toInfo(row) };
      }),
    async listAppPasswords(user) {
      const sql = `SELECT * FROM app_passwords WHERE user_key = ? AND revoked_at IS NULL
                   ORDER BY created_at, ${ADDED_ORDER[db.dialect.name]}`;
      return (await db.query<AppPasswordRow>(sql, [userKey(user)])).rows.map(toInfo);
    },
    async appPasswordCandidates(user, hint) {
      const { rows } = await db.query<AppPasswordRow>(
        'SELECT * FROM app_passwords WHERE user_key = ? AND hint = ? AND revoked_at IS NULL',
        [userKey(user), hint],
      );
      return rows.map((r): AppPasswordCredential => ({ ...toInfo(r), hash: r.hash }));
    },
    async hasCreatedAppPassword(user) {
      return (await db.query('SELECT 1 FROM app_passwords WHERE user_key = ? LIMIT 1', [userKey(user)])).rows.length === 1;
    },
    revokeAppPassword: async (user, id) => (await revoke('revokeAppPassword', user, ' AND id = ?', [id])) === 1,
    revokeAllAppPasswords: (user) => revoke('revokeAllAppPasswords', user, '', []),
    async touchAppPassword(id, now) {
      await db.query('UPDATE app_passwords SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)', [
        now,
        id,
        now,
      ]);
    },
    // One statement is one snapshot: the counter and the changed users agree.
    async appPasswordChangesSince(seq) {
      const { rows } = await db.query<{ seq: number; user_key: string | null }>(
        `SELECT c.seq, a.user_key FROM change_seq c
         LEFT JOIN (SELECT DISTINCT user_key FROM app_passwords WHERE changed_seq > ?) a ON TRUE
         WHERE c.id = 1 ORDER BY a.user_key`,
        [seq],
      );
      return { seq: rows[0]!.seq, users: rows.flatMap((r) => (r.user_key === null ? [] : [r.user_key])) };
    },
  };
}
