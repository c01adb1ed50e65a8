/**
 * @module store/postgres/app-passwords
 * The PostgreSQL side of app passwords and of what the admin pages read. Every app password
 * change takes the `change_seq` row lock first and stamps its rows with the new value, so
 * each gateway's cache of verified app passwords learns within its poll interval whose to
 * drop; the same lock serializes additions, so the per-user limit is counted exactly across
 * processes (a refused addition rolls the counter back). Also the sign-in log filtered and
 * paged for the admin pages, and token import error reports kept for their download link.
 * Spread into the store by `openPostgresStore`.
 */

import { randomUUID } from 'node:crypto';
import type { AddAppPasswordResult, AdminStore, AppPasswordCredential, AppPasswordInfo, AppPasswordStore, AuditPageQuery, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import { purge, rollback } from './db.ts';
import type { Db } from './db.ts';
import { bumpSeq, toAuditEntry, where } from './rows.ts';
import type { AuditRow } from './rows.ts';

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
const SIGN_IN_KINDS = ['password', 'federated', 'app_password'];

export function pgAppPasswordStore(db: Db, deps: StoreDeps): AppPasswordStore & AdminStore {
  return {
    addAppPassword: (input, maxPerUser) =>
      db.tx<AddAppPasswordResult>('addAppPassword', async (c) => {
        const key = userKey(input.user);
        const seq = await bumpSeq(c);
        const { rows } = await c.query<{ n: number }>('SELECT COUNT(*) AS n FROM app_passwords WHERE user_key = $1 AND revoked_at IS NULL', [key]);
        if (rows[0]!.n >= maxPerUser) return rollback({ ok: false, reason: 'limit_reached' });
        const row: AppPasswordRow = { id: randomUUID(), user_key: key, name: input.name, hint: input.hint, hash: input.hash, created_at: deps.clock(), last_used_at: null };
        await c.query(
          `INSERT INTO app_passwords (id, user_key, name, hint, hash, created_at, last_used_at, revoked_at, changed_seq)
           VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7)`,
          [row.id, row.user_key, row.name, row.hint, row.hash, row.created_at, seq],
        );
        return { ok: true, appPassword: toInfo(row) };
      }),
    async listAppPasswords(user) {
      const { rows } = await db.query<AppPasswordRow>('SELECT * FROM app_passwords WHERE user_key = $1 AND revoked_at IS NULL ORDER BY created_at, added_order', [userKey(user)]);
      return rows.map(toInfo);
    },
    async appPasswordCandidates(user, hint) {
      const { rows } = await db.query<AppPasswordRow>('SELECT * FROM app_passwords WHERE user_key = $1 AND hint = $2 AND revoked_at IS NULL', [userKey(user), hint]);
      return rows.map((r): AppPasswordCredential => ({ ...toInfo(r), hash: r.hash }));
    },
    async hasCreatedAppPassword(user) {
      const { rows } = await db.query<{ e: boolean }>('SELECT EXISTS (SELECT 1 FROM app_passwords WHERE user_key = $1) AS e', [userKey(user)]);
      return rows[0]!.e;
    },
    // Like SQLite, the counter moves even when nothing was revoked: a poller just finds no change.
    revokeAppPassword: (user, id) =>
      db.tx('revokeAppPassword', async (c) => {
        const seq = await bumpSeq(c);
        const r = await c.query('UPDATE app_passwords SET revoked_at = $1, changed_seq = $2 WHERE id = $3 AND user_key = $4 AND revoked_at IS NULL', [deps.clock(), seq, id, userKey(user)]);
        return r.rowCount === 1;
      }),
    revokeAllAppPasswords: (user) =>
      db.tx('revokeAllAppPasswords', async (c) => {
        const seq = await bumpSeq(c);
        const r = await c.query('UPDATE app_passwords SET revoked_at = $1, changed_seq = $2 WHERE user_key = $3 AND revoked_at IS NULL', [deps.clock(), seq, userKey(user)]);
        return r.rowCount;
      }),
    async touchAppPassword(id, now) {
      await db.query('UPDATE app_passwords SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)', [now, id]);
    },
    // One statement is one snapshot: the counter and the changed users agree.
    async appPasswordChangesSince(seq) {
      const { rows } = await db.query<{ seq: number; user_key: string | null }>(
        `SELECT c.seq, a.user_key FROM change_seq c
         LEFT JOIN (SELECT DISTINCT user_key FROM app_passwords WHERE changed_seq > $1) a ON true
         WHERE c.id = 1 ORDER BY a.user_key`,
        [seq],
      );
      return { seq: rows[0]!.seq, users: rows.flatMap((r) => (r.user_key === null ? [] : [r.user_key])) };
    },

    async auditPage(query: AuditPageQuery) {
      const params: unknown[] = [];
      const conditions: Array<[string, unknown]> = [];
      if (query.user !== undefined) conditions.push(['user_key = ?', userKey(query.user)]);
      if (query.since !== undefined) conditions.push(['at >= ?', query.since]);
      if (query.outcome !== undefined) conditions.push(['outcome = ?', query.outcome]);
      if (query.beforeId !== undefined) conditions.push(['id < ?', query.beforeId]);
      const w = where(conditions, params);
      params.push(Math.max(0, Math.floor(query.limit)));
      // Identity ids grow with insertion, so id order is log order and a stable page key.
      const { rows } = await db.query<AuditRow>(`SELECT * FROM audit_log ${w} ORDER BY id DESC LIMIT $${params.length}`, params);
      return rows.map(toAuditEntry);
    },
    async lastSignIn(user) {
      const { rows } = await db.query<{ at: number | null }>(
        "SELECT MAX(at) AS at FROM audit_log WHERE user_key = $1 AND outcome = 'success' AND kind = ANY($2::text[])",
        [userKey(user), SIGN_IN_KINDS],
      );
      return rows[0]?.at ?? null;
    },
    async saveImportReport(r) {
      await purge(db, 'token_import_reports', 'id', 'expires_at <= $1', r.createdAt);
      await db.query('INSERT INTO token_import_reports (id, actor_key, csv, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [r.id, userKey(r.actor), r.csv, r.createdAt, r.expiresAt]);
    },
    async importReport(id, actor, now) {
      const { rows } = await db.query<{ csv: string }>('SELECT csv FROM token_import_reports WHERE id = $1 AND actor_key = $2 AND expires_at > $3', [id, userKey(actor), now]);
      return rows[0]?.csv ?? null;
    },
  };
}
