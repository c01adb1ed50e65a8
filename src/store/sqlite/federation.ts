/**
 * @module store/sqlite/federation
 * The SQLite side of federated sign-in: users recorded on their first sign-in through the
 * identity provider, and the states of finished authorization requests (one INSERT that
 * succeeds only once, so a replayed callback is refused across processes too). Spread into
 * the store by `openSqliteStore`.
 */

import type Database from 'better-sqlite3';
import type { FederatedUser, FederationStore } from '../types.ts';
import { userKey } from '../types.ts';

interface UserRow {
  user_key: string;
  name: string;
  email: string | null;
  display_name: string | null;
  groups_json: string;
  issuer: string;
  subject: string;
  created_at: number;
  last_sign_in: number;
}

/** Runs a statement and turns SQLite failures into the store's 503 (see `guard` in sqlite-store). */
type Guard = <T>(what: string, fn: () => T) => Promise<T>;

function toUser(r: UserRow): FederatedUser {
  const groups: unknown = JSON.parse(r.groups_json);
  return {
    name: r.name,
    email: r.email,
    displayName: r.display_name,
    groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
    issuer: r.issuer,
    subject: r.subject,
    createdAt: r.created_at,
    lastSignInAt: r.last_sign_in,
  };
}

export function sqliteFederationStore(db: Database.Database, guard: Guard): FederationStore {
  const q = {
    upsertUser: db.prepare(
      `INSERT INTO federated_users (user_key, name, email, display_name, groups_json, issuer, subject, created_at, last_sign_in)
       VALUES (@user_key, @name, @email, @display_name, @groups_json, @issuer, @subject, @now, @now)
       ON CONFLICT (user_key) DO UPDATE SET email = excluded.email, display_name = excluded.display_name,
         groups_json = excluded.groups_json, issuer = excluded.issuer, subject = excluded.subject,
         last_sign_in = excluded.last_sign_in, version = version + 1`,
    ),
    getUser: db.prepare<[string], UserRow>('SELECT * FROM federated_users WHERE user_key = ?'),
    listUsers: db.prepare<[], UserRow>('SELECT * FROM federated_users ORDER BY created_at, user_key'),
    version: db.prepare<[], { n: number; v: number }>('SELECT COUNT(*) AS n, COALESCE(SUM(version), 0) AS v FROM federated_users'),
    purgeStates: db.prepare('DELETE FROM oidc_used_states WHERE expires_at <= ?'),
    useState: db.prepare('INSERT INTO oidc_used_states (state_hash, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING'),
  };

  const saveTx = db.transaction((u: Omit<FederatedUser, 'createdAt' | 'lastSignInAt'>, now: number): FederatedUser => {
    const key = userKey(u.name);
    q.upsertUser.run({
      user_key: key,
      name: u.name,
      email: u.email,
      display_name: u.displayName,
      groups_json: JSON.stringify(u.groups),
      issuer: u.issuer,
      subject: u.subject,
      now,
    });
    return toUser(q.getUser.get(key)!);
  });

  const consumeTx = db.transaction((hash: string, expiresAt: number, now: number): boolean => {
    q.purgeStates.run(now);
    return q.useState.run(hash, expiresAt).changes === 1;
  });

  return {
    saveFederatedUser: (user, now) => guard('saveFederatedUser', () => saveTx.immediate(user, now)),
    listFederatedUsers: () => guard('listFederatedUsers', () => q.listUsers.all().map(toUser)),
    federatedUsersVersion: () =>
      guard('federatedUsersVersion', () => {
        const r = q.version.get()!;
        return `${r.n}:${r.v}`;
      }),
    consumeOidcState: (id, expiresAt, now) => guard('consumeOidcState', () => consumeTx.immediate(id, expiresAt, now)),
  };
}
