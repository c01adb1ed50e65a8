/**
 * @module store/sqlite/recovery
 * The SQLite side of the ways in without a phone: temporary access passes (one row per
 * user; a use is spent by one conditional UPDATE, so the last use goes to exactly one of
 * parallel requests, across processes too) and recovery codes (a set replaced in one
 * immediate transaction; a code is used by one conditional UPDATE). Spread into the store
 * by `openSqliteStore`.
 */

import type Database from 'better-sqlite3';
import type { AccessPassInfo, AccessPassStore, RecoveryCodeStore } from '../types.ts';
import { userKey } from '../types.ts';

/** Runs a statement and turns SQLite failures into the store's 503 (see `guard` in sqlite-store). */
type Guard = <T>(what: string, fn: () => T) => Promise<T>;

interface PassRow {
  user_key: string;
  created_at: number;
  expires_at: number;
  uses: number;
  uses_left: number;
  actor: string;
}

const toPass = (r: PassRow): AccessPassInfo => ({ user: r.user_key, createdAt: r.created_at, expiresAt: r.expires_at, uses: r.uses, usesLeft: r.uses_left, actor: r.actor });

export function sqliteRecoveryStore(db: Database.Database, deps: { clock: () => number }, guard: Guard): AccessPassStore & RecoveryCodeStore {
  const q = {
    upsertPass: db.prepare(
      `INSERT INTO access_passes (user_key, pass_hash, created_at, expires_at, uses, uses_left, actor) VALUES (@user_key, @hash, @now, @expires_at, @uses, @uses, @actor)
       ON CONFLICT (user_key) DO UPDATE SET pass_hash = excluded.pass_hash, created_at = excluded.created_at, expires_at = excluded.expires_at,
         uses = excluded.uses, uses_left = excluded.uses_left, actor = excluded.actor`,
    ),
    pass: db.prepare<[string], PassRow>('SELECT user_key, created_at, expires_at, uses, uses_left, actor FROM access_passes WHERE user_key = ?'),
    spendPass: db.prepare('UPDATE access_passes SET uses_left = uses_left - 1 WHERE user_key = ? AND pass_hash = ? AND uses_left > 0 AND expires_at > ?'),
    revokePass: db.prepare('DELETE FROM access_passes WHERE user_key = ?'),
    removeCodes: db.prepare('DELETE FROM recovery_codes WHERE user_key = ?'),
    insertCode: db.prepare('INSERT INTO recovery_codes (user_key, code_hash, created_at, used_at) VALUES (?, ?, ?, NULL)'),
    useCode: db.prepare('UPDATE recovery_codes SET used_at = ? WHERE user_key = ? AND code_hash = ? AND used_at IS NULL'),
    summary: db.prepare<[string], { total: number; unused: number; created_at: number | null }>(
      'SELECT COUNT(*) AS total, COUNT(*) - COUNT(used_at) AS unused, MIN(created_at) AS created_at FROM recovery_codes WHERE user_key = ?',
    ),
  };

  const replaceTx = db.transaction((key: string, hashes: readonly string[], now: number) => {
    q.removeCodes.run(key);
    for (const h of hashes) q.insertCode.run(key, h, now);
  });

  return {
    issueAccessPass: (input) =>
      guard('issueAccessPass', () => {
        const key = userKey(input.user);
        q.upsertPass.run({ user_key: key, hash: input.hash, now: deps.clock(), expires_at: input.expiresAt, uses: input.uses, actor: input.actor });
        return toPass(q.pass.get(key)!);
      }),
    accessPassOf: (user) =>
      guard('accessPassOf', () => {
        const r = q.pass.get(userKey(user));
        return r === undefined ? null : toPass(r);
      }),
    useAccessPass: (user, hash, now) => guard('useAccessPass', () => q.spendPass.run(userKey(user), hash, now).changes === 1),
    revokeAccessPass: (user) => guard('revokeAccessPass', () => q.revokePass.run(userKey(user)).changes === 1),
    replaceRecoveryCodes: (user, hashes, now) => guard('replaceRecoveryCodes', () => replaceTx.immediate(userKey(user), hashes, now)),
    useRecoveryCode: (user, hash, now) => guard('useRecoveryCode', () => q.useCode.run(now, userKey(user), hash).changes === 1),
    recoveryCodeSummary: (user) =>
      guard('recoveryCodeSummary', () => {
        const r = q.summary.get(userKey(user))!;
        return { total: r.total, unused: r.unused, createdAt: r.total === 0 ? null : r.created_at };
      }),
    removeRecoveryCodes: (user) => guard('removeRecoveryCodes', () => q.removeCodes.run(userKey(user)).changes),
  };
}
