/**
 * @module store/sqlite/sqlite-store
 * The SQLite backend of the store (better-sqlite3): one file shared by every process on the
 * machine. WAL lets readers run while one writer commits; `busy_timeout` makes a second
 * process wait for the write lock instead of failing. Invariants that span rows (the method
 * limit, enrollment completion) run in `BEGIN IMMEDIATE` transactions, and replay protection
 * is a single conditional UPDATE, so they hold across processes too.
 */

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { errors } from '../../errors/errors.ts';
import type { SecretBox } from '../secret-box.ts';
import type {
  AddMethodResult,
  AuditEvent,
  AuditQuery,
  CompleteEnrollmentResult,
  MethodInfo,
  NewMethod,
  OtpAlgorithm,
  Store,
  StoreDeps,
} from '../types.ts';
import { userKey } from '../types.ts';
import { methodAad, newPendingRow, pendingAad, toAuditEntry, toMethod, toPending, type AuditRow, type MethodRow, type PendingRow } from '../rows.ts';
import { migrations } from './migrations.ts';
import { sqliteFraudStore } from './fraud.ts';
import { sqliteFederationStore } from './federation.ts';
import { sqliteRegulationStore } from './regulation.ts';
import { sqliteSourceThrottleStore } from './source-throttle.ts';
import { sqliteAppPasswordStore } from './app-passwords.ts';
import { sqliteTokenStore } from './tokens.ts';
import { sqliteRecoveryStore } from './recovery.ts';
import { sqliteSessionRevocationStore } from './sessions.ts';

/** How long a process waits for another one's write lock before the store reports unavailable. */
const BUSY_TIMEOUT_MS = 5000;

/** Applies every migration newer than the file's version; refuses a file from a newer gateway. */
export function migrate(db: Database.Database, now: number): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT');
  // Helpers append migrations concurrently, so the array need not be in version order.
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  const latest = ordered.at(-1)?.version ?? 0;
  for (const m of ordered) {
    // Immediate: two processes starting together serialize here, and the loser sees the
    // winner's row and skips the migration.
    db.transaction(() => {
      const done = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version);
      if (done !== undefined) return;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, now);
    }).immediate();
  }
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  if ((row.v ?? 0) > latest) {
    throw new Error(`store: the database has schema version ${row.v}, newer than this gateway knows (${latest}); upgrade the gateway`);
  }
}

