/**
 * @module store/sql/recovery
 * The ways in without a phone: temporary access passes (one row per user; a use is spent by
 * one conditional UPDATE: a second spender, in any process, waits for the first one's row
 * lock (PostgreSQL) or the file's write lock (SQLite) and then sees the count it left, so the
 * last use goes to exactly one of parallel requests) and recovery codes (a set replaced in
 * one transaction; a code is used by one conditional UPDATE).
 */

import type { AccessPassInfo, AccessPassStore, RecoveryCodeStore, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import type { Db } from './db.ts';

interface PassRow {
  user_key: string;
  created_at: number;
  expires_at: number;
  uses: number;
  uses_left: number;
  actor: string;
}

const PASS_COLUMNS = 'user_key, created_at, expires_at, uses, uses_left, actor';

const toPass = (r: PassRow): AccessPassInfo => ({
  user: r.user_key,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  uses: r.uses,
  usesLeft: r.uses_left,
  actor: r.actor,
});

export function recoveryQueries(db: Db, deps: StoreDeps): AccessPassStore & RecoveryCodeStore {
  return {
    async issueAccessPass(input) {
      const { rows } = await db.query<PassRow>(
        `INSERT INTO access_passes (user_key, pass_hash, created_at, expires_at, uses, uses_left, actor) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (user_key) DO UPDATE SET pass_hash = excluded.pass_hash, created_at = excluded.created_at,
           expires_at = excluded.expires_at,
           uses = excluded.uses, uses_left = excluded.uses_left, actor = excluded.actor
         RETURNING ${PASS_COLUMNS}`,
        [userKey(input.user), input.hash, deps.clock(), input.expiresAt, input.uses, input.uses, input.actor],
      );
      return toPass(rows[0]!);
    },
    async accessPassOf(user) {
      const { rows } = await db.query<PassRow>(`SELECT ${PASS_COLUMNS} FROM access_passes WHERE user_key = ?`, [userKey(user)]);
      return rows[0] === undefined ? null : toPass(rows[0]);
    },
    async useAccessPass(user, hash, now) {
      const r = await db.query(
        'UPDATE access_passes SET uses_left = uses_left - 1 WHERE user_key = ? AND pass_hash = ? AND uses_left > 0 AND expires_at > ?',
        [userKey(user), hash, now],
      );
      return r.rowCount === 1;
    },
    async revokeAccessPass(user) {
      return (await db.query('DELETE FROM access_passes WHERE user_key = ?', [userKey(user)])).rowCount === 1;
    },
    replaceRecoveryCodes: (user, hashes, now) =>
      db.tx('replaceRecoveryCodes', async (c) => {
        const key = userKey(user);
        await c.query('DELETE FROM recovery_codes WHERE user_key = ?', [key]);
        if (hashes.length === 0) return;
        await c.query(
          `INSERT INTO recovery_codes (user_key, code_hash, created_at, used_at) VALUES ${hashes.map(() => '(?, ?, ?, NULL)').join(', ')}`,
          hashes.flatMap((h) => [key, h, now]),
        );
      }),
    async useRecoveryCode(user, hash, now) {
      const r = await db.query('UPDATE recovery_codes SET used_at = ? WHERE user_key = ? AND code_hash = ? AND used_at IS NULL', [
        now,
        userKey(user),
        hash,
      ]);
      return r.rowCount === 1;
    },
    async recoveryCodeSummary(user) {
      const { rows } = await db.query<{ total: number; unused: number; created_at: number | null }>(
        'SELECT COUNT(*) AS total, COUNT(*) - COUNT(used_at) AS unused, MIN(created_at) AS created_at FROM recovery_codes WHERE ' +
          'user_key = ?',
        [userKey(user)],
      );
      const r = rows[0]!;
      return { total: r.total, unused: r.unused, createdAt: r.total === 0 ? null : r.created_at };
    },
    async removeRecoveryCodes(user) {
      return (await db.query('DELETE FROM recovery_codes WHERE user_key = ?', [userKey(user)])).rowCount;
    },
  };
}
