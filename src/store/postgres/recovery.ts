/**
 * @module store/postgres/recovery
 * The PostgreSQL side of the ways in without a phone: temporary access passes (one row per
 * user; a use is spent by one conditional UPDATE: a second spender, in any process, waits for
 * the first one's row lock and then sees the count it left) and recovery codes (a set
 * replaced in one transaction; a code is used by one conditional UPDATE). Spread into the
 * store by `openPostgresStore`.
 */

import type { AccessPassInfo, AccessPassStore, RecoveryCodeStore } from '../types.ts';
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

const toPass = (r: PassRow): AccessPassInfo => ({ user: r.user_key, createdAt: r.created_at, expiresAt: r.expires_at, uses: r.uses, usesLeft: r.uses_left, actor: r.actor });

export function pgRecoveryStore(db: Db, deps: { clock: () => number }): AccessPassStore & RecoveryCodeStore {
  return {
    async issueAccessPass(input) {
      const { rows } = await db.query<PassRow>(
        `INSERT INTO access_passes (user_key, pass_hash, created_at, expires_at, uses, uses_left, actor) VALUES ($1, $2, $3, $4, $5, $5, $6)
         ON CONFLICT (user_key) DO UPDATE SET pass_hash = excluded.pass_hash, created_at = excluded.created_at, expires_at = excluded.expires_at,
           uses = excluded.uses, uses_left = excluded.uses_left, actor = excluded.actor
         RETURNING user_key, created_at, expires_at, uses, uses_left, actor`,
        [userKey(input.user), input.hash, deps.clock(), input.expiresAt, input.uses, input.actor],
      );
      return toPass(rows[0]!);
    },
    async accessPassOf(user) {
      const { rows } = await db.query<PassRow>('SELECT user_key, created_at, expires_at, uses, uses_left, actor FROM access_passes WHERE user_key = $1', [userKey(user)]);
      return rows[0] === undefined ? null : toPass(rows[0]);
    },
    async useAccessPass(user, hash, now) {
      const r = await db.query('UPDATE access_passes SET uses_left = uses_left - 1 WHERE user_key = $1 AND pass_hash = $2 AND uses_left > 0 AND expires_at > $3', [userKey(user), hash, now]);
      return r.rowCount === 1;
    },
    async revokeAccessPass(user) {
      return (await db.query('DELETE FROM access_passes WHERE user_key = $1', [userKey(user)])).rowCount === 1;
    },
    replaceRecoveryCodes: (user, hashes, now) =>
      db.tx('replaceRecoveryCodes', async (c) => {
        const key = userKey(user);
        await c.query('DELETE FROM recovery_codes WHERE user_key = $1', [key]);
        if (hashes.length > 0) {
          await c.query('INSERT INTO recovery_codes (user_key, code_hash, created_at) SELECT $1, h, $3 FROM unnest($2::text[]) AS h', [key, hashes, now]);
        }
      }),
    async useRecoveryCode(user, hash, now) {
      const r = await db.query('UPDATE recovery_codes SET used_at = $1 WHERE user_key = $2 AND code_hash = $3 AND used_at IS NULL', [now, userKey(user), hash]);
      return r.rowCount === 1;
    },
    async recoveryCodeSummary(user) {
      const { rows } = await db.query<{ total: number; unused: number; created_at: number | null }>(
        'SELECT COUNT(*)::int AS total, (COUNT(*) - COUNT(used_at))::int AS unused, MIN(created_at) AS created_at FROM recovery_codes WHERE user_key = $1',
        [userKey(user)],
      );
      const r = rows[0]!;
      return { total: r.total, unused: r.unused, createdAt: r.total === 0 ? null : r.created_at };
    },
    async removeRecoveryCodes(user) {
      return (await db.query('DELETE FROM recovery_codes WHERE user_key = $1', [userKey(user)])).rowCount;
    },
  };
}
