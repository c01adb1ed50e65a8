/**
 * @module store/sql/federation
 * Federated sign-in: users recorded on their first sign-in through the identity provider
 * (one upsert that keeps the first spelling of the name), and the states of finished
 * authorization requests: one INSERT that succeeds only once, since a second insert of the
 * same key, from any process, waits for the first and then conflicts.
 */

import type { FederatedUser, FederationStore } from '../types.ts';
import { userKey } from '../types.ts';
import { fromJson, purge, type Db } from './db.ts';

/** The groups column has a different name in each database's migration 4. */
const GROUPS = { sqlite: 'groups_json', postgres: 'groups' } as const;

interface UserRow {
  user_key: string;
  name: string;
  email: string | null;
  display_name: string | null;
  /** One of the two, by database (see {@link GROUPS}). */
  groups_json?: unknown;
  groups?: unknown;
  issuer: string;
  subject: string;
  created_at: number;
  last_sign_in: number;
}

function toUser(r: UserRow): FederatedUser {
  const groups = fromJson(r.groups ?? r.groups_json);
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

export function federationQueries(db: Db): FederationStore {
  const groups = GROUPS[db.dialect.name];
  return {
    async saveFederatedUser(u, now) {
      const { rows } = await db.query<UserRow>(
        `INSERT INTO federated_users (user_key, name, email, display_name, ${groups}, issuer, subject, created_at, last_sign_in)
         VALUES (?, ?, ?, ?, ${db.dialect.json}, ?, ?, ?, ?)
         ON CONFLICT (user_key) DO UPDATE SET email = excluded.email, display_name = excluded.display_name,
           ${groups} = excluded.${groups}, issuer = excluded.issuer, subject = excluded.subject,
           last_sign_in = excluded.last_sign_in, version = federated_users.version + 1
         RETURNING *`,
        [userKey(u.name), u.name, u.email, u.displayName, JSON.stringify(u.groups), u.issuer, u.subject, now, now],
      );
      return toUser(rows[0]!);
    },
    async listFederatedUsers() {
      return (await db.query<UserRow>('SELECT * FROM federated_users ORDER BY created_at, user_key')).rows.map(toUser);
    },
    // Changes whenever a user is recorded or refreshed: every save bumps the row's version.
    async federatedUsersVersion() {
      const r = (
        await db.query<{ n: number; v: number | string }>('SELECT COUNT(*) AS n, COALESCE(SUM(version), 0) AS v FROM federated_users')
      ).rows[0]!;
      return `${r.n}:${r.v}`;
    },
    async consumeOidcState(id, expiresAt, now) {
      await purge(db, 'oidc_used_states', 'state_hash', 'expires_at <= ?', now);
      return (
        (await db.query('INSERT INTO oidc_used_states (state_hash, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING', [id, expiresAt]))
          .rowCount === 1
      );
    },
  };
}
