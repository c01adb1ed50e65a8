/**
 * @module store/sqlite/app-passwords
 * The SQLite side of app passwords and of what the admin pages read: app passwords are
 * added under the per-user limit in one `BEGIN IMMEDIATE` transaction, and every change
 * bumps the shared change counter and stamps the row with it, so each gateway's cache of
 * verified app passwords learns within its poll interval whose to drop. Also the sign-in
 * log filtered and paged for the admin pages, and token import error reports kept for
 * their download link. Spread into the store by `openSqliteStore`.
 */

import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { AdminStore, AppPasswordCredential, AppPasswordInfo, AppPasswordStore, AuditPageQuery, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import { toAuditEntry, type AuditRow } from '../rows.ts';

/** Runs a statement and turns SQLite failures into the store's 503 (see `guard` in sqlite-store). */
type Guard = <T>(what: string, fn: () => T) => Promise<T>;

interface AppPasswordRow {
  id: string;
  user_key: string;
  name: string;
  hint: string;
  hash: string;
  created_at: number;
  last_used_at: number | null;
}

const toInfo = (r: AppPasswordRow): AppPasswordInfo => ({ id: r.id, user: r.user_key, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at });

/** Sign-in log kinds that count as a sign-in for "last sign-in". */
const SIGN_IN_KINDS = ['password', 'federated', 'app_password'] as const;

export function sqliteAppPasswordStore(db: Database.Database, deps: StoreDeps, guard: Guard): AppPasswordStore & AdminStore {
  const q = {
    countActive: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM app_passwords WHERE user_key = ? AND revoked_at IS NULL'),
    insert: db.prepare(
      `INSERT INTO app_passwords (id, user_key, name, hint, hash, created_at, last_used_at, revoked_at, changed_seq)
       VALUES (@id, @user_key, @name, @hint, @hash, @created_at, NULL, NULL, @seq)`,
    ),
    list: db.prepare<[string], AppPasswordRow>('SELECT * FROM app_passwords WHERE user_key = ? AND revoked_at IS NULL ORDER BY created_at, rowid'),
    candidates: db.prepare<[string, string], AppPasswordRow>('SELECT * FROM app_passwords WHERE user_key = ? AND hint = ? AND revoked_at IS NULL'),
    anyEver: db.prepare<[string], { n: number }>('SELECT EXISTS (SELECT 1 FROM app_passwords WHERE user_key = ?) AS n'),
    revokeOne: db.prepare('UPDATE app_passwords SET revoked_at = ?, changed_seq = ? WHERE id = ? AND user_key = ? AND revoked_at IS NULL'),
    revokeAll: db.prepare('UPDATE app_passwords SET revoked_at = ?, changed_seq = ? WHERE user_key = ? AND revoked_at IS NULL'),
    touch: db.prepare('UPDATE app_passwords SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)'),
    changedSince: db.prepare<[number], { user_key: string }>('SELECT DISTINCT user_key FROM app_passwords WHERE changed_seq > ?'),
    bumpSeq: db.prepare<[], { seq: number }>('UPDATE change_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq'),
    readSeq: db.prepare<[], { seq: number }>('SELECT seq FROM change_seq WHERE id = 1'),

    lastSignIn: db.prepare<[string], { at: number | null }>(
      `SELECT MAX(at) AS at FROM audit_log WHERE user_key = ? AND outcome = 'success' AND kind IN (${SIGN_IN_KINDS.map((k) => `'${k}'`).join(', ')})`,
    ),
    purgeReports: db.prepare('DELETE FROM token_import_reports WHERE expires_at <= ?'),
    insertReport: db.prepare('INSERT INTO token_import_reports (id, actor_key, csv, created_at, expires_at) VALUES (?, ?, ?, ?, ?)'),
    report: db.prepare<[string, string, number], { csv: string }>('SELECT csv FROM token_import_reports WHERE id = ? AND actor_key = ? AND expires_at > ?'),
  };

  const addTx = db.transaction((input: { user: string; name: string; hint: string; hash: string }, maxPerUser: number) => {
    const key = userKey(input.user);
    if (q.countActive.get(key)!.n >= maxPerUser) return { ok: false as const, reason: 'limit_reached' as const };
    const row: AppPasswordRow = { id: randomUUID(), user_key: key, name: input.name, hint: input.hint, hash: input.hash, created_at: deps.clock(), last_used_at: null };
    q.insert.run({ ...row, seq: q.bumpSeq.get()!.seq });
    return { ok: true as const, appPassword: toInfo(row) };
  });

  const revokeOneTx = db.transaction((key: string, id: string): boolean => {
    const { seq } = q.bumpSeq.get()!;
    return q.revokeOne.run(deps.clock(), seq, id, key).changes === 1;
  });

  const revokeAllTx = db.transaction((key: string): number => {
    const { seq } = q.bumpSeq.get()!;
    return q.revokeAll.run(deps.clock(), seq, key).changes;
  });

  // A read transaction is one WAL snapshot: the counter and the rows agree.
  const changesTx = db.transaction((since: number) => ({
    seq: q.readSeq.get()!.seq,
    users: q.changedSince.all(since).map((r) => r.user_key),
  }));

  return {
    addAppPassword: (input, maxPerUser) => guard('addAppPassword', () => addTx.immediate(input, maxPerUser)),
    listAppPasswords: (user) => guard('listAppPasswords', () => q.list.all(userKey(user)).map(toInfo)),
    appPasswordCandidates: (user, hint) =>
      guard('appPasswordCandidates', () => q.candidates.all(userKey(user), hint).map((r): AppPasswordCredential => ({ ...toInfo(r), hash: r.hash }))),
    hasCreatedAppPassword: (user) => guard('hasCreatedAppPassword', () => q.anyEver.get(userKey(user))!.n === 1),
    revokeAppPassword: (user, id) => guard('revokeAppPassword', () => revokeOneTx.immediate(userKey(user), id)),
    revokeAllAppPasswords: (user) => guard('revokeAllAppPasswords', () => revokeAllTx.immediate(userKey(user))),
    touchAppPassword: (id, now) =>
      guard('touchAppPassword', () => {
        q.touch.run(now, id, now);
      }),
    appPasswordChangesSince: (seq) => guard('appPasswordChangesSince', () => changesTx(seq)),

    auditPage: (query: AuditPageQuery) =>
      guard('auditPage', () => {
        const where: string[] = [];
        const params: (string | number)[] = [];
        if (query.user !== undefined) {
          where.push('user_key = ?');
          params.push(userKey(query.user));
        }
        if (query.since !== undefined) {
          where.push('at >= ?');
          params.push(query.since);
        }
        if (query.outcome !== undefined) {
          where.push('outcome = ?');
          params.push(query.outcome);
        }
        if (query.beforeId !== undefined) {
          where.push('id < ?');
          params.push(query.beforeId);
        }
        params.push(Math.max(0, Math.floor(query.limit)));
        // Ids grow with time (AUTOINCREMENT), so id order is log order and a stable page key.
        const sql = `SELECT * FROM audit_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
        return (db.prepare(sql).all(...params) as AuditRow[]).map(toAuditEntry);
      }),
    lastSignIn: (user) => guard('lastSignIn', () => q.lastSignIn.get(userKey(user))?.at ?? null),
    saveImportReport: (r) =>
      guard('saveImportReport', () => {
        q.purgeReports.run(r.createdAt);
        q.insertReport.run(r.id, userKey(r.actor), r.csv, r.createdAt, r.expiresAt);
      }),
    importReport: (id, actor, now) => guard('importReport', () => q.report.get(id, userKey(actor), now)?.csv ?? null),
  };
}
