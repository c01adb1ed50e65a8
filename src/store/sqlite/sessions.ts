/**
 * @module store/sqlite/sessions
 * The SQLite side of sessions ended one by one (sign-out): the record and the counter bump
 * commit in one `BEGIN IMMEDIATE` transaction, and a read is one WAL snapshot, so a poller
 * never sees the counter move without the record. Spread into the store by `openSqliteStore`.
 */

import type Database from 'better-sqlite3';
import type { RevokedSession, SessionRevocationStore, StoreDeps } from '../types.ts';
import { userKey } from '../types.ts';

/** Runs a statement and turns SQLite failures into the store's 503 (see `guard` in sqlite-store). */
type Guard = <T>(what: string, fn: () => T) => Promise<T>;

interface Row {
  sid: string;
  user_key: string;
  revoked_at: number;
  expires_at: number;
}

export function sqliteSessionRevocationStore(db: Database.Database, deps: StoreDeps, guard: Guard): SessionRevocationStore {
  const q = {
    bumpSeq: db.prepare('UPDATE change_seq SET seq = seq + 1 WHERE id = 1'),
    readSeq: db.prepare<[], { seq: number }>('SELECT seq FROM change_seq WHERE id = 1'),
    insert: db.prepare(
      `INSERT INTO revoked_sessions (sid, user_key, revoked_at, expires_at, changed_seq) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (sid) DO NOTHING`,
    ),
    since: db.prepare<[number, number], Row>(
      'SELECT sid, user_key, revoked_at, expires_at FROM revoked_sessions WHERE changed_seq > ? AND expires_at > ? ORDER BY changed_seq',
    ),
    prune: db.prepare('DELETE FROM revoked_sessions WHERE expires_at <= ?'),
  };

  const revokeTx = db.transaction((sid: string, key: string, now: number, expiresAt: number) => {
    q.bumpSeq.run();
    q.insert.run(sid, key, now, expiresAt, q.readSeq.get()!.seq);
  });
  const sinceTx = db.transaction((since: number, now: number) => ({
    seq: q.readSeq.get()!.seq,
    entries: q.since.all(since, now).map(toRevokedSession),
  }));

  return {
    revokeSession: ({ sid, user, expiresAt }) =>
      guard('revokeSession', () => {
        revokeTx.immediate(sid, userKey(user), deps.clock(), expiresAt);
      }),
    revokedSessionsSince: (seq) => guard('revokedSessionsSince', () => sinceTx(seq, deps.clock())),
    pruneRevokedSessions: (now) => guard('pruneRevokedSessions', () => q.prune.run(now).changes),
  };
}

function toRevokedSession(r: Row): RevokedSession {
  return { sid: r.sid, user: r.user_key, revokedAt: r.revoked_at, expiresAt: r.expires_at };
}
