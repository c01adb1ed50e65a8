/**
 * @module store/postgres/pg-store
 * The PostgreSQL backend of the store: one database shared by every gateway process, on one
 * machine (`server.workers`) or many. Each process has its own connection pool; nothing is
 * shared in memory, so every invariant the SQLite store keeps with `BEGIN IMMEDIATE` is kept
 * here by the database itself, chosen per operation (READ COMMITTED throughout):
 *
 * - one conditional statement where a row decides alone: `claimStep`, token activation,
 *   fraud links and OpenID Connect states (a second writer waits for the first one's row
 *   lock, then re-checks the condition on the committed row and finds nothing to do);
 * - a transaction-scoped advisory lock on the user key where a per-user count decides
 *   (method limit, enrollment completion, token import, MFA reset); no row exists to lock
 *   before the first method, and SQL has no predicate locks outside SERIALIZABLE;
 * - a row lock (`SELECT ... FOR UPDATE`) on the lockout counter row, created empty first;
 * - the `change_seq` row lock for everything other gateways must notice (revocations,
 *   ended sessions, blocks, app passwords): it is taken first in each such transaction, so changes commit
 *   in counter order and a reader's snapshot never sees counter N without change N-1.
 *
 * Lock order, where a transaction takes more than one: pending enrollment row, then user
 * advisory lock(s) in sorted order; `change_seq`, then `user_state` rows. Nothing takes them
 * the other way round, so these transactions cannot deadlock each other (a deadlock or
 * serialization failure would still be retried, see `db.tx`).
 */

