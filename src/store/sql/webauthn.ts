/**
 * @module store/sql/webauthn
 * Security keys and passkeys (WebAuthn credentials) and their one-time challenges. A
 * credential is added under the user's lock, counted with the code methods against the
 * method limit; a use is recorded by one conditional UPDATE on the signature counter, so of
 * two assertions carrying the same counter (a cloned authenticator, or a replay racing the
 * original) exactly one wins in any process; a challenge is used by one DELETE.
 */

import { randomUUID } from 'node:crypto';
import type { AddCredentialResult, StoreDeps, WebAuthnCredentialInfo, WebAuthnStore } from '../types.ts';
import { userKey } from '../types.ts';
import { fromJson, purge, rollback, userLock, type Db } from './db.ts';
import { countMethods } from './methods.ts';

interface CredentialRow {
  id: string;
  credential_id: string;
  user_key: string;
  label: string;
  public_key: string;
  sign_count: number;
  transports: unknown;
  aaguid: string;
  /** SQLite stores 0/1, PostgreSQL a boolean. */
  backup_eligible: boolean | number;
  backed_up: boolean | number;
  discoverable: boolean | number;
  created_at: number;
  last_used_at: number | null;
}

const bool = (v: boolean | number) => v === true || v === 1;

const toCredential = (r: CredentialRow): WebAuthnCredentialInfo => ({
  id: r.id,
  credentialId: r.credential_id,
  user: r.user_key,
  label: r.label,
  publicKey: r.public_key,
  signCount: Number(r.sign_count),
  transports: fromJson(r.transports) as string[],
  aaguid: r.aaguid,
  backupEligible: bool(r.backup_eligible),
  backedUp: bool(r.backed_up),
  discoverable: bool(r.discoverable),
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

export function webauthnQueries(db: Db, deps: StoreDeps): WebAuthnStore {
  const { json } = db.dialect;
  return {
    async listCredentials(user) {
      const sql = 'SELECT * FROM webauthn_credentials WHERE user_key = ? ORDER BY created_at, id';
      return (await db.query<CredentialRow>(sql, [userKey(user)])).rows.map(toCredential);
    },
    addCredential: (cred, maxPerUser) =>
      db.tx<AddCredentialResult>('addCredential', async (c) => {
        const key = userKey(cred.user);
        await db.dialect.lock(c, userLock(key));
        if ((await countMethods(c, key)) >= maxPerUser) return rollback({ ok: false, reason: 'limit_reached' });
        const taken = await c.query('SELECT 1 FROM webauthn_credentials WHERE credential_id = ?', [cred.credentialId]);
        if (taken.rows.length > 0) return rollback({ ok: false, reason: 'credential_taken' });
        const { rows } = await c.query<CredentialRow>(
          `INSERT INTO webauthn_credentials (id, credential_id, user_key, label, public_key, sign_count, transports, aaguid,
             backup_eligible, backed_up, discoverable, created_at, last_used_at)
           VALUES (?, ?, ?, ?, ?, ?, ${json}, ?, ?, ?, ?, ?, NULL) RETURNING *`,
          [
            randomUUID(),
            cred.credentialId,
            key,
            cred.label,
            cred.publicKey,
            cred.signCount,
            JSON.stringify(cred.transports),
            cred.aaguid,
            cred.backupEligible,
            cred.backedUp,
            cred.discoverable,
            deps.clock(),
          ],
        );
        return { ok: true, credential: toCredential(rows[0]!) };
      }),
    async credentialById(credentialId) {
      const { rows } = await db.query<CredentialRow>('SELECT * FROM webauthn_credentials WHERE credential_id = ?', [credentialId]);
      return rows[0] === undefined ? null : toCredential(rows[0]);
    },
    async claimSignCount(id, signCount, backedUp, now) {
      const sql = `UPDATE webauthn_credentials SET sign_count = ?, backed_up = ?, last_used_at = ?
                   WHERE id = ? AND (sign_count < ? OR (sign_count = 0 AND ? = 0))`;
      return (await db.query(sql, [signCount, backedUp, now, id, signCount, signCount])).rowCount === 1;
    },
    async removeCredential(user, id) {
      return (await db.query('DELETE FROM webauthn_credentials WHERE id = ? AND user_key = ?', [id, userKey(user)])).rowCount === 1;
    },
    async renameCredential(user, id, label) {
      const sql = 'UPDATE webauthn_credentials SET label = ? WHERE id = ? AND user_key = ?';
      return (await db.query(sql, [label, id, userKey(user)])).rowCount === 1;
    },
    async removeAllCredentials(user) {
      const { rows } = await db.query<CredentialRow>('DELETE FROM webauthn_credentials WHERE user_key = ? RETURNING *', [userKey(user)]);
      return rows.map(toCredential).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    },
    async saveChallenge(input) {
      await purge(db, 'webauthn_challenges', 'challenge', 'expires_at <= ?', deps.clock());
      await db.query('INSERT INTO webauthn_challenges (challenge, purpose, user_key, expires_at) VALUES (?, ?, ?, ?)', [
        input.challenge,
        input.purpose,
        input.user === '' ? '' : userKey(input.user),
        input.expiresAt,
      ]);
    },
    async takeChallenge(challenge, purpose, now) {
      const { rows } = await db.query<{ user_key: string }>(
        'DELETE FROM webauthn_challenges WHERE challenge = ? AND purpose = ? AND expires_at > ? RETURNING user_key',
        [challenge, purpose, now],
      );
      return rows[0] === undefined ? null : { user: rows[0].user_key };
    },
  };
}
