/**
 * @module store/sql/tokens
 * OATH hardware tokens, MFA reset and token import reports. A CSV import is one transaction
 * that first takes the lock of every user it names (sorted, so two imports cannot deadlock),
 * which makes each per-user method count exact against parallel imports, additions and
 * enrollments in any process. A serial is unique across users by the `methods_by_serial`
 * index: an insert racing another import's uncommitted row waits for it and, instead of
 * failing the whole import, sees the winner and reports the row as `unchanged` or
 * `serial_taken`. Activation is a single conditional UPDATE.
 */

import { timingSafeEqual } from 'node:crypto';
import type { SecretBox } from '../secret-box.ts';
import type { AdminStore, MethodInfo, NewToken, StoreDeps, TokenImportOutcome, TokenInfo, TokenStore } from '../types.ts';
import { userKey } from '../types.ts';
import { purge, userLock, type Conn, type Db } from './db.ts';
import { countMethods, insertMethod, methodAad, toMethod, type MethodRow } from './methods.ts';

const toToken = (r: MethodRow): TokenInfo => ({
  ...toMethod(r),
  kind: 'oath_token',
  serial: r.serial ?? '',
  manufacturer: r.manufacturer ?? '',
  model: r.model ?? '',
});

async function bySerial(c: Conn, serial: string): Promise<MethodRow | undefined> {
  return (await c.query<MethodRow>("SELECT * FROM methods WHERE serial = ? AND kind = 'oath_token'", [serial])).rows[0];
}

export function tokenQueries(db: Db, box: SecretBox, deps: StoreDeps): TokenStore & Pick<AdminStore, 'saveImportReport' | 'importReport'> {
  /** A token already stored under this serial: the same one again, or someone else's. */
  function compare(existing: MethodRow, key: string, t: NewToken): TokenImportOutcome {
    if (existing.user_key !== key || existing.period !== t.period) return 'serial_taken';
    const secret = box.open(existing.secret_sealed, methodAad(existing.id));
    return secret.length === t.secret.length && timingSafeEqual(secret, t.secret) ? 'unchanged' : 'serial_taken';
  }

  async function importOne(c: Conn, t: NewToken, maxPerUser: number, now: number): Promise<TokenImportOutcome> {
    const key = userKey(t.user);
    const existing = await bySerial(c, t.serial);
    if (existing !== undefined) return compare(existing, key, t);
    if ((await countMethods(c, key)) >= maxPerUser) return 'limit_reached';
    // A savepoint keeps the import going when another import committed the same serial
    // between the check above and this insert (the unique index refuses it).
    await c.query('SAVEPOINT token_row');
    try {
      const token = {
        user: key,
        kind: 'oath_token',
        label: t.label,
        secret: t.secret,
        algorithm: 'sha1',
        digits: 6,
        period: t.period,
        active: false,
      } as const;
      await insertMethod(c, box, { ...token, serial: t.serial, manufacturer: t.manufacturer, model: t.model }, now);
      await c.query('RELEASE SAVEPOINT token_row');
      return 'imported';
    } catch (err) {
      if (!db.dialect.isUniqueViolation(err)) throw err;
      await c.query('ROLLBACK TO SAVEPOINT token_row');
      const winner = await bySerial(c, t.serial);
      if (winner === undefined) throw err;
      return compare(winner, key, t);
    }
  }

  return {
    importTokens: (tokens, maxPerUser) =>
      db.tx('importTokens', async (c) => {
        const now = deps.clock();
        for (const key of [...new Set(tokens.map((t) => userKey(t.user)))].sort()) await db.dialect.lock(c, userLock(key));
        const outcomes: TokenImportOutcome[] = [];
        for (const t of tokens) outcomes.push(await importOne(c, t, maxPerUser, now));
        return outcomes;
      }),
    async tokenBySerial(serial) {
      const r = await bySerial(db, serial);
      return r === undefined ? null : toToken(r);
    },
    async listTokens() {
      return (
        await db.query<MethodRow>("SELECT * FROM methods WHERE kind = 'oath_token' AND serial IS NOT NULL ORDER BY user_key, serial")
      ).rows.map(toToken);
    },
    async activateToken(methodId, step) {
      return (
        (
          await db.query('UPDATE methods SET active = TRUE, last_step = ?, last_used_at = ? WHERE id = ? AND NOT active', [
            step,
            deps.clock(),
            methodId,
          ])
        ).rowCount === 1
      );
    },
    // The pending row first, then the user lock: the order completeEnrollment takes them in, so a
    // reset and a completion running at once serialize instead of leaving a fresh method behind.
    removeAllMethods: (user) =>
      db.tx<MethodInfo[]>('removeAllMethods', async (c) => {
        const key = userKey(user);
        await c.query('DELETE FROM pending_enrollments WHERE user_key = ?', [key]);
        await db.dialect.lock(c, userLock(key));
        const { rows } = await c.query<MethodRow>('DELETE FROM methods WHERE user_key = ? RETURNING *', [key]);
        return rows.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(toMethod);
      }),

    async saveImportReport(r) {
      await purge(db, 'token_import_reports', 'id', 'expires_at <= ?', r.createdAt);
      await db.query('INSERT INTO token_import_reports (id, actor_key, csv, created_at, expires_at) VALUES (?, ?, ?, ?, ?)', [
        r.id,
        userKey(r.actor),
        r.csv,
        r.createdAt,
        r.expiresAt,
      ]);
    },
    async importReport(id, actor, now) {
      const { rows } = await db.query<{ csv: string }>(
        'SELECT csv FROM token_import_reports WHERE id = ? AND actor_key = ? AND expires_at > ?',
        [id, userKey(actor), now],
      );
      return rows[0]?.csv ?? null;
    },
  };
}
