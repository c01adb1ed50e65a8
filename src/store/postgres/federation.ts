/**
 * @module store/postgres/federation
 * The PostgreSQL side of federated sign-in: users recorded on their first sign-in through
 * the identity provider (one upsert that keeps the first spelling of the name), and the
 * states of finished authorization requests: one INSERT that succeeds only once, since a
 * second insert of the same key, from any process, waits for the first and then conflicts.
 * Spread into the store by `openPostgresStore`.
 */

import type { FederatedUser, FederationStore } from '../types.ts';
import { userKey } from '../types.ts';
import { purge } from './db.ts';
import type { Db } from './db.ts';

interface UserRow {
  user_key: string;
  name: string;
  email: string | null;
  display_name: string | null;
  groups: unknown;
  issuer: string;
  subject: string;
  created_at: number;
  last_sign_in: number;
}

function toUser(r: UserRow): FederatedUser {
  return {
    name: r.name,
    email: r.email,
    displayName: r.display_name,
    groups: Array.isArray(r.groups) ? r.groups.filter((g): g is string => typeof g === 'string') : [],
    issuer: r.issuer,
    subject: r.subject,
    createdAt: r.created_at,
    lastSignInAt: r.last_sign_in,
  };
}

export function pgFederationStore(db: Db): FederationStore {
  return {
    async saveFederatedUser(u, now) {
      const { rows } = await db.query<UserRow>(
        `INSERT INTO federated_users (user_key, name, email, display_name, groups, issuer, subject, created_at, last_sign_in)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $8)
         ON CONFLICT (user_key) DO UPDATE SET email = excluded.email, display_name = excluded.display_name,
           groups = excluded.groups, issuer = excluded.issuer, subject = excluded.subject,
           last_sign_in = excluded.last_sign_in, version = federated_users.version + 1
         RETURNING *`,
        [userKey(u.name), u.name, u.email, u.displayName, JSON.stringify(u.groups), u.issuer, u.subject, now],
      );
      return toUser(rows[0]!);
    },
    async listFederatedUsers() {
      const { rows } = await db.query<UserRow>('SELECT * FROM federated_users ORDER BY created_at, user_key');
      return rows.map(toUser);
    },
    async federatedUsersVersion() {
      const { rows } = await db.query<{ n: number; v: number }>('SELECT COUNT(*) AS n, COALESCE(SUM(version), 0)::bigint AS v FROM federated_users');
      return `${rows[0]!.n}:${rows[0]!.v}`;
    },
    async consumeOidcState(id, expiresAt, now) {
      await purge(db, 'oidc_used_states', 'state_hash', 'expires_at <= $1', now);
      const r = await db.query('INSERT INTO oidc_used_states (state_hash, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [id, expiresAt]);
      return r.rowCount === 1;
    },
  };
}
