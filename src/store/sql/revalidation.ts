/**
 * @module store/sql/revalidation
 * Federated sessions revalidated at the identity provider (`federation.oidc.revalidate_every`),
 * in the session index's rows: the tokens the provider gave at sign-in, sealed by the secret box
 * and bound to the session id, when the session is next due and when the provider last vouched
 * for its user. A due session is claimed by one UPDATE over the rows its subquery picks (row
 * locks skipped in PostgreSQL, the file's write lock in SQLite) that re-checks the due time: of
 * several gateways, exactly one moves a session's due time to its lease and gets it. Finishing
 * is conditional on that lease, so a process that lost its claim changes nothing.
 */

import type { SecretBox } from '../secret-box.ts';
import type { DueRevalidation, ProviderTokens, RevalidationStore } from '../types.ts';
import type { Conn, Db } from './db.ts';

/** The sealed token's row binding: a token copied to another session or column does not open. */
const tokenAad = (sid: string, which: 'refresh' | 'access') => `session:${sid}:${which}`;

/** The tokens as the row keeps them, sealed (null where there is none). */
export function sealedTokens(box: SecretBox, sid: string, tokens: ProviderTokens): { refresh: string | null; access: string | null } {
  const seal = (token: string | null, which: 'refresh' | 'access') =>
    token === null ? null : box.seal(Buffer.from(token, 'utf8'), tokenAad(sid, which));
  return { refresh: seal(tokens.refreshToken, 'refresh'), access: seal(tokens.accessToken, 'access') };
}

interface DueRow {
  sid: string;
  user_name: string;
  provider_sub: string | null;
  revalidated_at: number | null;
  refresh_token_sealed: string | null;
  access_token_sealed: string | null;
  access_expires_at: number | null;
}

export function revalidationQueries(db: Db, box: SecretBox): RevalidationStore {
  /** A sealed token, opened; one whose key is gone (or that was tampered with) reads as none. */
  function open(sealed: string | null, sid: string, which: 'refresh' | 'access'): string | null {
    if (sealed === null) return null;
    try {
      return box.open(sealed, tokenAad(sid, which)).toString('utf8');
    } catch {
      return null;
    }
  }

  return {
    async claimRevalidations(now, leaseUntil, limit) {
      const { rows } = await db.query<DueRow>(
        `UPDATE sessions SET revalidate_at = ?
         WHERE sid IN (
             SELECT sid FROM sessions WHERE revalidate_at <= ? AND expires_at > ?
             ORDER BY revalidate_at, sid LIMIT ?${db.dialect.skipLocked}
           ) AND revalidate_at <= ?
         RETURNING sid, user_name, provider_sub, revalidated_at, refresh_token_sealed, access_token_sealed, access_expires_at`,
        [leaseUntil, now, now, limit, now],
      );
      return rows.map(
        (r): DueRevalidation => ({
          sid: r.sid,
          user: r.user_name,
          providerSub: r.provider_sub,
          tokens: {
            refreshToken: open(r.refresh_token_sealed, r.sid, 'refresh'),
            accessToken: open(r.access_token_sealed, r.sid, 'access'),
            accessExpiresAt: r.access_expires_at === null ? null : Number(r.access_expires_at),
          },
          revalidatedAt: Number(r.revalidated_at ?? 0),
          claim: leaseUntil,
        }),
      );
    },
    async finishRevalidation(sid, claim, next) {
      if (next.confirmed === undefined) {
        const r = await db.query('UPDATE sessions SET revalidate_at = ? WHERE sid = ? AND revalidate_at = ?', [next.dueAt, sid, claim]);
        return r.rowCount === 1;
      }
      const { at, tokens } = next.confirmed;
      const sealed = sealedTokens(box, sid, tokens);
      const r = await db.query(
        `UPDATE sessions SET revalidate_at = ?, revalidated_at = ?, refresh_token_sealed = ?, access_token_sealed = ?, access_expires_at = ?
         WHERE sid = ? AND revalidate_at = ?`,
        [next.dueAt, at, sealed.refresh, sealed.access, tokens.accessExpiresAt, sid, claim],
      );
      return r.rowCount === 1;
    },
  };
}

/** Key rotation (`store rekey`): reseals the session tokens not sealed with the current key; returns how many. */
export async function rekeySessionTokens(c: Conn, box: SecretBox): Promise<number> {
  const { rows } = await c.query<{ sid: string; refresh_token_sealed: string | null; access_token_sealed: string | null }>(
    'SELECT sid, refresh_token_sealed, access_token_sealed FROM sessions ' +
      'WHERE refresh_token_sealed IS NOT NULL OR access_token_sealed IS NOT NULL ORDER BY sid',
  );
  let n = 0;
  for (const r of rows) {
    for (const [column, which, sealed] of [
      ['refresh_token_sealed', 'refresh', r.refresh_token_sealed],
      ['access_token_sealed', 'access', r.access_token_sealed],
    ] as const) {
      if (sealed === null || box.keyIdOf(sealed) === box.currentKeyId) continue;
      const resealed = box.seal(box.open(sealed, tokenAad(r.sid, which)), tokenAad(r.sid, which));
      n += (await c.query(`UPDATE sessions SET ${column} = ? WHERE sid = ? AND ${column} = ?`, [resealed, r.sid, sealed])).rowCount;
    }
  }
  return n;
}