import type { SecretBox } from '../secret-box.ts';
import type { AddMethodResult, AuditQuery, CompleteEnrollmentResult, OtpAlgorithm, Store, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';
import { advisoryLock, openDb, purge, rollback } from './db.ts';
import type { Db, PgOptions } from './db.ts';
import { countMethods, insertMethod, userLock } from './methods.ts';
import { migrate } from './migrations.ts';
import { methodAad, newPendingRow, pendingAad, toAuditEntry, toMethod, toPending, where } from './rows.ts';
import type { AuditRow, MethodRow, PendingRow } from './rows.ts';
import { pgRegulationStore } from './regulation.ts';
import { pgSourceThrottleStore } from './source-throttle.ts';
import { pgFraudStore } from './fraud.ts';
import { pgFederationStore } from './federation.ts';
import { pgTokenStore } from './tokens.ts';
import { pgRecoveryStore } from './recovery.ts';
import { pgAppPasswordStore } from './app-passwords.ts';
import { pgSessionRevocationStore } from './sessions.ts';

/**
 * Connects to the database at `options.url`, migrates it (once, whatever the number of
 * gateways starting at the same time) and returns the store. Rejects with a 503-class error
 * when the database cannot be reached, and with a plain message when its schema is newer
 * than this gateway.
 */
export async function openPostgresStore(options: PgOptions & { onIdleError?: (err: Error) => void }, box: SecretBox, deps: StoreDeps): Promise<Store> {
  const db = openDb(options, options.onIdleError ?? (() => {}));
  try {
    await migrate(db, deps.clock());
  } catch (err) {
    await db.close();
    throw err;
  }
  return postgresStore(db, box, deps);
}

function postgresStore(db: Db, box: SecretBox, deps: StoreDeps): Store {
  /** Sets one revocation column to now; bumping the counter first takes its row lock (see module doc). */
  async function revoke(column: 'sessions_revoked_at' | 'devices_revoked_at', user: string): Promise<number> {
    const now = deps.clock();
    await db.query(
      `WITH s AS (UPDATE change_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq)
       INSERT INTO user_state (user_key, ${column}, changed_seq) SELECT $1, $2, seq FROM s
       ON CONFLICT (user_key) DO UPDATE SET ${column} = excluded.${column}, changed_seq = excluded.changed_seq`,
      [userKey(user), now],
    );
    return now;
  }

  async function userStateColumn(column: 'sessions_revoked_at' | 'devices_revoked_at', user: string): Promise<number | null> {
    const { rows } = await db.query<{ v: number | null }>(`SELECT ${column} AS v FROM user_state WHERE user_key = $1`, [userKey(user)]);
    return rows[0]?.v ?? null;
  }

  return {
    ...pgRegulationStore(db, deps),
    ...pgSourceThrottleStore(db, deps),
    ...pgFraudStore(db),
    ...pgFederationStore(db),
    ...pgTokenStore(db, box, deps),
    ...pgRecoveryStore(db, deps),
    ...pgAppPasswordStore(db, deps),
    ...pgSessionRevocationStore(db, deps),

    async listMethods(user) {
      const { rows } = await db.query<MethodRow>('SELECT * FROM methods WHERE user_key = $1 ORDER BY created_at, id', [userKey(user)]);
      return rows.map(toMethod);
    },
    addMethod: (method, maxPerUser) =>
      db.tx<AddMethodResult>('addMethod', async (c) => {
        const key = userKey(method.user);
        await advisoryLock(c, userLock(key));
        if ((await countMethods(c, key)) >= maxPerUser) return { ok: false, reason: 'limit_reached' };
        return { ok: true, method: await insertMethod(c, box, method, deps.clock()) };
      }),
    async removeMethod(user, id) {
      return (await db.query('DELETE FROM methods WHERE id = $1 AND user_key = $2', [id, userKey(user)])).rowCount === 1;
    },
    async renameMethod(user, id, label) {
      return (await db.query('UPDATE methods SET label = $1 WHERE id = $2 AND user_key = $3', [label, id, userKey(user)])).rowCount === 1;
    },
    countMethods: (user) => countMethods(db, userKey(user)),
    async secretOf(id) {
      const { rows } = await db.query<{ id: string; secret_sealed: string }>('SELECT id, secret_sealed FROM methods WHERE id = $1', [id]);
      const r = rows[0];
      return r === undefined ? null : box.open(r.secret_sealed, methodAad(r.id));
    },
    // One conditional UPDATE: a parallel claim of the same step waits for the row lock, then
    // re-checks `last_step < step` against the committed row and updates nothing.
    async claimStep(methodId, step) {
      const r = await db.query(
        'UPDATE methods SET last_step = $1, last_used_at = $2 WHERE id = $3 AND active AND (last_step IS NULL OR last_step < $1)',
        [step, deps.clock(), methodId],
      );
      return r.rowCount === 1;
    },

    async createPending(input) {
      const now = deps.clock();
      const row = newPendingRow(input, box, now);
      await purge(db, 'pending_enrollments', 'id', 'expires_at <= $1', now);
      // One statement replaces any earlier pending enrollment of the user (the unique user_key).
      await db.query(
        `INSERT INTO pending_enrollments (id, user_key, secret_sealed, algorithm, digits, period, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (user_key) DO UPDATE SET id = excluded.id, secret_sealed = excluded.secret_sealed, algorithm = excluded.algorithm,
           digits = excluded.digits, period = excluded.period, created_at = excluded.created_at, expires_at = excluded.expires_at`,
        [row.id, row.user_key, row.secret_sealed, row.algorithm, row.digits, row.period, row.created_at, row.expires_at],
      );
      return toPending(row, box);
    },
    async getPending(user) {
      const { rows } = await db.query<PendingRow>('SELECT * FROM pending_enrollments WHERE user_key = $1 AND expires_at > $2', [userKey(user), deps.clock()]);
      return rows[0] === undefined ? null : toPending(rows[0], box);
    },
    // Deleting the pending row first claims it (a parallel completion or replacement waits on
    // its row lock); the user lock then makes the method count exact. Over the limit, the
    // rollback puts the pending enrollment back.
    completeEnrollment: (input) =>
      db.tx<CompleteEnrollmentResult>('completeEnrollment', async (c) => {
        const key = userKey(input.user);
        const now = deps.clock();
        const { rows } = await c.query<PendingRow>(
          'DELETE FROM pending_enrollments WHERE id = $1 AND user_key = $2 AND expires_at > $3 RETURNING *',
          [input.pendingId, key, now],
        );
        const p = rows[0];
        if (p === undefined) return { ok: false, reason: 'expired' };
        await advisoryLock(c, userLock(key));
        if ((await countMethods(c, key)) >= input.maxPerUser) return rollback({ ok: false, reason: 'limit_reached' });
        const secret = box.open(p.secret_sealed, pendingAad(p.id));
        const method = await insertMethod(
          c,
          box,
          { user: key, kind: 'totp', label: input.label, secret, algorithm: p.algorithm as OtpAlgorithm, digits: p.digits as 6 | 8, period: p.period as 30 | 60, active: true, lastStep: input.step },
          now,
        );
        return { ok: true, method };
      }),
    async cancelPending(user) {
      await db.query('DELETE FROM pending_enrollments WHERE user_key = $1', [userKey(user)]);
    },

    sessionsRevokedAt: (user) => userStateColumn('sessions_revoked_at', user),
    devicesRevokedAt: (user) => userStateColumn('devices_revoked_at', user),
    revokeSessions: (user) => revoke('sessions_revoked_at', user),
    revokeDevices: (user) => revoke('devices_revoked_at', user),
    // What every gateway polls every 250 ms: one primary-key read.
    async changeSeq() {
      const { rows } = await db.query<{ seq: number }>('SELECT seq FROM change_seq WHERE id = 1');
      return rows[0]!.seq;
    },
    // One statement is one snapshot: the counter and the changed rows agree.
    async revocationsSince(seq) {
      const { rows } = await db.query<{ seq: number; user_key: string | null; sessions_revoked_at: number | null; devices_revoked_at: number | null; blocked_until: number | null }>(
        `SELECT c.seq, u.user_key, u.sessions_revoked_at, u.devices_revoked_at, u.blocked_until
         FROM change_seq c LEFT JOIN user_state u ON u.changed_seq > $1
         WHERE c.id = 1 ORDER BY u.changed_seq`,
        [seq],
      );
      return {
        seq: rows[0]!.seq,
        entries: rows
          .filter((r) => r.user_key !== null)
          .map((r) => ({ user: r.user_key!, sessionsRevokedAt: r.sessions_revoked_at, devicesRevokedAt: r.devices_revoked_at, blockedUntil: r.blocked_until })),
      };
    },

    async record(event) {
      await db.query(
        `INSERT INTO audit_log (at, kind, user_typed, user_key, client_ip, user_agent, rule, outcome, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [deps.clock(), event.kind, event.user, userKey(event.user), event.clientIp, event.userAgent, event.rule, event.outcome, event.detail],
      );
    },
    async query(query: AuditQuery) {
      const params: unknown[] = [];
      const conditions: Array<[string, unknown]> = [];
      if (query.user !== undefined) conditions.push(['user_key = ?', userKey(query.user)]);
      if (query.since !== undefined) conditions.push(['at >= ?', query.since]);
      const w = where(conditions, params);
      params.push(Math.max(0, Math.floor(query.limit)));
      const { rows } = await db.query<AuditRow>(`SELECT * FROM audit_log ${w} ORDER BY at DESC, id DESC LIMIT $${params.length}`, params);
      return rows.map(toAuditEntry);
    },

    // Each rewrite is conditional on the old ciphertext, so a row changed meanwhile is skipped.
    rekey: () =>
      db.tx('rekey', async (c) => {
        let n = 0;
        const tables = [
          { table: 'methods', aad: methodAad },
          { table: 'pending_enrollments', aad: pendingAad },
        ] as const;
        for (const { table, aad } of tables) {
          const { rows } = await c.query<{ id: string; secret_sealed: string }>(`SELECT id, secret_sealed FROM ${table} ORDER BY id`);
          for (const r of rows) {
            if (box.keyIdOf(r.secret_sealed) === box.currentKeyId) continue;
            const resealed = box.seal(box.open(r.secret_sealed, aad(r.id)), aad(r.id));
            n += (await c.query(`UPDATE ${table} SET secret_sealed = $1 WHERE id = $2 AND secret_sealed = $3`, [resealed, r.id, r.secret_sealed])).rowCount;
          }
        }
        return n;
      }),
    health: () => db.health(),
    close: () => db.close(),
  };
}