/** Opens (creating if needed) the SQLite file at `path` and migrates it. */
export function openSqliteStore(path: string, box: SecretBox, deps: StoreDeps): Store {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('foreign_keys = ON');
  migrate(db, deps.clock());

  const q = {
    listMethods: db.prepare<[string], MethodRow>('SELECT * FROM methods WHERE user_key = ? ORDER BY created_at, id'),
    countMethods: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM methods WHERE user_key = ?'),
    getMethod: db.prepare<[string], MethodRow>('SELECT * FROM methods WHERE id = ?'),
    insertMethod: db.prepare(
      `INSERT INTO methods (id, user_key, kind, label, secret_sealed, algorithm, digits, period, active, created_at, last_used_at, last_step)
       VALUES (@id, @user_key, @kind, @label, @secret_sealed, @algorithm, @digits, @period, @active, @created_at, NULL, @last_step)`,
    ),
    removeMethod: db.prepare('DELETE FROM methods WHERE id = ? AND user_key = ?'),
    renameMethod: db.prepare('UPDATE methods SET label = ? WHERE id = ? AND user_key = ?'),
    claimStep: db.prepare(
      'UPDATE methods SET last_step = ?, last_used_at = ? WHERE id = ? AND active = 1 AND (last_step IS NULL OR last_step < ?)',
    ),
    allMethodSecrets: db.prepare<[], { id: string; secret_sealed: string }>('SELECT id, secret_sealed FROM methods'),
    resealMethod: db.prepare('UPDATE methods SET secret_sealed = ? WHERE id = ? AND secret_sealed = ?'),

    purgePending: db.prepare('DELETE FROM pending_enrollments WHERE expires_at <= ?'),
    deletePendingOf: db.prepare('DELETE FROM pending_enrollments WHERE user_key = ?'),
    insertPending: db.prepare(
      `INSERT INTO pending_enrollments (id, user_key, secret_sealed, algorithm, digits, period, created_at, expires_at)
       VALUES (@id, @user_key, @secret_sealed, @algorithm, @digits, @period, @created_at, @expires_at)`,
    ),
    getPending: db.prepare<[string, number], PendingRow>('SELECT * FROM pending_enrollments WHERE user_key = ? AND expires_at > ?'),
    getPendingById: db.prepare<[string, string, number], PendingRow>(
      'SELECT * FROM pending_enrollments WHERE id = ? AND user_key = ? AND expires_at > ?',
    ),
    deletePending: db.prepare('DELETE FROM pending_enrollments WHERE id = ?'),
    allPendingSecrets: db.prepare<[], { id: string; secret_sealed: string }>('SELECT id, secret_sealed FROM pending_enrollments'),
    resealPending: db.prepare('UPDATE pending_enrollments SET secret_sealed = ? WHERE id = ? AND secret_sealed = ?'),

    userState: db.prepare<[string], { sessions_revoked_at: number | null; devices_revoked_at: number | null }>(
      'SELECT sessions_revoked_at, devices_revoked_at FROM user_state WHERE user_key = ?',
    ),
    revokeSessions: db.prepare(
      `INSERT INTO user_state (user_key, sessions_revoked_at, changed_seq) VALUES (?, ?, ?)
       ON CONFLICT (user_key) DO UPDATE SET sessions_revoked_at = excluded.sessions_revoked_at, changed_seq = excluded.changed_seq`,
    ),
    revokeDevices: db.prepare(
      `INSERT INTO user_state (user_key, devices_revoked_at, changed_seq) VALUES (?, ?, ?)
       ON CONFLICT (user_key) DO UPDATE SET devices_revoked_at = excluded.devices_revoked_at, changed_seq = excluded.changed_seq`,
    ),
    revocationsSince: db.prepare<
      [number],
      { user_key: string; sessions_revoked_at: number | null; devices_revoked_at: number | null; blocked_until: number | null }
    >('SELECT user_key, sessions_revoked_at, devices_revoked_at, blocked_until FROM user_state WHERE changed_seq > ? ORDER BY changed_seq',
    ),
    bumpSeq: db.prepare('UPDATE change_seq SET seq = seq + 1 WHERE id = 1'),
    readSeq: db.prepare<[], { seq: number }>('SELECT seq FROM change_seq WHERE id = 1'),

    insertAudit: db.prepare(
      `INSERT INTO audit_log (at, kind, user_typed, user_key, client_ip, user_agent, rule, outcome, detail)
       VALUES (@at, @kind, @user_typed, @user_key, @client_ip, @user_agent, @rule, @outcome, @detail)`,
    ),
    health: db.prepare('SELECT 1 AS ok'),
  };

  /** Runs a statement; SQLite failures (busy past the timeout, I/O) become a 503 so callers fail closed. */
  function guard<T>(what: string, fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      if (err instanceof Database.SqliteError) return Promise.reject(errors.storeUnavailable(`sqlite ${what}: ${err.code} ${err.message}`, err));
      return Promise.reject(err);
    }
  }

  function insertMethod(m: NewMethod, id: string, sealed: string, now: number): MethodInfo {
    const row: MethodRow = {
      id,
      user_key: userKey(m.user),
      kind: m.kind,
      label: m.label,
      secret_sealed: sealed,
      algorithm: m.algorithm,
      digits: m.digits,
      period: m.period,
      active: m.active ? 1 : 0,
      created_at: now,
      last_used_at: null,
      last_step: m.lastStep ?? null,
    };
    q.insertMethod.run(row);
    return toMethod(row);
  }

  const addMethodTx = db.transaction((m: NewMethod, maxPerUser: number): AddMethodResult => {
    if (q.countMethods.get(userKey(m.user))!.n >= maxPerUser) return { ok: false, reason: 'limit_reached' };
    const id = randomUUID();
    return { ok: true, method: insertMethod(m, id, box.seal(m.secret, methodAad(id)), deps.clock()) };
  });

  const completeTx = db.transaction(
    (input: { user: string; pendingId: string; label: string; step: number; maxPerUser: number }): CompleteEnrollmentResult => {
      const key = userKey(input.user);
      const now = deps.clock();
      const p = q.getPendingById.get(input.pendingId, key, now);
      if (p === undefined) return { ok: false, reason: 'expired' };
      if (q.countMethods.get(key)!.n >= input.maxPerUser) return { ok: false, reason: 'limit_reached' };
      const id = randomUUID();
      const secret = box.open(p.secret_sealed, pendingAad(p.id));
      const method = insertMethod(
        {
          user: key,
          kind: 'totp',
          label: input.label,
          secret,
          algorithm: p.algorithm as OtpAlgorithm,
          digits: p.digits as 6 | 8,
          period: p.period as 30 | 60,
          active: true,
          lastStep: input.step,
        },
        id,
        box.seal(secret, methodAad(id)),
        now,
      );
      q.deletePending.run(p.id);
      return { ok: true, method };
    },
  );

  const createPendingTx = db.transaction((row: PendingRow) => {
    q.purgePending.run(row.created_at);
    q.deletePendingOf.run(row.user_key);
    q.insertPending.run(row);
  });

  const revokeTx = db.transaction((stmt: Database.Statement, key: string, now: number) => {
    q.bumpSeq.run();
    stmt.run(key, now, q.readSeq.get()!.seq);
  });

  // A read transaction is one WAL snapshot: the counter and the rows agree.
  const revocationsSinceTx = db.transaction((since: number) => ({
    seq: q.readSeq.get()!.seq,
    entries: q.revocationsSince.all(since).map((r) => ({
      user: r.user_key,
      sessionsRevokedAt: r.sessions_revoked_at,
      devicesRevokedAt: r.devices_revoked_at,
      blockedUntil: r.blocked_until,
    })),
  }));

  const rekeyTx = db.transaction((): number => {
    let n = 0;
    for (const r of q.allMethodSecrets.all()) {
      if (box.keyIdOf(r.secret_sealed) === box.currentKeyId) continue;
      const resealed = box.seal(box.open(r.secret_sealed, methodAad(r.id)), methodAad(r.id));
      n += q.resealMethod.run(resealed, r.id, r.secret_sealed).changes;
    }
    for (const r of q.allPendingSecrets.all()) {
      if (box.keyIdOf(r.secret_sealed) === box.currentKeyId) continue;
      const resealed = box.seal(box.open(r.secret_sealed, pendingAad(r.id)), pendingAad(r.id));
      n += q.resealPending.run(resealed, r.id, r.secret_sealed).changes;
    }
    return n;
  });

  return {
    ...sqliteFraudStore(db, guard),
    ...sqliteFederationStore(db, guard),
    ...sqliteRegulationStore(db, deps, guard),
    ...sqliteSourceThrottleStore(db, deps, guard),
    ...sqliteAppPasswordStore(db, deps, guard),
    ...sqliteTokenStore(db, box, deps, guard),
    ...sqliteRecoveryStore(db, deps, guard),
    ...sqliteSessionRevocationStore(db, deps, guard),
    listMethods: (user) => guard('listMethods', () => q.listMethods.all(userKey(user)).map(toMethod)),
    addMethod: (method, maxPerUser) => guard('addMethod', () => addMethodTx.immediate(method, maxPerUser)),
    removeMethod: (user, id) => guard('removeMethod', () => q.removeMethod.run(id, userKey(user)).changes === 1),
    renameMethod: (user, id, label) => guard('renameMethod', () => q.renameMethod.run(label, id, userKey(user)).changes === 1),
    countMethods: (user) => guard('countMethods', () => q.countMethods.get(userKey(user))!.n),
    secretOf: (id) =>
      guard('secretOf', () => {
        const r = q.getMethod.get(id);
        return r === undefined ? null : box.open(r.secret_sealed, methodAad(r.id));
      }),
    claimStep: (methodId, step) => guard('claimStep', () => q.claimStep.run(step, deps.clock(), methodId, step).changes === 1),

    createPending: (input) =>
      guard('createPending', () => {
        const row = newPendingRow(input, box, deps.clock());
        createPendingTx.immediate(row);
        return toPending(row, box);
      }),
    getPending: (user) =>
      guard('getPending', () => {
        const r = q.getPending.get(userKey(user), deps.clock());
        return r === undefined ? null : toPending(r, box);
      }),
    completeEnrollment: (input) => guard('completeEnrollment', () => completeTx.immediate(input)),
    cancelPending: (user) =>
      guard('cancelPending', () => {
        q.deletePendingOf.run(userKey(user));
      }),

    sessionsRevokedAt: (user) => guard('sessionsRevokedAt', () => q.userState.get(userKey(user))?.sessions_revoked_at ?? null),
    devicesRevokedAt: (user) => guard('devicesRevokedAt', () => q.userState.get(userKey(user))?.devices_revoked_at ?? null),
    revokeSessions: (user) =>
      guard('revokeSessions', () => {
        const now = deps.clock();
        revokeTx.immediate(q.revokeSessions, userKey(user), now);
        return now;
      }),
    revokeDevices: (user) =>
      guard('revokeDevices', () => {
        const now = deps.clock();
        revokeTx.immediate(q.revokeDevices, userKey(user), now);
        return now;
      }),
    changeSeq: () => guard('changeSeq', () => q.readSeq.get()!.seq),
    revocationsSince: (seq) => guard('revocationsSince', () => revocationsSinceTx(seq)),

    record: (event: AuditEvent) =>
      guard('record', () => {
        q.insertAudit.run({
          at: deps.clock(),
          kind: event.kind,
          user_typed: event.user,
          user_key: userKey(event.user),
          client_ip: event.clientIp,
          user_agent: event.userAgent,
          rule: event.rule,
          outcome: event.outcome,
          detail: event.detail,
        });
      }),
    query: (query: AuditQuery) =>
      guard('query', () => {
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
        params.push(Math.max(0, Math.floor(query.limit)));
        const sql = `SELECT * FROM audit_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ?`;
        return (db.prepare(sql).all(...params) as AuditRow[]).map(toAuditEntry);
      }),

    rekey: () => guard('rekey', () => rekeyTx.immediate()),
    health: async () => {
      try {
        return q.health.get() !== undefined;
      } catch {
        return false;
      }
    },
    close: async () => {
      if (db.open) db.close();
    },
  };
}
